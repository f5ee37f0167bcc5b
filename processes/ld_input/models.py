"""Process models of :class:`LDInput`: ``floating_pt`` (float64) and ``fixed_pt`` (int64).

:class:`InputModel` is shared with the ``window`` models.
"""

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from ldsnn_lava.processes.base import LDProcessModel
from ldsnn_lava.processes.ld_input.process import LDInput
from ldsnn_lava.processes.tags import FIXED_STEP, FLOAT_STEP

from ldsnn_lava.buffers import rate_initial_accumulator, rate_step
from ldsnn_lava.options import InputEncoding

INTEGER = LavaPyType(np.ndarray, np.int64)


class InputModel(LDProcessModel):
    """The samples, encoding and window of an input process."""

    window: np.ndarray = INTEGER
    timesteps: np.ndarray = INTEGER

    def __init__(self, proc_params):
        super().__init__(proc_params)
        data = proc_params["data"]
        self._data = data.astype(self.dtype)
        self._rate = proc_params["encoding"] == InputEncoding.RATE
        self._sequence = InputEncoding(proc_params["encoding"]).is_sequence
        self._zeros = np.zeros(data.shape[1:], dtype=self.dtype)

    def configure(self) -> None:
        self._window = self.window_of(self.window)
        self._steps = int(self.timesteps[0])

    def sample_values(self, step: int) -> np.ndarray:
        """The sample of the period ``step`` lies in (zeros after the last one)."""
        sample = self._window.sample(step)
        return self._data[sample] if sample < len(self._data) else self._zeros


class _StepInputModel(InputModel):
    def step(self) -> None:
        step = self.time_step - 1
        phase = self._window.phase(step)
        if phase is None:
            return
        if phase == 0:
            self._sample = self.sample_values(step)
            self._acc = rate_initial_accumulator(self._sample, self._steps)
        if self._rate:
            self._acc, spikes = rate_step(self._acc, self._sample, self._steps)
            self.s_out.send(spikes.astype(self.dtype))
        elif self._sequence:
            self.s_out.send(self._sample[phase])
        else:
            self.s_out.send(self._sample)


@implements(proc=LDInput, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_STEP)
class PyLDInputModelFloat(_StepInputModel):
    """Sends float64 values (direct) or 0/1 spikes (rate)."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.float64)


@implements(proc=LDInput, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_STEP)
class PyLDInputModelFixed(_StepInputModel):
    """Sends int64 values (direct) or 0/1 spikes (rate)."""

    fixed = True
    dtype = np.int64
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
