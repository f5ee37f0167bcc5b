"""The spike-buffer process between two LD stages."""

from __future__ import annotations

from collections.abc import Sequence

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.variable import Var
from ldsnn_lava.processes.base import LDProcess

from ldsnn_lava.clock import Window
from ldsnn_lava.errors import InvalidNetwork, InvalidSchedule
from ldsnn_lava.options import BufferKind, Precision, parse_option


class LDBuffer(LDProcess):
    """Collects a stage's spikes in its window and emits them in the next stage's window.

    ``replay`` stores the spike raster and sends it back unchanged (needs equal windows);
    ``rate`` counts each neuron's spikes ``c`` over the ``upstream`` window of ``T_in`` steps
    and emits with the integer accumulator :func:`ldsnn_lava.buffers.rate_step` over the
    ``downstream`` window; ``graded`` counts the same way and sends the counts as graded spikes
    (integer payloads) in the first step of the downstream window, zeros in the others (the
    next stage, made with ``graded=(T_in, T_out)``, scales their current). The buffer is
    double-buffered: a completed sample moves to the emitting side when the downstream window
    starts, so in a pipelined schedule it collects sample k+1 while it emits sample k. Any
    nonzero input value is a spike.

    Vars: ``windows`` (rows: upstream, downstream; columns ``[offset, length, period, lag]``),
    ``timesteps`` ``[T_in, T_out]``, and ``acc``, the rate rule's accumulator of the sample
    being emitted.

    Parameters
    ----------
    shape : tuple of int
        Shape of the upstream stage's output.
    mode : {"rate", "replay", "graded"}
    upstream, downstream : Window
        Windows of the stage before and the stage after the buffer (``downstream``: where the
        next stage's input is read, which a runtime delay before its neurons moves earlier).
    precision : {"float", "fixed"}
        Only the dtype of the spikes on the ports differs (float64 or int64; 0/1 spikes, or
        counts for ``graded``).
    window_steps : (int, int), optional
        For the ``window`` process models: the timesteps ``(T_in, T_out)`` of the two stages.
        One clock step then carries a whole window (the windows are on the window clock,
        ``ldsnn_lava.clock.stage_windows(schedule, "window")``): ``s_in`` receives the
        ``(T_in, *shape)`` raster and ``s_out`` sends ``(T_out, *shape)``. ``None``: one
        clock step is one timestep.
    every_step : bool
        Receive and send every step, zeros outside the downstream window (step models only),
        as Lava's own processes do; default: only inside the windows.
    name : str, optional
    """

    def __init__(self, *, shape: Sequence[int], mode: BufferKind | str, upstream: Window,
                 downstream: Window, precision: Precision | str = Precision.FLOAT,
                 window_steps: tuple[int, int] | None = None, every_step: bool = False,
                 name: str | None = None):
        shape = tuple(int(d) for d in shape)
        mode = parse_option(BufferKind, mode, "buffer mode")
        precision = parse_option(Precision, precision, "precision")
        name = name or "LDBuffer"
        t_in, t_out = ((upstream.length, downstream.length) if window_steps is None
                       else (int(window_steps[0]), int(window_steps[1])))
        if mode == BufferKind.REPLAY and t_in != t_out:
            raise InvalidSchedule(f"{name}: 'replay' needs equal windows, got {t_in} and "
                                  f"{t_out} steps; use 'rate'")
        if window_steps is not None and every_step:
            raise InvalidNetwork(f"{name}: every_step is for the step models (no window_steps)")
        super().__init__(shape=shape, mode=mode, precision=precision, window_steps=window_steps,
                         every_step=bool(every_step), name=name)
        in_shape, out_shape = shape, shape
        if window_steps is not None:
            in_shape, out_shape = (t_in, *shape), (t_out, *shape)
        self.s_in = InPort(shape=in_shape)
        self.s_out = OutPort(shape=out_shape)
        self.windows = Var(shape=(2, 4), init=np.array(
            [[w.offset, w.length, w.period, w.lag] for w in (upstream, downstream)]))
        self.timesteps = Var(shape=(2,), init=np.array([t_in, t_out]))
        self.acc = Var(shape=shape, init=0)
