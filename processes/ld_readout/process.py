"""The readout process of an LD-SNN: sums the readout stage's current per sample."""

from __future__ import annotations

from collections.abc import Sequence

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
import numpy as np
from lava.magma.core.process.ports.ports import InPort
from lava.magma.core.process.variable import Var
from ldsnn_lava.processes.base import LDProcess
from ldsnn_lava.processes.records import Record

from ldsnn_lava.clock import Window
from ldsnn_lava.options import Precision, parse_option


class LDReadout(LDProcess):
    """Sums the current a readout stage sends over its window, and writes the sum of sample k to
    row k of a :class:`~ldsnn_lava.processes.records.Record` (shape ``(num_samples, *shape)``),
    which the host reads once after the run: fast for any number of samples (``Var.get`` is
    not).

    Vars: ``window`` ``[offset, length, period, lag]``, ``timesteps`` (T), and ``sums``: the sum
    of the current sample so far (float64; fixed: int64, exact).

    Parameters
    ----------
    shape : tuple of int
        The readout stage's output shape (classes).
    window : Window
        The readout stage's window.
    record : Record
        Receives the sums.
    precision : {"float", "fixed"}
    window_steps : int, optional
        For the ``window`` process models: the readout stage's timesteps T; ``a_in`` then
        receives the ``(T, *shape)`` currents of a whole window in one clock step (``window``
        on the window clock). ``None``: one clock step is one timestep.
    name : str, optional
    """

    def __init__(self, *, shape: Sequence[int], window: Window, record: Record,
                 precision: Precision | str = Precision.FLOAT, window_steps: int | None = None,
                 name: str | None = None):
        shape = tuple(int(d) for d in shape)
        precision = parse_option(Precision, precision, "precision")
        super().__init__(shape=shape, record=record, precision=precision,
                         window_steps=window_steps, name=name or "LDReadout")
        self.a_in = InPort(shape=shape if window_steps is None else (window_steps, *shape))
        self.window = Var(shape=(4,), init=np.array([window.offset, window.length,
                                                     window.period, window.lag]))
        steps = window.length if window_steps is None else int(window_steps)
        self.timesteps = Var(shape=(1,), init=steps)
        self.sums = Var(shape=shape, init=0)
