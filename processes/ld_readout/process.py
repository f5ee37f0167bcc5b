"""The readout process of an LD-SNN: sums the readout stage's current per sample."""

from __future__ import annotations

from collections.abc import Sequence

import ldsnn_lava  # noqa: F401  (Lava compatibility fixes before importing lava)

# isort: split
from lava.magma.core.process.ports.ports import InPort
from lava.magma.core.process.process import AbstractProcess

from ldsnn_lava.clock import Window


class LDReadout(AbstractProcess):
    """Sums the current a readout stage sends over its window and writes the sum of sample k
    to row k of a record file (float64, shape ``(num_samples, *shape)``, made with
    :func:`ldsnn_lava.processes.records.create_record`). The host reads the file once after
    the run, which stays fast for any number of samples (``Var.get`` would not).

    Parameters
    ----------
    shape : tuple of int
        The readout stage's output shape (classes).
    window : Window
        The readout stage's window.
    num_samples : int
    path : str
        The record file.
    window_steps : int, optional
        For the ``window`` process models: the readout stage's timesteps T; ``a_in`` then
        receives the ``(T, *shape)`` currents of a whole window in one clock step (``window``
        on the window clock). ``None``: one clock step is one timestep.
    """

    def __init__(self, *, shape: Sequence[int], window: Window, num_samples: int, path: str,
                 window_steps: int | None = None, name: str | None = None):
        shape = tuple(int(d) for d in shape)
        super().__init__(shape=shape, window=window, num_samples=int(num_samples),
                         path=str(path), window_steps=window_steps, name=name)
        self.a_in = InPort(shape=shape if window_steps is None else (window_steps, *shape))
