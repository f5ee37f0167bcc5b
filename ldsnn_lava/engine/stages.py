"""A network's stages compiled for one device, dtype and precision.

:func:`compile_stage` turns a :class:`~ldsnn_lava.network.Stage` into what the driver runs: its
ops as torch functions (:func:`ldsnn_lava.torch_ops.torch_op`, parameters converted once), its
neuron kernel (:func:`ldsnn_lava.engine.kernels.neuron_kernel`), its fan-out for the work
counters, and the arithmetic it needs.

These shortcuts give the same numbers as the plain ops:

- **Pooling of spikes.** A stage fed by spikes sees 0/1 inputs, so a first pooling op whose
  stride equals its kernel sums integers, exact in any order: :func:`pool_spikes` adds each
  window in one compiled pass (or, without the compiled loops, row and column slices; either
  several times faster than ``avg_pool2d``) and divides by the area as ``avg_pool2d`` does.
- **Event-driven Dense layers in fixed point.** Where the arithmetic is proved exact, the order
  of additions cannot matter, so a ``Dense`` adds only the weight rows of its non-zero inputs
  when few are non-zero (below the measured crossover: :data:`EVENT_DRIVEN_DENSITY` against a
  float32 product, :data:`EVENT_DRIVEN_DENSITY_INT8` against an 8-bit one; checked per chunk).
- **Channels-last convolutions.** Feature maps (C, H, W) flow in channels-last memory order,
  where the convolutions of narrow layers run up to twice as fast; the neuron state and spikes
  of such a stage follow that order (:func:`compile_ops`).
- **Fixed point in float32.** Fixed precision needs exact integer currents. A stage fed by
  spikes whose ops have integer parameters (no ``AvgPool2d``) produces integers, checked once
  here instead of on every current; if moreover every partial sum is bounded below 2**24
  (:func:`partial_sum_bound`), float32 computes them exactly, so the stage runs in float32
  rather than float64. Otherwise (stage 0 under direct input, or a larger bound) it runs in
  float64 and its currents are checked; stage 0 under direct input with integer parameters also
  gets float32 ops (``direct_ops``), which a batch of integer inputs small enough for every
  partial sum to stay below 2**24 (:func:`exact_input_bound`) runs instead, unchecked.
- **Fixed point on 8-bit units.** In such a float32 stage, a ``Conv2d`` or ``Dense`` fed by
  spike counts with 8-bit integer weights runs as an exact u8 x s8 product
  (:mod:`ldsnn_lava.engine.int8`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ldsnn_lava.engine import int8 as int8_path
from ldsnn_lava.engine.kernels import (
    NeuronKernel,
    event_driven_linear,
    neuron_kernel,
    pooled_spikes,
)
from ldsnn_lava.network import Network
from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Flatten, Op, Scale, SumPool2d
from ldsnn_lava.options import InputEncoding
from ldsnn_lava.torch_ops import torch_op

TorchFn = Callable[[torch.Tensor], torch.Tensor]
EXACT_FLOAT32 = 1 << 24
"""Integers below this magnitude, and sums of them that stay below it, are exact in float32."""
EVENT_DRIVEN_DENSITY = 0.2
"""Above this fraction of non-zero inputs a dense product beats adding the weight rows of the
non-zero inputs one by one (the measured crossover, ``benchmarks/event_driven.py``: 0.1 to 0.3
for layers of 64 outputs or more)."""
EVENT_DRIVEN_DENSITY_INT8 = 0.02
"""The same crossover against the 8-bit product (:mod:`ldsnn_lava.engine.int8`), which is
faster than the float32 one (``benchmarks/event_driven.py``: 0.02 to 0.05 on the 512-output
layers, below the smallest density measured, 0.02, on the others)."""
EVENT_DRIVEN_MIN_OUTPUTS = 64
"""Narrower Dense layers (the readouts' 10 outputs) were never faster event-driven."""


def pool_sum(x: torch.Tensor, kernel: tuple[int, int]) -> torch.Tensor:
    """Sum pooling of ``(N, C, H, W)`` with stride = kernel and no padding, by adding row and
    column slices; exact, hence equal to ``avg_pool2d(x) * area``, for integer-valued ``x``."""
    (kh, kw), (n, c, h, w) = kernel, x.shape
    ho, wo = h // kh, w // kw
    rows = x[:, :, :ho * kh, :wo * kw].reshape(n, c, ho, kh, wo * kw)
    y = rows[:, :, :, 0].clone()
    for i in range(1, kh):
        y += rows[:, :, :, i]
    cols = y.view(n, c, ho, wo, kw)
    z = cols[..., 0].clone()
    for j in range(1, kw):
        z += cols[..., j]
    return z


def pool_sum_nhwc(x: torch.Tensor, kernel: tuple[int, int]) -> torch.Tensor:
    """:func:`pool_sum` of a channels-last ``(N, C, H, W)`` tensor; channels-last result."""
    (kh, kw), (n, c, h, w) = kernel, x.shape
    ho, wo = h // kh, w // kw
    rows = x.permute(0, 2, 3, 1)[:, :ho * kh, :wo * kw].reshape(n, ho, kh, wo * kw, c)
    y = rows[:, :, 0].clone()
    for i in range(1, kh):
        y += rows[:, :, i]
    cols = y.view(n, ho, wo, kw, c)
    z = cols[:, :, :, 0].clone()
    for j in range(1, kw):
        z += cols[:, :, :, j]
    return z.permute(0, 3, 1, 2)


def pool_spikes(x: torch.Tensor, kernel: tuple[int, int], divisor: float,
                channels_last: bool) -> torch.Tensor:
    """Pooling of 0/1 spikes with stride = kernel: the window sums divided by ``divisor`` (1
    for ``SumPool2d``, the area for ``AvgPool2d``), by the compiled loop where it runs
    (:func:`~ldsnn_lava.engine.kernels.pooled_spikes`), else by :func:`pool_sum` or
    :func:`pool_sum_nhwc`; the same numbers either way."""
    out = pooled_spikes(x, kernel, divisor, channels_last)
    if out is not None:
        return out
    out = pool_sum_nhwc(x, kernel) if channels_last else pool_sum(x, kernel)
    return out if divisor == 1 else out.div_(divisor)


def _conv_channels_last(op: Conv2d, device, dtype: torch.dtype) -> TorchFn:
    """``op`` for channels-last input, its weight stored channels-last once."""
    weight = torch.as_tensor(op.weight, dtype=dtype, device=device).contiguous(
        memory_format=torch.channels_last)
    bias = None if op.bias is None else torch.as_tensor(op.bias, dtype=dtype, device=device)
    stride, padding = op.stride, op.padding
    return lambda x: F.conv2d(x, weight, bias, stride=stride, padding=padding)


def _flatten_channels_last(dense: Dense, in_shape) -> tuple[TorchFn, Dense]:
    """A ``Flatten`` of channels-last input read in its memory order (no copy), and the
    ``Dense`` after it with its columns permuted to that order."""
    c, h, w = in_shape
    weight = dense.weight.reshape(-1, c, h, w).transpose(0, 2, 3, 1).reshape(dense.weight.shape)
    return (lambda x: x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)), Dense(weight, dense.bias)


