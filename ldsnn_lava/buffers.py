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

A ``graded`` buffer (Loihi 2 graded spikes) sends each neuron's count ``c`` as the integer
payload of one event in the first step of the downstream window, nothing in the others; the next
stage scales the current those payloads make by ``t_out / t_in`` (:func:`graded_current`).

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


# --- graded buffers -------------------------------------------------------------------------

MAX_GRADED_PAYLOAD = (1 << 24) - 1
"""The largest count one graded spike carries: 24 bits, Loihi 2's widest graded payload (Lava's
``num_message_bits``); a ``graded`` buffer needs its upstream window ``T_in`` at most this."""


def graded_events(counts: Array) -> Array:
    """1 where a neuron sends a graded event (its count is non-zero), else 0: the synaptic
    updates of a graded spike are its fan-out once, whatever its payload."""
    return (counts != 0) * 1


def graded_current(current: Array, zero_current: Array, t_in: int, t_out: int,
                   fixed: bool) -> Array:
    """The current a stage receives in the first step of its window behind a ``graded`` buffer.

    The stage's ops turn the payloads ``c`` into ``current`` (and zero input into
    ``zero_current``, its biases); the count-carried part is scaled by ``t_out / t_in`` so that
    the window receives exactly the current of the upstream rate ``c / t_in`` held for ``t_out``
    steps::

        float:  zero + ((current - zero) * t_out) / t_in
        fixed:  zero + ((current - zero) * t_out + t_in // 2) // t_in   (integers, halves up)

    numpy arrays or torch tensors; in fixed point both hold integers (any dtype; the result is
    int64).
    """
    if not fixed:
        return zero_current + ((current - zero_current) * t_out) / t_in
    if isinstance(current, torch.Tensor):
        linear = current.to(torch.int64) - zero_current.to(torch.int64)
        scaled = torch.div(linear * t_out + t_in // 2, t_in, rounding_mode="floor")
        return zero_current.to(torch.int64) + scaled
    linear = np.asarray(current).astype(np.int64) - np.asarray(zero_current).astype(np.int64)
    return np.asarray(zero_current).astype(np.int64) + (linear * t_out + t_in // 2) // t_in
