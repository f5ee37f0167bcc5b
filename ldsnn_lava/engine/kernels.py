"""Fused multi-step neuron kernels: the engine's hot loop, equal to :mod:`ldsnn_lava.neurons`.

:func:`run_neuron` advances a neuron population over a whole window of currents ``(T, B, ...)``
and returns its boolean spike raster and final state. It computes exactly what looping
``neuron.step`` does (the tests compare the two bit for bit, spikes and state), with the same
arithmetic in the same order, but:

- in place: one preallocated state tensor per variable, ``torch.ge(..., out=raster[t])``
  writes spikes straight into the raster, and the reset subtracts ``spikes * threshold``
  through one reused scratch tensor (the plain definition allocates four tensors a step);
- blocked over neurons: the window is walked block by block (a slice of the flattened neurons,
  all T steps), so a block's state stays in cache while its currents stream past.

Supported: :class:`~ldsnn_lava.neurons.IF` (float and fixed) and
:class:`~ldsnn_lava.neurons.CubaLIF` (float, no refractory period). Anything else falls back to
looping the definition's ``step``, so every neuron model runs through this one entry point.
"""

from __future__ import annotations

import torch

from ldsnn_lava.neurons import IF, CubaLIF, integer_parameter

BLOCK = 1 << 15
"""Neurons per block: a block's state and scratch (2 x 4 bytes each) stay in L2 cache."""


def _blocks(size: int, block: int) -> list[slice]:
    return [slice(lo, min(lo + block, size)) for lo in range(0, size, block)]


def _if_block(currents: torch.Tensor, v: torch.Tensor, raster: torch.Tensor, threshold,
              minus_dtype: torch.dtype) -> None:
    """IF over ``currents`` (T, n) for state ``v`` (n,), spikes into ``raster`` (T, n)."""
    minus = torch.empty(v.shape, dtype=minus_dtype, device=v.device)
    reset = torch.tensor(threshold, dtype=minus_dtype, device=v.device)  # 0-d: keeps the dtype
    for t in range(currents.shape[0]):
        spikes = raster[t]
        v.add_(currents[t])
        torch.ge(v, threshold, out=spikes)
        torch.mul(spikes, reset, out=minus)
        v.sub_(minus)


def _lif_block(currents: torch.Tensor, u: torch.Tensor, v: torch.Tensor, raster: torch.Tensor,
               neuron: CubaLIF) -> None:
    """Float CubaLIF over ``currents`` (T, n) for state ``u``, ``v`` (n,)."""
    keep_u, keep_v = 1.0 - neuron.current_decay, 1.0 - neuron.voltage_decay
    for t in range(currents.shape[0]):
        spikes = raster[t]
        u.mul_(keep_u).add_(currents[t])
        v.mul_(keep_v).add_(u).add_(neuron.bias)
        torch.gt(v, neuron.threshold, out=spikes)
        v.mul_(~spikes)


