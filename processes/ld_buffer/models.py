"""Process models of :class:`LDBuffer` (the same integer rule in both precisions).

Buffers only count and replay spikes, so ``floating_pt`` and ``fixed_pt`` differ only in the
dtype of their ports (float64 or int64 0/1 spikes).
"""

import ldsnn_lava  # noqa: F401  (Lava compatibility fixes before importing lava)

# isort: split
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from ldsnn_lava.processes.ld_buffer.process import LDBuffer
from ldsnn_lava.processes.tags import FIXED_STEP, FLOAT_STEP

from ldsnn_lava.buffers import rate_initial_accumulator, rate_step
from ldsnn_lava.options import BufferKind


class _BufferModel(PyLoihiProcessModel):
    dtype = np.float64

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._rate = proc_params["mode"] == BufferKind.RATE
        self._up, self._down = proc_params["upstream"], proc_params["downstream"]
        shape = proc_params["shape"]
        # rate: spike counts; replay: the raster, one row per upstream step
        store = shape if self._rate else (self._up.length, *shape)
        self._collecting = np.zeros(store, dtype=np.int64)
        self._completed = np.zeros(store, dtype=np.int64)
        self._emitting = np.zeros(store, dtype=np.int64)
        self._acc = np.zeros(shape, dtype=np.int64)

    def run_spk(self):
        step = self.time_step - 1
        # emit first: what goes out was completed in an earlier step (pipelined T=1 too)
        down = self._down.phase(step)
        if down is not None:
            if down == 0:
                self._emitting[...] = self._completed
                self._acc = rate_initial_accumulator(self._emitting, self._up.length)
            if self._rate:
                self._acc, spikes = rate_step(self._acc, self._emitting, self._up.length)
            else:
                spikes = self._emitting[down]
            self.s_out.send(spikes.astype(self.dtype))
        up = self._up.phase(step)
        if up is not None:
            spikes = self.s_in.recv().astype(np.int64)
            if up == 0:
                self._collecting[...] = 0
            if self._rate:
                self._collecting += spikes
            else:
                self._collecting[up] = spikes
            if up == self._up.length - 1:
                self._completed, self._collecting = self._collecting, self._completed


@implements(proc=LDBuffer, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_STEP)
class PyLDBufferModelFloat(_BufferModel):
    """0/1 spikes as float64."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.float64)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.float64)


@implements(proc=LDBuffer, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_STEP)
class PyLDBufferModelFixed(_BufferModel):
    """0/1 spikes as int64."""

    dtype = np.int64
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
