"""The spike-buffer process between two LD stages."""

from __future__ import annotations

from collections.abc import Sequence

import ldsnn_lava  # noqa: F401  (Lava compatibility fixes before importing lava)

# isort: split
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess

from ldsnn_lava.clock import Window
from ldsnn_lava.errors import InvalidSchedule
from ldsnn_lava.options import BufferKind, parse_option


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
    window_steps : (int, int), optional
        For the ``window`` process models: the timesteps ``(T_in, T_out)`` of the two stages.
        One clock step then carries a whole window (the windows are on the window clock,
        ``ldsnn_lava.clock.stage_windows(schedule, "window")``): ``s_in`` receives the
        ``(T_in, *shape)`` raster and ``s_out`` sends ``(T_out, *shape)``. ``None``: one
        clock step is one timestep.
    """

    def __init__(self, *, shape: Sequence[int], mode: BufferKind | str, upstream: Window,
                 downstream: Window, window_steps: tuple[int, int] | None = None,
                 name: str | None = None):
        shape = tuple(int(d) for d in shape)
        mode = parse_option(BufferKind, mode, "buffer mode")
        t_in, t_out = ((upstream.length, downstream.length) if window_steps is None
                       else (int(window_steps[0]), int(window_steps[1])))
        if mode == BufferKind.REPLAY and t_in != t_out:
            raise InvalidSchedule(f"'replay' needs equal windows, got {t_in} and {t_out} steps; "
                                  f"use 'rate'")
        super().__init__(shape=shape, mode=mode, upstream=upstream, downstream=downstream,
                         window_steps=window_steps, name=name)
        in_shape, out_shape = shape, shape
        if window_steps is not None:
            in_shape, out_shape = (t_in, *shape), (t_out, *shape)
        self.s_in = InPort(shape=in_shape)
        self.s_out = OutPort(shape=out_shape)
