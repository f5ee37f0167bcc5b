"""Apply a stage's linear ops to one sample in numpy (what the Lava process models run).

The torch engine applies ops to batches with :func:`ldsnn_lava.torch_ops.torch_op`; the Lava
stage process works on one sample per step, in numpy, in float64 (``floating_pt``) or int64
(``fixed_pt``). :func:`numpy_op` (one ``functools.singledispatch`` implementation per op type)
gives that function for each op. In int64 every sum is
exact; in float64 sums of dyadic values (e.g. 0/1 spikes times power-of-two-multiple weights)
are exact too, so both backends agree bit for bit on such networks whatever the order of sums.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import singledispatch

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ldsnn_lava.errors import InvalidNetwork, InvalidOption
from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Flatten, Op, Scale, SumPool2d

NumpyFn = Callable[[np.ndarray], np.ndarray]
DTYPES = (np.float64, np.int64)


def _cast(array: np.ndarray | None, dtype, what: str) -> np.ndarray | None:
    if array is None:
        return None
    if dtype is np.int64:
        if not np.array_equal(array, np.round(array)):
            raise InvalidNetwork(f"{what} must be integers for fixed precision; quantize the "
                                 f"network first (ldsnn_lava.quantize)")
        return np.round(array).astype(np.int64)
    return np.asarray(array, dtype=np.float64)


def _windows(x: np.ndarray, kernel, stride) -> np.ndarray:
    """(C, H, W) -> (C, Ho, Wo, kh, kw) sliding windows."""
    return sliding_window_view(x, kernel, axis=(1, 2))[:, :: stride[0], :: stride[1]]


@singledispatch
def numpy_op(op: Op, dtype=np.float64) -> NumpyFn:
    """A numpy function applying ``op`` to one sample of shape ``in_shape``.

    Parameters
    ----------
    op : Op
        Dense, Conv2d, AvgPool2d, SumPool2d, Flatten or Scale.
    dtype : numpy.float64 or numpy.int64
        Arithmetic of parameters and results. ``int64`` needs integer parameters and rejects
        ``AvgPool2d`` (its 1/k^2 is fractional; use ``SumPool2d``).

    Raises
    ------
    InvalidNetwork
        On non-integer parameters or AvgPool2d under ``int64``.
    """
    raise TypeError(f"no numpy implementation for op type {type(op).__name__}")


@numpy_op.register
def _(op: Dense, dtype=np.float64) -> NumpyFn:
    weight, bias = _cast(op.weight, dtype, "Dense weight"), _cast(op.bias, dtype, "Dense bias")
    if bias is None:
        return lambda x: weight @ x
    return lambda x: weight @ x + bias


@numpy_op.register
def _(op: Conv2d, dtype=np.float64) -> NumpyFn:
    weight = _cast(op.weight, dtype, "Conv2d weight")
    bias = _cast(op.bias, dtype, "Conv2d bias")
    (ph, pw), kernel, stride = op.padding, op.kernel, op.stride

    def conv(x: np.ndarray) -> np.ndarray:
        padded = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
        out = np.einsum("chwij,ocij->ohw", _windows(padded, kernel, stride), weight)
        return out if bias is None else out + bias[:, None, None]

    return conv


@numpy_op.register
def _(op: SumPool2d, dtype=np.float64) -> NumpyFn:
    return lambda x: _windows(x, op.kernel, op.stride).sum(axis=(-2, -1))


@numpy_op.register
def _(op: AvgPool2d, dtype=np.float64) -> NumpyFn:
    if dtype is np.int64:
        raise InvalidNetwork("AvgPool2d is fractional and cannot run in fixed precision; "
                             "quantize the network (AvgPool2d becomes SumPool2d)")
    return lambda x: _windows(x, op.kernel, op.stride).sum(axis=(-2, -1)) / op.area


@numpy_op.register
def _(op: Flatten, dtype=np.float64) -> NumpyFn:
    return lambda x: x.reshape(-1)


@numpy_op.register
def _(op: Scale, dtype=np.float64) -> NumpyFn:
    weight, bias = _cast(op.weight, dtype, "Scale weight"), _cast(op.bias, dtype, "Scale bias")
    if op.truncate:
        return lambda x: np.trunc(x * weight + bias).astype(x.dtype)
    return lambda x: x * weight + bias


def numpy_chain(ops: Sequence[Op], dtype=np.float64) -> NumpyFn:
    """Compose :func:`numpy_op` over a stage's ops; the input is cast to ``dtype`` first."""
    if dtype not in DTYPES:
        raise InvalidOption(f"dtype must be numpy.float64 or numpy.int64, got {dtype!r}")
    fns = [numpy_op(op, dtype) for op in ops]

    def apply(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=dtype)
        for fn in fns:
            x = fn(x)
        return x

    return apply
