"""Process models of :class:`LDReadout`: float64 sums (``floating_pt``) or int64 sums
(``fixed_pt``, exact), written as float64 rows like the torch engine's readout."""

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
from ldsnn_lava.processes.tags import FIXED_STEP, FLOAT_STEP


class _ReadoutModel(PyLoihiProcessModel):
    dtype = np.float64

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._window = proc_params["window"]
        self._record = RecordWriter(proc_params["path"], proc_params["num_samples"])
        self._sum = np.zeros(proc_params["shape"], dtype=self.dtype)

    def run_spk(self):
        step = self.time_step - 1
        phase = self._window.phase(step)
        if phase is None:
            return
        if phase == 0:
            self._sum[...] = 0
        self._sum += self.a_in.recv()
        if phase == self._window.length - 1:
            self._record.write(self._window.sample(step), self._sum)


@implements(proc=LDReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_STEP)
class PyLDReadoutModelFloat(_ReadoutModel):
    """float64 sums."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.float64)


@implements(proc=LDReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_STEP)
class PyLDReadoutModelFixed(_ReadoutModel):
    """Exact int64 sums."""

    dtype = np.int64
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
