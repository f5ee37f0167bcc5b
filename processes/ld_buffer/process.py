"""The spike-buffer process between two LD stages."""

from __future__ import annotations

from collections.abc import Sequence

import ldsnn_lava  # noqa: F401  (Lava compatibility fixes before importing lava)

# isort: split
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess

from ldsnn_lava.buffers import BUFFER_MODES
from ldsnn_lava.clock import Window


class LDBuffer(AbstractProcess):
    """Collects a stage's spikes in its window and emits them in the next stage's window.

    ``replay`` stores the spike raster and sends it back unchanged (needs equal windows);
    ``rate`` counts each neuron's spikes ``c`` over the ``upstream`` window of ``T_in`` steps
    and emits with the integer accumulator :func:`ldsnn_lava.buffers.rate_step` over the
    ``downstream`` window. The buffer is double-buffered: a completed sample moves to the
    emitting side when the downstream window starts, so in a pipelined schedule it collects
    sample k+1 while it emits sample k.

    Parameters
    ----------
    shape : tuple of int
        Shape of the upstream stage's output.
    mode : {"rate", "replay"}
    upstream, downstream : Window
        Windows of the stage before and the stage after the buffer.
    """

    def __init__(self, *, shape: Sequence[int], mode: str, upstream: Window,
                 downstream: Window, name: str | None = None):
        shape = tuple(int(d) for d in shape)
        if mode not in BUFFER_MODES:
            raise ValueError(f"buffer mode must be one of {BUFFER_MODES}, got {mode!r}")
        if mode == "replay" and upstream.length != downstream.length:
            raise ValueError(f"'replay' needs equal windows, got {upstream.length} and "
                             f"{downstream.length} steps; use 'rate'")
        super().__init__(shape=shape, mode=mode, upstream=upstream, downstream=downstream,
                         name=name)
        self.s_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
