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
    name : str, optional
    """

    def __init__(self, *, ops: Sequence[Op], neuron, in_shape: Sequence[int], window: Window,
                 num_samples: int, counts_path: str | None = None, name: str | None = None):
        in_shape = tuple(int(d) for d in in_shape)
        out_shape = in_shape
        for op in ops:
            out_shape = op.output_shape(out_shape)
        super().__init__(ops=tuple(ops), neuron=neuron, in_shape=in_shape, out_shape=out_shape,
                         window=window, num_samples=int(num_samples), counts_path=counts_path,
                         name=name)
        self.out_shape = out_shape
        self.a_in = InPort(shape=in_shape)
        self.s_out = OutPort(shape=out_shape)

