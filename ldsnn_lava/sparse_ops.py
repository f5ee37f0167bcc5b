"""The ops as sparse affine maps: explicit synapses, one weight per connection.

A simulator that connects neurons through explicit synapses (Brian2) needs each stage's op
chain as a list of connections. Every op is affine, so a chain is one sparse matrix ``M``
(outputs x inputs; row = postsynaptic, column = presynaptic element, C-order flattened) and one
bias vector ``b``: the stage's current is ``M @ input + b``.

:func:`sparse_op` (one ``functools.singledispatch`` implementation per op type) gives one op's
map; :func:`sparse_chain` composes a stage's chain (``AvgPool2d`` then ``Conv2d`` becomes one
convolution-like map) and leaves out connections whose weight is exactly zero: they carry
nothing, and the work counters come from the network's structural fan-outs, not from these maps.

Composing multiplies weights (an average pool's ``1/4`` into the next op's weights) and a
simulator sums in its own order, so a float current can differ from the engine's in the last bit
where float sums are not exact; integer maps (fixed point) are exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import singledispatch

import numpy as np
import scipy.sparse as sp

from ldsnn_lava.errors import InvalidNetwork
from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Flatten, Op, Scale, Shape, SumPool2d

SparseMap = tuple[sp.csr_matrix, np.ndarray | None]
"""One op's ``(matrix, bias or None)``."""


@dataclass(frozen=True)
class AffineMap:
    """``current = matrix @ input + bias`` on flattened inputs and outputs.

    Attributes
    ----------
    matrix : scipy.sparse.coo_matrix
        (outputs, inputs) weights without explicit zeros; ``matrix.row`` holds postsynaptic
        and ``matrix.col`` presynaptic indices.
    bias : numpy.ndarray
        (outputs,) float64 bias, added on every step.
    """

    matrix: sp.coo_matrix
    bias: np.ndarray

    @property
    def num_outputs(self) -> int:
        return int(self.matrix.shape[0])


@singledispatch
def sparse_op(op: Op, in_shape: Shape) -> SparseMap:
    """``op`` on a flattened input of shape ``in_shape`` as ``(matrix, bias or None)``.

    Raises
    ------
    InvalidNetwork
        For a truncating ``Scale`` (``trunc`` is not affine).
    """
    raise TypeError(f"no sparse map for op type {type(op).__name__}")


@sparse_op.register
def _(op: Dense, in_shape: Shape) -> SparseMap:
    return sp.csr_matrix(op.weight), op.bias


@sparse_op.register
def _(op: Conv2d, in_shape: Shape) -> SparseMap:
    """One connection per (output position, kernel tap) that lands inside the input."""
    c_in, h, w = in_shape
    c_out, ho, wo = op.output_shape(in_shape)
    (kh, kw), (sh, sw), (ph, pw) = op.kernel, op.stride, op.padding
    out_c = np.arange(c_out)[:, None, None, None]
    in_c = np.arange(c_in)[None, :, None, None]
    y = np.arange(ho)[None, None, :, None]
    x = np.arange(wo)[None, None, None, :]
    grid = (c_out, c_in, ho, wo)
    rows, cols, weights = [], [], []
    for i in range(kh):
        for j in range(kw):
            iy, ix = y * sh - ph + i, x * sw - pw + j
            inside = np.broadcast_to((iy >= 0) & (iy < h) & (ix >= 0) & (ix < w), grid)
            rows.append(np.broadcast_to(out_c * ho * wo + y * wo + x, grid)[inside])
            cols.append(np.broadcast_to(in_c * h * w + iy * w + ix, grid)[inside])
            weights.append(np.broadcast_to(op.weight[:, :, i, j, None, None], grid)[inside])
    matrix = sp.csr_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
        shape=(c_out * ho * wo, c_in * h * w))
    return matrix, None if op.bias is None else np.repeat(op.bias, ho * wo)


def _pool(op: AvgPool2d | SumPool2d, in_shape: Shape, weight: float) -> sp.csr_matrix:
    """Each output connects to its window's inputs, channel by channel, with ``weight``."""
    channels, h, w = in_shape
    _, ho, wo = op.output_shape(in_shape)
    (kh, kw), (sh, sw) = op.kernel, op.stride
    channel = np.arange(channels)[:, None, None]
    y = np.arange(ho)[None, :, None]
    x = np.arange(wo)[None, None, :]
    grid = (channels, ho, wo)
    rows = np.tile(np.broadcast_to(channel * ho * wo + y * wo + x, grid).ravel(), kh * kw)
    cols = np.concatenate([
        np.broadcast_to(channel * h * w + (y * sh + i) * w + x * sw + j, grid).ravel()
        for i in range(kh) for j in range(kw)])
    return sp.csr_matrix((np.full(rows.size, weight), (rows, cols)),
                         shape=(channels * ho * wo, channels * h * w))


@sparse_op.register
def _(op: AvgPool2d, in_shape: Shape) -> SparseMap:
    return _pool(op, in_shape, 1.0 / op.area), None


@sparse_op.register
def _(op: SumPool2d, in_shape: Shape) -> SparseMap:
    return _pool(op, in_shape, 1.0), None


@sparse_op.register
def _(op: Flatten, in_shape: Shape) -> SparseMap:
    return sp.identity(int(np.prod(in_shape)), format="csr"), None


@sparse_op.register
def _(op: Scale, in_shape: Shape) -> SparseMap:
    if op.truncate:
        raise InvalidNetwork("a truncating Scale (y = trunc(weight * x + bias)) is not affine, "
                             "so no synapses can carry it")
    return (sp.diags(np.broadcast_to(op.weight, in_shape).ravel(), format="csr"),
            np.broadcast_to(op.bias, in_shape).ravel().copy())


def sparse_chain(ops: Sequence[Op], in_shape: Shape) -> AffineMap:
    """Compose ``ops`` (applied in order to an input of shape ``in_shape``) into one
    :class:`AffineMap`; an empty chain is the identity."""
    shape = tuple(in_shape)
    matrix = sp.identity(int(np.prod(shape)), format="csr")
    bias = np.zeros(matrix.shape[0])
    for op in ops:
        op_matrix, op_bias = sparse_op(op, shape)
        shape = op.output_shape(shape)
        matrix, bias = op_matrix @ matrix, op_matrix @ bias
        if op_bias is not None:
            bias = bias + op_bias
    matrix = sp.csr_matrix(matrix)
    matrix.eliminate_zeros()
    return AffineMap(matrix.tocoo(), np.asarray(bias, dtype=np.float64))
