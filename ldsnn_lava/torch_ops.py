"""The torch backend of the ops: what each op computes on a batch ``(B, *in_shape)``.

:func:`torch_op` is one ``functools.singledispatch`` function with one implementation per op
type (see :mod:`ldsnn_lava.ops`); the engine builds each stage's op chain with it once per
device and dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatch

import torch
import torch.nn.functional as F

from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Flatten, Op, Scale, SumPool2d

TorchFn = Callable[[torch.Tensor], torch.Tensor]


def _tensor(array, device, dtype) -> torch.Tensor | None:
    return None if array is None else torch.as_tensor(array, dtype=dtype, device=device)


@singledispatch
def torch_op(op: Op, device, dtype: torch.dtype) -> TorchFn:
    """A function applying ``op`` to a batch, with parameters on ``device`` in ``dtype``."""
    raise TypeError(f"no torch implementation for op type {type(op).__name__}")


@torch_op.register
def _(op: Dense, device, dtype: torch.dtype) -> TorchFn:
    weight, bias = _tensor(op.weight, device, dtype), _tensor(op.bias, device, dtype)
    return lambda x: F.linear(x, weight, bias)


@torch_op.register
def _(op: Conv2d, device, dtype: torch.dtype) -> TorchFn:
    weight, bias = _tensor(op.weight, device, dtype), _tensor(op.bias, device, dtype)
    stride, padding = op.stride, op.padding
    return lambda x: F.conv2d(x, weight, bias, stride=stride, padding=padding)


@torch_op.register
def _(op: AvgPool2d, device, dtype: torch.dtype) -> TorchFn:
    kernel, stride = op.kernel, op.stride
    return lambda x: F.avg_pool2d(x, kernel, stride)


@torch_op.register
def _(op: SumPool2d, device, dtype: torch.dtype) -> TorchFn:
    kernel, stride, area = op.kernel, op.stride, op.area
    return lambda x: F.avg_pool2d(x, kernel, stride) * area


@torch_op.register
def _(op: Flatten, device, dtype: torch.dtype) -> TorchFn:
    return lambda x: x.flatten(1)


@torch_op.register
def _(op: Scale, device, dtype: torch.dtype) -> TorchFn:
    weight, bias = _tensor(op.weight, device, dtype), _tensor(op.bias, device, dtype)
    if op.truncate:
        return lambda x: torch.trunc(x * weight + bias)
    return lambda x: x * weight + bias
