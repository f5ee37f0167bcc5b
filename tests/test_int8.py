"""The 8-bit path of fixed-point stages (ldsnn_lava/engine/int8.py) gives the float32 ops'
numbers exactly: op by op on random integer layers, and end to end on random fixed-point networks
and on a quantized zoo model."""

from unittest import mock

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ldsnn_lava import (
    IF,
    Conv2d,
    Dense,
    Flatten,
    Network,
    Schedule,
    Stage,
    datasets,
    evaluate,
    zoo,
)
from ldsnn_lava.engine import int8
from ldsnn_lava.ops import SumPool2d
from ldsnn_lava.quantize import quantize

pytestmark = pytest.mark.skipif(not int8.available("cpu"),
                                reason="this torch build has no oneDNN quantized ops")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def float32_conv(op: Conv2d):
    weight = torch.as_tensor(op.weight, dtype=torch.float32)
    bias = None if op.bias is None else torch.as_tensor(op.bias, dtype=torch.float32)
    return lambda x: F.conv2d(x, weight, bias, op.stride, op.padding)


def float32_dense(op: Dense):
    weight = torch.as_tensor(op.weight, dtype=torch.float32)
    bias = None if op.bias is None else torch.as_tensor(op.bias, dtype=torch.float32)
    return lambda x: F.linear(x, weight, bias)


@SETTINGS
@given(conv=st.booleans(), channels=st.integers(1, 12), size=st.integers(1, 9),
       outputs=st.integers(1, 40), kernel=st.integers(1, 4), stride=st.integers(1, 2),
       padding=st.integers(0, 2), rows=st.integers(1, 30), largest_input=st.sampled_from(
           [1, 4, 127]), bias=st.booleans(), small_calls_too=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_int8_ops_equal_the_float32_ops(conv, channels, size, outputs, kernel, stride, padding,
                                        rows, largest_input, bias, small_calls_too, seed):
    """Integer weights in [-128, 127], counts up to MAX_INPUT: the same float32 numbers, on the
    8-bit units (every call, when ``MIN_MACS`` is 0) or on the float32 op for small calls."""
    rng = np.random.default_rng(seed)
    kernel = min(kernel, size + 2 * padding)
    in_shape = (channels, size, size) if conv else (channels * size,)
    weight_shape = (outputs, channels, kernel, kernel) if conv else (outputs, channels * size)
    weight = rng.integers(-128, 128, weight_shape)
    b = rng.integers(-1000, 1000, outputs) if bias else None
    op = Conv2d(weight, b, stride, padding) if conv else Dense(weight, b)
    reference = float32_conv(op) if conv else float32_dense(op)
    min_macs = int8.MIN_MACS if small_calls_too else 0
    fn = (int8.int8_conv(op, in_shape, reference, min_macs) if conv
          else int8.int8_dense(op, reference, min_macs))
    assert fn is not None
    x = torch.as_tensor(rng.integers(0, largest_input + 1, (rows, *in_shape)),
                        dtype=torch.float32)
    if conv:
        x = x.contiguous(memory_format=torch.channels_last)
    got, want = fn(x), reference(x)
    assert got.dtype == torch.float32 and torch.equal(got, want)


def test_layers_the_8bit_units_cannot_compute_exactly_are_refused():
    reference = float32_dense(Dense(np.ones((2, 3))))
    assert int8.int8_dense(Dense(np.full((2, 3), 128.0)), reference) is None  # out of int8
    assert int8.int8_dense(Dense(np.full((2, 3), 0.5)), reference) is None  # not integers
    assert int8.int8_dense(Dense(np.ones((2, 3)), np.full(2, 0.5)), reference) is None
    assert int8.int8_dense(Dense(np.ones((2, 3))), reference) is not None
    wrong = float32_dense(Dense(np.full((2, 3), 2.0)))  # disagrees on the probe: refused
    assert int8.int8_dense(Dense(np.ones((2, 3))), wrong) is None


def test_the_8bit_path_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("LDSNN_INT8", "0")
    assert not int8.available("cpu")
    assert not int8.available("cuda")


def _engine_pair(net, schedule, x, **kwargs):
    """Fixed-point results with the 8-bit path on every call and with it off, and how many
    layers took it."""
    taken = []

    def counting(make):
        def wrapped(*args):
            fn = make(*args)
            taken.append(fn is not None)
            return fn
        return wrapped

    with mock.patch.object(int8, "MIN_MACS", 0), \
            mock.patch.object(int8, "int8_conv", counting(int8.int8_conv)), \
            mock.patch.object(int8, "int8_dense", counting(int8.int8_dense)):
        on = evaluate(net, schedule, x, precision="fixed", **kwargs)
    with mock.patch.dict("os.environ", {"LDSNN_INT8": "0"}):  # a new network: a new engine
        twin = Network(net.input_shape, net.stages, input_encoding=net.input_encoding)
        off = evaluate(twin, schedule, x, precision="fixed", **kwargs)
    return on, off, sum(taken)


def assert_same_results(on, off):
    np.testing.assert_array_equal(on.readout, off.readout)
    for a, b in zip(on.spike_counts, off.spike_counts, strict=True):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), channels=st.integers(1, 6), pool=st.booleans(),
       steps=st.lists(st.integers(1, 8), min_size=4, max_size=4))
def test_fixed_point_networks_on_8bit_units_equal_the_float32_engine(seed, channels, pool,
                                                                     steps):
    """Conv, sum pool and Dense stages fed by spikes, integer weights in the 8-bit range: the
    same readout and spike counts with the 8-bit path as without it, under LD schedules."""
    rng = np.random.default_rng(seed)
    size = 8
    conv2 = Conv2d(rng.integers(-128, 128, (channels, channels, 3, 3)),
                   rng.integers(-20, 21, channels), padding=1)
    tail = [SumPool2d(2), Flatten()] if pool else [Flatten()]
    width = channels * (size // 2 if pool else size) ** 2
    net = Network((1, size, size), [
        Stage([Conv2d(rng.integers(-64, 65, (channels, 1, 3, 3)), padding=1)], IF(200, 0)),
        Stage([conv2], IF(int(rng.integers(50, 300)), 0)),
        Stage([*tail, Dense(rng.integers(-128, 128, (12, width)), rng.integers(-9, 10, 12))],
              IF(int(rng.integers(50, 300)), 0)),
        Stage([Dense(rng.integers(-128, 128, (4, 12)))], None),
    ])
    schedule = Schedule(steps, ["rate"] * 3)
    x = rng.integers(0, 8, (5, 1, size, size))
    on, off, taken = _engine_pair(net, schedule, x, batch_size=int(rng.integers(1, 6)))
    assert taken >= 3  # the second convolution and both Dense layers
    assert_same_results(on, off)


def test_a_quantized_zoo_model_runs_the_same_on_8bit_units():
    model = zoo.load("lenet_mnist5k")
    quantized = quantize(model.network)
    images = datasets.load(model.dataset).split("test")[0][:24]
    x = quantized.encode_input(model.preprocess(images))
    on, off, taken = _engine_pair(quantized.network, Schedule.uniform(quantized.network, 5), x,
                                  record_spikes=True)
    assert taken == 4  # one convolution and three Dense layers fed by spikes
    assert_same_results(on, off)
