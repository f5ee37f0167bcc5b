"""``window`` process models of :class:`LDBuffer`: a whole window per clock step.

The buffer receives the upstream stage's ``(T_in, *shape)`` raster in one Lava step and, in
the downstream stage's step, sends ``(T_out, *shape)``: the raster itself (``replay``) or
the counts re-emitted with the integer rule :func:`ldsnn_lava.buffers.rate_step` (``rate``).
Double-buffered like the step models (it sends first, then collects), so pipelined
graphs stream one sample per step. Tags: ``window_floating_pt``, ``window_fixed_pt``.
"""

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from ldsnn_lava.processes.ld_buffer.models import BufferModel
from ldsnn_lava.processes.ld_buffer.process import LDBuffer
from ldsnn_lava.processes.tags import FIXED_WINDOW, FLOAT_WINDOW

from ldsnn_lava.buffers import rate_initial_accumulator, rate_step


class _WindowBufferModel(BufferModel):
    def configure(self) -> None:
        super().configure()
        self._out = np.zeros((self._t_out, *self._shape), dtype=self.dtype)

    def step(self) -> None:
        step = self.time_step - 1
        if self._down.phase(step) is not None:
            if self._rate:
                acc = rate_initial_accumulator(self._completed, self._t_in)
                for t in range(self._t_out):
                    acc, self._out[t] = rate_step(acc, self._completed, self._t_in)
                self.acc[...] = acc
            elif self._graded:  # the counts as payloads in the first step, then nothing
                self._out[...] = 0
                self._out[0] = self._completed
            else:
                self._out[...] = self._completed
            self.s_out.send(self._out)
        if self._up.phase(step) is not None:
            raster = self.s_in.recv() != 0
            self._completed = (np.count_nonzero(raster, axis=0).astype(np.int64)
                               if self._counting else raster.astype(np.int64))


@implements(proc=LDBuffer, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_WINDOW)
class PyLDBufferWindowModelFloat(_WindowBufferModel):
    """0/1 spike rasters as float64."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.float64)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.float64)


@implements(proc=LDBuffer, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_WINDOW)
class PyLDBufferWindowModelFixed(_WindowBufferModel):
    """0/1 spike rasters as int64."""

    fixed = True
    dtype = np.int64
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
