"""``window`` process models of :class:`LDInput`: a whole window per clock step.

In stage 0's step of period k the input sends sample k at once: ``(1, *input_shape)`` under
``direct`` encoding (the value stage 0 sees every step of its window), or the
``(T, *input_shape)`` raster of :func:`ldsnn_lava.buffers.rate_step` under ``rate``.
Zeros after the last sample. Tags: ``window_floating_pt``, ``window_fixed_pt``.
"""

import ldsnn_lava  # noqa: F401  (Lava compatibility fixes before importing lava)

# isort: split
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from ldsnn_lava.processes.ld_input.process import LDInput
from ldsnn_lava.processes.tags import FIXED_WINDOW, FLOAT_WINDOW

from ldsnn_lava.buffers import rate_initial_accumulator, rate_step
from ldsnn_lava.options import InputEncoding


class _WindowInputModel(PyLoihiProcessModel):
    dtype = np.float64

    def __init__(self, proc_params):
        super().__init__(proc_params)
        data = proc_params["data"]
        if self.dtype is np.int64 and not np.array_equal(data, np.round(data)):
            raise ValueError("window_fixed_pt input needs integer-valued data")
        self._data = data.astype(self.dtype)
        self._window = proc_params["window"]
        self._steps = proc_params["window_steps"]
        self._rate = proc_params["encoding"] == InputEncoding.RATE
        self._zeros = np.zeros(data.shape[1:], dtype=self.dtype)
        self._out = np.zeros((self._steps if self._rate else 1, *data.shape[1:]), self.dtype)

    def run_spk(self):
        step = self.time_step - 1
        if self._window.phase(step) is None:
            return
        sample = self._window.sample(step)
        values = self._data[sample] if sample < len(self._data) else self._zeros
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

    dtype = np.int64
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
