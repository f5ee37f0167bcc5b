"""Process models of :class:`LDReadout`: ``floating_pt`` (float64 sums) and ``fixed_pt``
(exact int64 sums). :class:`ReadoutModel` is shared with the ``window`` models."""

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from ldsnn_lava.processes.base import LDProcessModel
from ldsnn_lava.processes.ld_readout.process import LDReadout
from ldsnn_lava.processes.tags import FIXED_STEP, FLOAT_STEP

INTEGER = LavaPyType(np.ndarray, np.int64)


class ReadoutModel(LDProcessModel):
    """The window and record of a readout process."""

    window: np.ndarray = INTEGER
    timesteps: np.ndarray = INTEGER

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._record = proc_params["record"]

    def configure(self) -> None:
        self._window = self.window_of(self.window)


class _StepReadoutModel(ReadoutModel):
    def step(self) -> None:
        step = self.time_step - 1
        phase = self._window.phase(step)
        if phase is None:
            return
        if phase == 0:
            self.sums[...] = 0
        self.sums += self.a_in.recv()
        if phase == self._window.length - 1:
            self._record.write(self._window.sample(step), self.sums)


@implements(proc=LDReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_STEP)
class PyLDReadoutModelFloat(_StepReadoutModel):
    """float64 sums."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.float64)
    sums: np.ndarray = LavaPyType(np.ndarray, np.float64)


@implements(proc=LDReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_STEP)
class PyLDReadoutModelFixed(_StepReadoutModel):
    """Exact int64 sums."""

    fixed = True
    dtype = np.int64
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
    sums: np.ndarray = INTEGER