def _loop_definition(neuron, currents: torch.Tensor, fixed: bool
                     ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    state = neuron.initial_state(currents[0], fixed=fixed)
    raster = torch.empty(currents.shape, dtype=torch.bool, device=currents.device)
    for t in range(currents.shape[0]):
        state, raster[t] = neuron.step(state, currents[t], fixed=fixed)
    return state, raster


def run_neuron(neuron, currents: torch.Tensor, fixed: bool = False, block: int = BLOCK
               ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """Run a neuron population over a window.

    Parameters
    ----------
    neuron : IF or CubaLIF
    currents : torch.Tensor
        ``(T, B, *shape)`` input currents, float (``fixed=False``) or int64 (``fixed=True``).
        May be a broadcast view (e.g. one current expanded over T).
    fixed : bool
        The fixed-point definition (see :mod:`ldsnn_lava.neurons`).
    block : int
        Neurons (over batch and shape) per block; > 0.

    Returns
    -------
    state : tuple of torch.Tensor
        The final state, as ``neuron.step`` would leave it, each ``(B, *shape)``.
    raster : torch.Tensor
        ``(T, B, *shape)`` boolean spikes.
    """
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    is_if = isinstance(neuron, IF)
    if not (is_if or (isinstance(neuron, CubaLIF) and not fixed and not neuron.refractory)):
        return _loop_definition(neuron, currents, fixed)
    steps, shape = currents.shape[0], currents.shape[1:]
    flat = currents.reshape(steps, -1)
    (init, *_) = neuron.initial_state(currents[0], fixed=fixed)
    raster = torch.empty(flat.shape, dtype=torch.bool, device=currents.device)
    if is_if:
        threshold = (integer_parameter("IF threshold", neuron.threshold) if fixed
                     else neuron.threshold)
        # The definition subtracts ``spikes * threshold`` in v's own dtype.
        v = init.reshape(-1).clone()
        minus_dtype = v.dtype
        for part in _blocks(v.numel(), block):
            _if_block(flat[:, part], v[part], raster[:, part], threshold, minus_dtype)
        state = (v.view(shape),)
    else:
        u, v = init.reshape(-1).clone(), init.reshape(-1).clone()
        for part in _blocks(v.numel(), block):
            _lif_block(flat[:, part], u[part], v[part], raster[:, part], neuron)
        state = (u.view(shape), v.view(shape))
    return state, raster.view(currents.shape)


def spike_counts(raster: torch.Tensor) -> torch.Tensor:
    """Each neuron's spikes over a window: ``raster.sum(0)`` in the narrowest exact dtype.

    Parameters
    ----------
    raster : torch.Tensor
        ``(T, ...)`` boolean spikes.

    Returns
    -------
    torch.Tensor
        ``(...)`` counts, uint8 when ``T <= 255`` (summed as bytes, the fastest reduction),
        else int32.
    """
    if raster.dtype != torch.bool:
        raise ValueError(f"raster must be boolean, got {raster.dtype}")
    if raster.shape[0] <= 255:
        return raster.view(torch.uint8).sum(0, dtype=torch.uint8)
    return raster.sum(0, dtype=torch.int32)


def rate_emit(counts: torch.Tensor, t_in: int, t_out: int, block: int = BLOCK) -> torch.Tensor:
    """The ``rate`` buffer's emit window, by its step rule in place (see :mod:`ldsnn_lava.buffers`).

    Equal to :func:`ldsnn_lava.buffers.rate_raster` (tests prove it) without its int64 division
    over ``(t_out + 1)`` copies of the counts: an int32 accumulator per neuron, blocked like
    :func:`run_neuron`.

    Parameters
    ----------
    counts : torch.Tensor
        Integer spike counts, any shape, each in ``[0, t_in]``.
    t_in, t_out : int
        Upstream and downstream window lengths, >= 1 (``t_in < 2**30``).
    block : int
        Neurons per block; > 0.

    Returns
    -------
    torch.Tensor
        Boolean raster of shape ``(t_out, *counts.shape)``.
    """
    if not 1 <= t_in < 1 << 30 or t_out < 1 or block < 1:
        raise ValueError(f"need 1 <= t_in < 2**30, t_out >= 1, block >= 1; got t_in={t_in}, "
                         f"t_out={t_out}, block={block}")
    flat = counts.reshape(-1).to(torch.int32)
    raster = torch.empty((t_out, flat.numel()), dtype=torch.bool, device=counts.device)
    acc = torch.full_like(flat, t_in // 2)
    for part in _blocks(flat.numel(), block):
        a, c, out = acc[part], flat[part], raster[:, part]
        minus = torch.empty_like(a)
        for t in range(t_out):
            a.add_(c)
            torch.ge(a, t_in, out=out[t])
            torch.mul(out[t], t_in, out=minus)
            a.sub_(minus)
    return raster.view(t_out, *counts.shape)
