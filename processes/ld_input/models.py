"""Process models of :class:`LDInput`: ``floating_pt`` (float64) and ``fixed_pt`` (int64).

``fixed_pt`` sends integers: direct input data must be integer-valued there (quantize it,
see :mod:`ldsnn_lava.quantize`).
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
from ldsnn_lava.processes.tags import FIXED_STEP, FLOAT_STEP

from ldsnn_lava.buffers import rate_initial_accumulator, rate_step
from ldsnn_lava.options import InputEncoding


class _InputModel(PyLoihiProcessModel):
    dtype = np.float64

    def __init__(self, proc_params):
        super().__init__(proc_params)
        data = proc_params["data"]
        if self.dtype is np.int64 and not np.array_equal(data, np.round(data)):
            raise ValueError("fixed_pt input needs integer-valued data")
        self._data = data.astype(self.dtype)
        self._window = proc_params["window"]
        self._rate = proc_params["encoding"] == InputEncoding.RATE
        self._zeros = np.zeros(data.shape[1:], dtype=self.dtype)
        self._sample = self._zeros
        self._acc = None

    def run_spk(self):
        step = self.time_step - 1
        phase = self._window.phase(step)
        if phase is None:
            return
        if phase == 0:
            sample = self._window.sample(step)
            self._sample = self._data[sample] if sample < len(self._data) else self._zeros
            self._acc = rate_initial_accumulator(self._sample, self._window.length)
        if self._rate:
            self._acc, spikes = rate_step(self._acc, self._sample, self._window.length)
            self.s_out.send(spikes.astype(self.dtype))
        else:
            self.s_out.send(self._sample)


@implements(proc=LDInput, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_STEP)
class PyLDInputModelFloat(_InputModel):
    """Sends float64 values (direct) or 0/1 spikes (rate)."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.float64)


@implements(proc=LDInput, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_STEP)
class PyLDInputModelFixed(_InputModel):
    """Sends int64 values (direct) or 0/1 spikes (rate)."""

    dtype = np.int64
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
