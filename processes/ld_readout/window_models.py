"""``window`` process models of :class:`LDReadout`: a whole window per clock step.

Receives the readout stage's ``(T, *shape)`` currents in one Lava step and sums them row
after row (the order of the step-faithful models) into the record file. Tags:
``window_floating_pt`` (float64 sums), ``window_fixed_pt`` (exact int64 sums).
"""

import ldsnn_lava  # noqa: F401  (Lava compatibility fixes before importing lava)

# isort: split
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from ldsnn_lava.processes.ld_readout.process import LDReadout
from ldsnn_lava.processes.records import RecordWriter
from ldsnn_lava.processes.tags import FIXED_WINDOW, FLOAT_WINDOW


class _WindowReadoutModel(PyLoihiProcessModel):
    dtype = np.float64

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._window = proc_params["window"]
        self._record = RecordWriter(proc_params["path"], proc_params["num_samples"])
        self._sum = np.zeros(proc_params["shape"], dtype=self.dtype)

    def run_spk(self):
        step = self.time_step - 1
        if self._window.phase(step) is None:
            return
        self._sum[...] = 0
        for current in self.a_in.recv():
            self._sum += current
        sample = self._window.sample(step)
        self._record.write(sample, self._sum)


@implements(proc=LDReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_WINDOW)
class PyLDReadoutWindowModelFloat(_WindowReadoutModel):
    """float64 sums."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.float64)


@implements(proc=LDReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_WINDOW)
class PyLDReadoutWindowModelFixed(_WindowReadoutModel):
    """Exact int64 sums."""

    dtype = np.int64
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
