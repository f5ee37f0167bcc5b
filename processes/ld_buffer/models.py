"""Step-faithful process models of :class:`LDBuffer` (the same integer rule in both precisions).

Buffers only count and replay spikes, so ``floating_pt`` and ``fixed_pt`` differ only in the
dtype of their ports (float64 or int64 0/1 spikes). :class:`BufferModel` is shared with the
``window`` models.
"""

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from ldsnn_lava.processes.base import LDProcessModel
from ldsnn_lava.processes.ld_buffer.process import LDBuffer
from ldsnn_lava.processes.tags import FIXED_STEP, FLOAT_STEP

from ldsnn_lava.buffers import rate_initial_accumulator, rate_step
from ldsnn_lava.options import BufferKind

INTEGER = LavaPyType(np.ndarray, np.int64)


class BufferModel(LDProcessModel):
    """The windows, timesteps and stores of a buffer, read from its Vars."""

    windows: np.ndarray = INTEGER
    timesteps: np.ndarray = INTEGER
    acc: np.ndarray = INTEGER

    def __init__(self, proc_params):
        super().__init__(proc_params)
        mode = BufferKind(proc_params["mode"])
        self._rate, self._graded = mode == BufferKind.RATE, mode == BufferKind.GRADED
        self._counting = mode.from_counts
        self._shape = proc_params["shape"]
        self._every_step = proc_params["every_step"]
        self._zeros = np.zeros(self._shape, dtype=self.dtype)
        self._t_in = None

    def configure(self) -> None:
        self._up, self._down = (self.window_of(row) for row in self.windows)
        t_in, self._t_out = (int(t) for t in self.timesteps)
        if t_in != self._t_in:  # rate: spike counts; replay: the raster, a row per step
            self._t_in = t_in
            store = self._shape if self._counting else (t_in, *self._shape)
            self._collecting = np.zeros(store, dtype=np.int64)
            self._completed = np.zeros(store, dtype=np.int64)
            self._emitting = np.zeros(store, dtype=np.int64)


class _StepBufferModel(BufferModel):
    def step(self) -> None:
        step = self.time_step - 1
        # emit first: what goes out was completed in an earlier step (pipelined T=1 too)
        down = self._down.phase(step)
        if down is not None:
            if down == 0:
                self._emitting[...] = self._completed
                if self._rate:
                    self.acc[...] = rate_initial_accumulator(self._emitting, self._t_in)
            if self._rate:
                self.acc[...], spikes = rate_step(self.acc, self._emitting, self._t_in)
            elif self._graded:  # the counts as payloads in the first step, then nothing
                spikes = self._emitting if down == 0 else self._zeros
            else:
                spikes = self._emitting[down]
            self.s_out.send(spikes.astype(self.dtype))
        elif self._every_step:
            self.s_out.send(self._zeros)
        up = self._up.phase(step)
        if up is None:
            if self._every_step:
                self.s_in.recv()
            return
        spikes = (self.s_in.recv() != 0).astype(np.int64)
        if up == 0:
            self._collecting[...] = 0
        if self._counting:
            self._collecting += spikes
        else:
            self._collecting[up] = spikes
        if up == self._up.length - 1:
            self._completed, self._collecting = self._collecting, self._completed


@implements(proc=LDBuffer, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_STEP)
class PyLDBufferModelFloat(_StepBufferModel):
    """0/1 spikes as float64."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.float64)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.float64)


@implements(proc=LDBuffer, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_STEP)
class PyLDBufferModelFixed(_StepBufferModel):
    """0/1 spikes as int64."""

    fixed = True
    dtype = np.int64
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
