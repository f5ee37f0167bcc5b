"""``window`` process models of :class:`LDInput`: a whole window per clock step.

In stage 0's step of each period it sends ``(1, *input_shape)`` (direct: the one current row
stage 0 sees every step) or the ``(T, *input_shape)`` spike raster of the rate rule (rate).
Tags: ``window_floating_pt`` (float64), ``window_fixed_pt`` (int64).
"""

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from ldsnn_lava.processes.ld_input.models import InputModel
from ldsnn_lava.processes.ld_input.process import LDInput
from ldsnn_lava.processes.tags import FIXED_WINDOW, FLOAT_WINDOW

from ldsnn_lava.buffers import rate_initial_accumulator, rate_step


class _WindowInputModel(InputModel):
    def configure(self) -> None:
        super().configure()
        rows = self._steps if self._rate else 1
        self._out = np.zeros((rows, *self._zeros.shape), self.dtype)

    def step(self) -> None:
        step = self.time_step - 1
        if self._window.phase(step) is None:
            return
        values = self.sample_values(step)
        if self._rate:
            acc = rate_initial_accumulator(values, self._steps)
            for t in range(self._steps):
                acc, self._out[t] = rate_step(acc, values, self._steps)
        else:
            self._out[0] = values
        self.s_out.send(self._out)


@implements(proc=LDInput, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_WINDOW)
class PyLDInputWindowModelFloat(_WindowInputModel):
    """Sends float64 values (direct) or 0/1 rasters (rate)."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.float64)


@implements(proc=LDInput, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_WINDOW)
class PyLDInputWindowModelFixed(_WindowInputModel):
    """Sends int64 values (direct) or 0/1 rasters (rate)."""

    fixed = True
    dtype = np.int64
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
