"""Exact integer products on the CPU's 8-bit units, for fixed-point stages.

In fixed precision a stage fed by spikes computes integers: 0/1 inputs (or sums of a few of
them, behind a ``SumPool2d``) times integer weights, which Loihi's 8-bit weights keep within
[-128, 127]. oneDNN's u8 x s8 products (AVX-512 VNNI, AMX or AVX2) accumulate such products in
int32 exactly, and on the zoo's layers at 1,024 rows per call run 1.5-4.6x (convolutions) and
1.3-4.4x (Dense layers) faster than float32 (``benchmarks/int8.py``). The engine uses them for a
``Conv2d`` or ``Dense`` of a float32 fixed-point stage when all of this holds, which makes every
result equal to the float32 op's:

- its weights are integers in [-128, 127] and its bias integers (checked here);
- its inputs are non-negative integers at most :data:`MAX_INPUT` (the caller's structural
  bound: spikes, or a sum pool of them), so no pair of products can saturate even the 16-bit
  sums that CPUs without VNNI form (2 * 127 * 128 < 2**15);
- every partial sum stays below 2**24 (the stage's proven bound, which put it in float32), so
  the int32 sum, its conversion to float32 and the added bias are exact.

The products come out as float32 (scales 1, zero points 0). A call of fewer than
:data:`MIN_MACS` multiply-adds runs the float32 op instead (oneDNN's fixed cost per call
outweighs the gain there). Each op is also checked once, when compiled, against the float32 op
on a random probe; where oneDNN's quantized ops are missing or disagree (another build of
torch), :func:`int8_conv` and :func:`int8_dense` return ``None`` and the caller keeps the
float32 op. ``LDSNN_INT8=0`` in the environment turns the path off.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import torch

from ldsnn_lava.ops import Conv2d, Dense

TorchFn = Callable[[torch.Tensor], torch.Tensor]
MAX_INPUT = 127
"""The largest input value the 8-bit path takes (u8 inputs; see the module docstring)."""
MIN_MACS = 1 << 21
"""Calls with fewer multiply-adds run the float32 op: on the zoo's Dense layers the 8-bit op
wins from somewhere between 0.7 and 4.2 million multiply-adds per call on, on its convolutions
from the smallest calls measured (``benchmarks/int8.py``, 1 thread)."""
_PROBE_ROWS = 4


def available(device) -> bool:
    """Whether the 8-bit ops can run for ``device``: a CPU, a torch build with oneDNN's
    quantized ops, and ``LDSNN_INT8`` not set to ``0``."""
    if os.environ.get("LDSNN_INT8", "1") == "0" or torch.device(device).type != "cpu":
        return False
    onednn = getattr(torch.ops, "onednn", None)
    return (torch.backends.mkldnn.is_available() and onednn is not None
            and hasattr(onednn, "qconv2d_pointwise") and hasattr(onednn, "qlinear_pointwise"))


def int8_conv(op: Conv2d, in_shape, float32_op: TorchFn,
              min_macs: int | None = None) -> TorchFn | None:
    """``op`` on 8-bit units for channels-last float32 input of non-negative integers at most
    :data:`MAX_INPUT`, returning channels-last float32; ``float32_op`` (the same op in float32)
    runs the calls of fewer than ``min_macs`` multiply-adds (default :data:`MIN_MACS`).
    ``None`` where it would not be exact or cannot run (see the module docstring)."""
    weight = _int8_weight(op)
    if weight is None:
        return None
    out_channels = weight.shape[0]
    stride, padding, dilation = list(op.stride), list(op.padding), [1, 1]
    try:  # packed for this input shape: else oneDNN reorders the weights on every call
        packed = torch.ops.onednn.qconv_prepack(weight, torch.ones(out_channels), 1.0, 0,
                                                stride, padding, dilation, 1, [1, *in_shape])
    except RuntimeError:
        return None
    scales, zero_points = torch.ones(out_channels), torch.zeros(out_channels, dtype=torch.int64)
    bias = _float32_bias(op)

    def int8_op(x: torch.Tensor) -> torch.Tensor:
        return torch.ops.onednn.qconv2d_pointwise(
            _as_u8(x), 1.0, 0, packed, scales, zero_points, bias, stride, padding,
            dilation, 1, 1.0, 0, torch.float32, "none", [], "")

    macs_per_row = np.prod(op.output_shape(in_shape)) * np.prod(op.weight.shape[1:])
    return _dispatch(int8_op, float32_op, macs_per_row, min_macs, in_shape, channels_last=True)


def int8_dense(op: Dense, float32_op: TorchFn, min_macs: int | None = None) -> TorchFn | None:
    """``op`` on 8-bit units for float32 ``(rows, inputs)`` input of non-negative integers at
    most :data:`MAX_INPUT`, returning float32; ``float32_op`` (the same op in float32) runs the
    calls of fewer than ``min_macs`` multiply-adds (default :data:`MIN_MACS`). ``None`` where
    it would not be exact or cannot run (see the module docstring)."""
    weight = _int8_weight(op)
    if weight is None:
        return None
    try:
        packed = torch.ops.onednn.qlinear_prepack(weight, None)
    except RuntimeError:
        return None
    outputs = weight.shape[0]
    scales, zero_points = torch.ones(outputs), torch.zeros(outputs, dtype=torch.int64)
    bias = _float32_bias(op)

    def int8_op(x: torch.Tensor) -> torch.Tensor:
        return torch.ops.onednn.qlinear_pointwise(
            _as_u8(x), 1.0, 0, packed, scales, zero_points, bias, 1.0, 0,
            torch.float32, "none", [], "")

    return _dispatch(int8_op, float32_op, weight.numel(), min_macs, (weight.shape[1],),
                     channels_last=False)


def _int8_weight(op: Conv2d | Dense) -> torch.Tensor | None:
    """The weight as int8, or ``None`` unless weight and bias are integers and the weight fits."""
    weight, bias = op.weight, op.bias
    if np.any(weight != np.round(weight)) or weight.min() < -128 or weight.max() > 127:
        return None
    if bias is not None and np.any(bias != np.round(bias)):
        return None
    return torch.as_tensor(weight, dtype=torch.int8)


def _as_u8(x: torch.Tensor) -> torch.Tensor:
    """``x`` (integers in [0, MAX_INPUT]) as uint8, through int8: the same bytes for these
    values, and torch converts float to int8 several times faster than to uint8."""
    return x.to(torch.int8).view(torch.uint8)


def _float32_bias(op: Conv2d | Dense) -> torch.Tensor | None:
    return None if op.bias is None else torch.as_tensor(op.bias, dtype=torch.float32)


def _dispatch(int8_op: TorchFn, float32_op: TorchFn, macs_per_row: int, min_macs: int | None,
              in_shape, channels_last: bool) -> TorchFn | None:
    """A function running ``int8_op`` on calls of at least ``min_macs`` multiply-adds and
    ``float32_op`` on smaller ones, if the two agree on a random probe of small counts (0 to
    3, whose float32 sums are exact); else ``None`` (also when ``int8_op`` raises)."""
    generator = torch.Generator().manual_seed(0)
    probe = torch.randint(0, 4, (_PROBE_ROWS, *in_shape), generator=generator)
    probe = probe.to(torch.float32)
    if channels_last:
        probe = probe.contiguous(memory_format=torch.channels_last)
    try:
        if not torch.equal(int8_op(probe), float32_op(probe)):
            return None
    except RuntimeError:
        return None
    min_rows = (MIN_MACS if min_macs is None else min_macs) / max(int(macs_per_row), 1)
    return lambda x: int8_op(x) if x.shape[0] >= min_rows else float32_op(x)