def _event_driven_dense(op: Dense, device, dtype: torch.dtype, dense: TorchFn,
                        max_density: float) -> TorchFn:
    """``op`` adding only the weight rows of non-zero inputs when at most ``max_density`` of
    them are non-zero (:func:`~ldsnn_lava.engine.kernels.event_driven_linear`), else
    ``dense``; for exact arithmetic only."""
    weight = torch.as_tensor(op.weight, dtype=dtype, device=device)
    bias = None if op.bias is None else torch.as_tensor(op.bias, dtype=dtype, device=device)
    weight_t = weight.t().contiguous()

    def apply(x: torch.Tensor) -> torch.Tensor:
        out = event_driven_linear(x, weight_t, bias, max_density)
        return dense(x) if out is None else out

    return apply


def compile_ops(ops, in_shape, device, dtype: torch.dtype, spikes: bool, channels_last: bool,
                exact: bool = False) -> tuple[list[TorchFn], bool]:
    """A stage's ops as torch functions, and whether their output is channels-last.

    ``channels_last``: (C, H, W) tensors flow in channels-last memory order (convolutions run
    faster so); a ``Flatten`` followed by a ``Dense`` then reads that order and the ``Dense``
    weight is permuted once to match. ``spikes``: the input is 0/1, so a first pooling op whose
    stride equals its kernel sums its windows (:func:`pool_spikes`). ``exact``: the arithmetic is
    exact (fixed point, proved), so a ``Dense`` may add only its non-zero inputs' weights, and
    in float32 a ``Conv2d`` or ``Dense`` whose input is still a count of spikes (spikes, or a
    sum pool of them, at most :data:`~ldsnn_lava.engine.int8.MAX_INPUT`) runs on the CPU's
    8-bit units where that is exact (:mod:`ldsnn_lava.engine.int8`).
    """
    fns, ops, shape, layout = [], list(ops), tuple(in_shape), channels_last
    int8 = exact and spikes and dtype == torch.float32 and int8_path.available(device)
    spike_count_bound = 1 if spikes else None  # inputs are counts of at most this many spikes
    for i, op in enumerate(ops):
        out = op.output_shape(shape)
        small_counts = spike_count_bound is not None and spike_count_bound <= int8_path.MAX_INPUT
        if spikes and i == 0 and isinstance(op, AvgPool2d | SumPool2d) and op.kernel == op.stride:
            divisor = 1 if isinstance(op, SumPool2d) else op.area
            fns.append(functools.partial(pool_spikes, kernel=op.kernel, divisor=divisor,
                                         channels_last=layout))
        elif layout and isinstance(op, Conv2d):
            conv = _conv_channels_last(op, device, dtype)
            fns.append(int8 and small_counts and int8_path.int8_conv(op, shape, conv) or conv)
        elif layout and isinstance(op, Flatten) and i + 1 < len(ops) and isinstance(
                ops[i + 1], Dense):
            flatten, ops[i + 1] = _flatten_channels_last(ops[i + 1], shape)
            fns.append(flatten)
        elif isinstance(op, Dense) and exact:
            dense = torch_op(op, device, dtype)
            fast = int8 and small_counts and int8_path.int8_dense(op, dense)
            if op.weight.shape[0] >= EVENT_DRIVEN_MIN_OUTPUTS:
                density = EVENT_DRIVEN_DENSITY_INT8 if fast else EVENT_DRIVEN_DENSITY
                fast = _event_driven_dense(op, device, dtype, fast or dense, density)
            fns.append(fast or dense)
        else:
            fns.append(torch_op(op, device, dtype))
        if isinstance(op, SumPool2d) and spike_count_bound is not None:
            spike_count_bound *= op.area
        elif not isinstance(op, Flatten):
            spike_count_bound = None
        layout = layout and len(out) == 3
        shape = out
    return fns, layout


