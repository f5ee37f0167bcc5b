"""Spike buffers between stages (``docs/design.md``), in integers only.

A ``rate`` buffer counts each neuron's spikes ``c`` (0 <= c <= t_in) over the upstream window
of ``t_in`` steps, then emits over the downstream window of ``t_out`` steps with an integer
accumulator::

    acc = t_in // 2
    each emit step:  acc += c;  if acc >= t_in: emit 1, acc -= t_in

``rate_step`` is that rule, one step at a time (what the Lava buffer process runs; the engine
runs it in place, chunk by chunk: :class:`ldsnn_lava.engine.kernels.RateEmitter`).
``rate_raster`` is its closed form for a whole window at once: since
``0 <= acc < t_in`` holds throughout, the number emitted after k steps is
``(t_in // 2 + k * c) // t_in``, so the total is ``round(c * t_out / t_in)`` with halves
rounded up, spread evenly, at most one spike per step. Tests prove the two agree.

The same rule encodes ``rate`` input: x in [0, 1] becomes the count ``round(x * t)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

Array = Any  # numpy.ndarray or torch.Tensor


def rate_initial_accumulator(counts: Array, t_in: int) -> Array:
    """The accumulator at the start of an emit window: ``t_in // 2`` for every neuron."""
    return counts * 0 + t_in // 2


def rate_step(acc: Array, counts: Array, t_in: int) -> tuple[Array, Array]:
    """One emit step of the rate buffer. Returns ``(acc, spikes)``."""
    acc = acc + counts
    spikes = acc >= t_in
    acc = acc - spikes * t_in
    return acc, spikes


def rate_raster(counts: torch.Tensor, t_in: int, t_out: int) -> torch.Tensor:
    """Emit a whole window at once.

    Parameters
    ----------
    counts : torch.Tensor
        Integer spike counts, any shape, each in ``[0, t_in]``.
    t_in, t_out : int
        Upstream and downstream window lengths.

    Returns
    -------
    torch.Tensor
        Boolean raster of shape ``(t_out, *counts.shape)``.
    """
    counts = counts.to(torch.int64)
    steps = torch.arange(0, t_out + 1, device=counts.device).view(-1, *([1] * counts.dim()))
    emitted = (t_in // 2 + steps * counts) // t_in
    return emitted[1:] > emitted[:-1]


def quantize_rate_input(x: torch.Tensor, t: int) -> torch.Tensor:
    """Map x in [0, 1] to an integer count in [0, t] (round half up, in float64)."""
    x = x.to(torch.float64).clamp(0.0, 1.0)
    return torch.floor(x * t + 0.5).to(torch.int64)


def expected_rate_total(counts: Array, t_in: int, t_out: int) -> Array:
    """``round(c * t_out / t_in)`` with halves up: the number of spikes a window emits
    (int64, numpy or torch like ``counts``)."""
    if isinstance(counts, torch.Tensor):
        counts = counts.to(torch.int64)
    else:
        counts = np.asarray(counts, dtype=np.int64)
    return (t_in // 2 + counts * t_out) // t_in
