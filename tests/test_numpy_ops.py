"""numpy_ops (the Lava models' op path) against the ops' own torch functions."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ldsnn_lava.numpy_ops import numpy_chain, numpy_op
from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Flatten, Scale, SumPool2d
from ldsnn_lava.torch_ops import torch_op


def torch_apply(op, x: np.ndarray) -> np.ndarray:
    fn = torch_op(op, "cpu", torch.float64)
    return fn(torch.as_tensor(x, dtype=torch.float64)[None])[0].numpy()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), kind=st.sampled_from(["dense", "conv", "avg", "sum",
                                                             "scale"]),
       integer=st.booleans())
def test_numpy_op_matches_torch(seed, kind, integer):
    rng = np.random.default_rng(seed)
    c, h, w = rng.integers(1, 3), rng.integers(3, 7), rng.integers(3, 7)
    if kind == "dense":
        n = int(rng.integers(1, 9))
        op, x = Dense(rng.integers(-8, 9, (5, n)), rng.integers(-8, 9, 5)), rng.integers(0, 2, n)
    elif kind == "conv":
        k = int(rng.integers(1, 4))
        op = Conv2d(rng.integers(-8, 9, (2, c, k, k)), rng.integers(-8, 9, 2),
                    stride=int(rng.integers(1, 3)), padding=int(rng.integers(0, 2)))
        x = rng.integers(0, 2, (c, h, w))
    elif kind == "scale":
        op, x = Scale(rng.integers(-8, 9, (c, 1, 1)), 3.0), rng.integers(-4, 5, (c, h, w))
    else:
        cls = AvgPool2d if kind == "avg" else SumPool2d
        op, x = cls(int(rng.integers(1, 4)), int(rng.integers(1, 3))), rng.integers(0, 2, (c, h, w))
    expected = torch_apply(op, x.astype(np.float64))
    if integer and kind == "avg":
        with pytest.raises(ValueError, match="AvgPool2d"):
            numpy_op(op, np.int64)
        return
    dtype = np.int64 if integer else np.float64
    got = numpy_chain([op], dtype)(x)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, expected)


def test_chain_with_flatten():
    rng = np.random.default_rng(0)
    ops = [Conv2d(rng.integers(-3, 4, (2, 1, 3, 3)), padding=1), SumPool2d(2), Flatten(),
           Dense(rng.integers(-3, 4, (4, 8)))]
    x = rng.integers(0, 2, (1, 4, 4))
    expected = x[None].astype(np.float64)
    for op in ops:
        expected = torch_op(op, "cpu", torch.float64)(torch.as_tensor(expected)).numpy()
    np.testing.assert_array_equal(numpy_chain(ops, np.int64)(x), expected[0])


def test_rejects_fractional_weights_and_bad_dtype():
    with pytest.raises(ValueError, match="Dense weight must be integers"):
        numpy_op(Dense(np.full((2, 2), 0.5)), np.int64)
    with pytest.raises(ValueError, match="dtype"):
        numpy_chain([Dense(np.ones((2, 2)))], np.float32)
