"""``window`` process models of :class:`LDReadout`: a whole window per clock step.

Receives the readout stage's ``(T, *shape)`` currents in one Lava step and sums them row after
row (the order of the step models) into the record. Tags: ``window_floating_pt`` (float64 sums),
``window_fixed_pt`` (exact int64 sums).
"""

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from ldsnn_lava.processes.ld_readout.models import INTEGER, ReadoutModel
from ldsnn_lava.processes.ld_readout.process import LDReadout
from ldsnn_lava.processes.tags import FIXED_WINDOW, FLOAT_WINDOW


class _WindowReadoutModel(ReadoutModel):
    def step(self) -> None:
        step = self.time_step - 1
        if self._window.phase(step) is None:
            return
        self.sums[...] = 0
        for current in self.a_in.recv():
            self.sums += current
        self._record.write(self._window.sample(step), self.sums)


@implements(proc=LDReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_WINDOW)
class PyLDReadoutWindowModelFloat(_WindowReadoutModel):
    """float64 sums."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.float64)
    sums: np.ndarray = LavaPyType(np.ndarray, np.float64)


@implements(proc=LDReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_WINDOW)
class PyLDReadoutWindowModelFixed(_WindowReadoutModel):
    """Exact int64 sums."""

    fixed = True
    dtype = np.int64
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
    sums: np.ndarray = INTEGER