def integer_ops(ops) -> bool:
    """True when ``ops`` map integer inputs to integer outputs: integer parameters and no
    ``AvgPool2d`` (a truncating ``Scale`` always gives integers)."""
    for op in ops:
        if isinstance(op, AvgPool2d):
            return False
        if isinstance(op, Scale) and op.truncate:
            continue
        if any(np.any(p != np.round(p)) for p in op.parameters().values()):
            return False
    return True


def _absolute(op: Op) -> Op:
    """``op`` with the absolute values of its parameters (and no truncation)."""
    changes = {name: np.abs(value) for name, value in op.parameters().items()}
    if isinstance(op, Scale):
        changes["truncate"] = False
    return dataclasses.replace(op, **changes) if changes else op


def partial_sum_bound(ops, in_shape, input_bound: float = 1.0) -> float:
    """A bound on the magnitude of every value and partial sum ``ops`` compute from inputs of
    magnitude at most ``input_bound``: the ops with absolute parameters, applied to
    ``input_bound`` everywhere (float64), maximised over every op's output."""
    x = torch.full((1, *in_shape), float(input_bound), dtype=torch.float64)
    bound = float(input_bound)
    for op in ops:
        x = torch_op(_absolute(op), "cpu", torch.float64)(x)
        bound = max(bound, float(x.max()))
    return bound


