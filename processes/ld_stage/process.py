"""The LD stage process: a stage's linear ops and neuron population, active in its window."""

from __future__ import annotations

from collections.abc import Sequence

import ldsnn_lava  # noqa: F401  (Lava compatibility fixes before importing lava)

# isort: split
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess

from ldsnn_lava.clock import Window
from ldsnn_lava.ops import Op


class LDStage(AbstractProcess):
    """One stage of an LD-SNN: ``ops`` then ``neuron``, working only inside ``window``.

    In each step of its window the stage receives one input vector on ``a_in``, applies its
    ops (no delay: Lava's ``Dense`` is not used), advances its neurons with the shared
    definition in :mod:`ldsnn_lava.neurons`, and sends the spikes on ``s_out``. State is reset
    to the neuron's initial state at the first step of every window (a new sample). Outside
    the window it neither receives, computes nor sends. A readout stage (``neuron=None``)
    sends its synaptic current instead of spikes, for :class:`LDReadout` to sum.

    Parameters
    ----------
    ops : sequence of Op
    neuron : IF, CubaLIF or None
    in_shape : tuple of int
        Shape of the stage's input (the ops' output shape follows from it).
    window : Window
    num_samples : int
        Samples streamed in the run (rows of the counts record).
    counts_path : str, optional
        A record file (:func:`ldsnn_lava.processes.records.create_record`, shape
        ``(num_samples, *out_shape)``, int32) that receives each sample's per-neuron spike
        counts at the end of its window.
    window_steps : int, optional
        For the ``window`` process models: the stage's timesteps T. One clock step then
        carries the whole window (``window`` is on the window clock,
        ``ldsnn_lava.clock.stage_windows(schedule, "window")``): ``a_in`` receives
        ``(input_steps, *in_shape)`` and ``s_out`` sends ``(T, *out_shape)`` (the spike
        raster, or a readout stage's currents). ``None``: one clock step is one timestep.
    input_steps : int, optional
        Rows of the input window (``window`` models only): default T; 1 for stage 0 under
        direct input, whose one current row holds for every step.
    name : str, optional
    """

    def __init__(self, *, ops: Sequence[Op], neuron, in_shape: Sequence[int], window: Window,
                 num_samples: int, counts_path: str | None = None,
                 window_steps: int | None = None, input_steps: int | None = None,
                 name: str | None = None):
        in_shape = tuple(int(d) for d in in_shape)
        out_shape = in_shape
        for op in ops:
            out_shape = op.output_shape(out_shape)
        super().__init__(ops=tuple(ops), neuron=neuron, in_shape=in_shape, out_shape=out_shape,
                         window=window, num_samples=int(num_samples), counts_path=counts_path,
                         window_steps=window_steps, name=name)
        self.out_shape = out_shape
        if window_steps is not None:
            rows = window_steps if input_steps is None else input_steps
            if rows not in (1, window_steps):
                raise ValueError(f"input_steps must be 1 or window_steps ({window_steps}), "
                                 f"got {input_steps}")
            in_shape, out_shape = (rows, *in_shape), (window_steps, *out_shape)
        elif input_steps is not None:
            raise ValueError("input_steps needs window_steps")
        self.a_in = InPort(shape=in_shape)
        self.s_out = OutPort(shape=out_shape)