def exact_input_bound(ops, in_shape) -> int:
    """The largest integer M such that inputs of magnitude at most M keep every value and
    partial sum of ``ops`` below 2**24 (:func:`partial_sum_bound`, which grows with M; found
    by bisection), or 0 if none does."""
    low, high = 0, EXACT_FLOAT32
    while low < high:
        middle = (low + high + 1) // 2
        if partial_sum_bound(ops, in_shape, middle) < EXACT_FLOAT32:
            low = middle
        else:
            high = middle - 1
    return low


@dataclass
class CompiledStage:
    """One stage ready to run.

    Attributes
    ----------
    index : int
    in_shape, out_shape : tuple of int
    spike_ops : list of callable
        The ops for 0/1 (spike) input, with the shortcuts of the module docstring.
    ops : list of callable
        The ops for any input (stage 0 under direct input).
    kernel : NeuronKernel or None
        ``None`` for the readout.
    dtype : torch.dtype
        The ops' arithmetic; currents and the spikes the stage emits have this dtype.
    check_integer : bool
        Fixed precision without a proof that currents are integers: check them.
    fan_out : torch.Tensor
        Each input element's structural fan-out, flattened, float64 on the device.
    channels_last_in, channels_last_out : bool
        Whether the stage's (C, H, W) input and output are in channels-last memory order (see
        :func:`compile_ops`); its neuron state and spikes are in its output's memory order.
    direct_ops : list of callable or None
        Fixed precision, stage 0 fed by non-spike input with integer parameters: its ops in
        float32, exact for integer inputs of magnitude at most ``direct_input_bound``.
    direct_input_bound : int
    """

    index: int
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    spike_ops: list[TorchFn]
    ops: list[TorchFn]
    kernel: NeuronKernel | None
    dtype: torch.dtype
    check_integer: bool
    fan_out: torch.Tensor
    channels_last_in: bool = False
    channels_last_out: bool = False
    direct_ops: list[TorchFn] | None = None
    direct_input_bound: int = 0

    def __post_init__(self):
        #: neurons per sample, and inputs per sample
        self.neurons = int(np.prod(self.out_shape))
        self.inputs = int(np.prod(self.in_shape))


def compile_stage(net: Network, index: int, device: torch.device, dtype: torch.dtype,
                  fixed: bool, channels_last: bool) -> CompiledStage:
    """Stage ``index`` of ``net`` for ``device``; ``dtype`` is the float precision's dtype;
    ``channels_last``: the stage's (C, H, W) input comes in channels-last order."""
    stage, in_shape = net.stages[index], net.input_shape_of(index)
    spike_input = index > 0 or net.input_encoding == InputEncoding.RATE
    check_integer = False
    if fixed:
        proven = spike_input and integer_ops(stage.ops)
        check_integer = not proven
        exact = proven and partial_sum_bound(stage.ops, in_shape) < EXACT_FLOAT32
        dtype = torch.float32 if exact else torch.float64
    kernel = None if stage.neuron is None else neuron_kernel(stage.neuron, fixed)
    spike_ops, channels_last_out = compile_ops(stage.ops, in_shape, device, dtype, True,
                                               channels_last, exact=fixed and not check_integer)
    ops, _ = compile_ops(stage.ops, in_shape, device, dtype, False, channels_last)
    direct_ops, direct_input_bound = None, 0
    if fixed and not spike_input and integer_ops(stage.ops):
        direct_input_bound = exact_input_bound(stage.ops, in_shape)
        if direct_input_bound >= 1:
            direct_ops, _ = compile_ops(stage.ops, in_shape, device, torch.float32, False,
                                        channels_last)
    return CompiledStage(
        index=index, in_shape=in_shape, out_shape=net.output_shape_of(index),
        spike_ops=spike_ops, ops=ops, kernel=kernel, dtype=dtype, check_integer=check_integer,
        fan_out=torch.as_tensor(net.fan_outs[index], dtype=torch.float64,
                                device=device).flatten(),
        channels_last_in=channels_last, channels_last_out=channels_last_out,
        direct_ops=direct_ops, direct_input_bound=direct_input_bound)
