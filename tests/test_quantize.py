"""quantize(): integer networks the fixed engine accepts, exact where the float net is dyadic."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from lava_conformance_nets import random_inputs, random_network, random_schedule

from ldsnn_lava import IF, CubaLIF, Dense, Network, Schedule, Stage, evaluate
from ldsnn_lava.ops import AvgPool2d, Flatten, SumPool2d
from ldsnn_lava.quantize import quantization_report, quantize, weight_exponent


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), arch=st.sampled_from(["dense", "conv"]),
       encoding=st.sampled_from(["direct", "rate"]), mode=st.sampled_from(["sequential",
                                                                             "pipelined"]))
def test_dyadic_if_network_quantizes_exactly(seed, arch, encoding, mode):
    """Weights k/4 (|w| <= 1), thresholds k/4 and inputs k/4 are exact in 8-bit mantissas and
    input_exponent 2, so the fixed run has the float run's spikes and readout times S."""
    net = random_network(seed, arch, "IF", False, encoding)
    schedule = random_schedule(seed, net.num_stages, mode, uniform=False)
    x = random_inputs(seed, net, 6, False)
    q = quantize(net, weight_bits=8, input_exponent=2)
    ref = evaluate(net, schedule, x, dtype=torch.float64)
    got = evaluate(q.network, schedule, q.encode_input(x), precision="fixed")
    for a, b in zip(ref.spike_counts, got.spike_counts, strict=True):
        np.testing.assert_array_equal(b, a)
    np.testing.assert_array_equal(got.readout, ref.readout * q.scales[-1])
    assert not any(isinstance(op, AvgPool2d) and not isinstance(op, SumPool2d)
                   for stage in q.network.stages for op in stage.ops)


def test_mantissas_exponents_and_scales():
    rng = np.random.default_rng(0)
    w0, w1 = rng.normal(0, 0.3, (6, 1 * 2 * 2)), rng.normal(0, 2.0, (3, 6))
    net = Network((1, 4, 4), [
        Stage([AvgPool2d(2), Flatten(), Dense(w0, rng.normal(0, 0.1, 6))], IF(1.0)),
        Stage([Dense(w1)], None),
    ])
    q = quantize(net, weight_bits=6, input_exponent=3)
    dense0 = q.network.stages[0].ops[2]
    e0 = q.weight_exponents[0][0]
    assert e0 == weight_exponent(w0, 6)
    assert np.abs(dense0.weight).max() <= 31 and np.abs(dense0.weight).max() >= 16
    assert np.array_equal(dense0.weight, np.round(w0 * 2.0**e0))
    assert q.scales[0] == 2.0**3 * 4 * 2.0**e0  # input, SumPool area, weight exponent
    assert q.network.stages[0].neuron.threshold == round(q.scales[0])
    assert isinstance(q.network.stages[0].ops[0], SumPool2d)
    x = rng.random((20, 1, 4, 4))
    evaluate(q.network, Schedule([4, 4], "replay"), q.encode_input(x), precision="fixed")


def test_cubalif_parameters_scale_and_decays_round():
    net = Network((3,), [Stage([Dense(np.full((2, 3), 0.5))],
                               CubaLIF(1.0, current_decay=0.1, voltage_decay=0.2, bias=0.25)),
                         Stage([Dense(np.ones((2, 2)))], None)], "rate")
    q = quantize(net)
    neuron, scale = q.network.stages[0].neuron, q.scales[0]
    assert q.input_exponent is None and scale == 128.0
    assert (neuron.threshold, neuron.bias) == (128.0, 32.0)
    assert neuron.current_decay * 4096 == round(0.1 * 4096)
    assert neuron.fixed_parameters()["dv"] == round(0.2 * 4096)


def test_weight_exponent_edges():
    assert weight_exponent(np.zeros(3), 8) == 0
    assert weight_exponent(np.array([127.0]), 8) == 0
    assert weight_exponent(np.array([128.0]), 8) == -1
    assert weight_exponent(np.array([0.5]), 8) == 7


def test_bad_arguments():
    net = Network((2,), [Stage([Dense(np.ones((2, 2)))], IF()),
                         Stage([Dense(np.ones((2, 2)))], None)])
    with pytest.raises(ValueError, match="weight_bits"):
        quantize(net, weight_bits=1)
    with pytest.raises(ValueError, match="input_exponent"):
        quantize(net, input_exponent=-1)
    with pytest.raises(ValueError, match="needs a Network"):
        quantize("net")


def test_report_counts_agreement_and_accuracy():
    rng = np.random.default_rng(1)
    net = Network((16,), [Stage([Dense(rng.normal(0, 0.5, (12, 16)))], IF(1.0)),
                          Stage([Dense(rng.normal(0, 0.5, (4, 12)))], None)])
    x, schedule = rng.random((50, 16)), Schedule([8, 8], "replay")
    labels = evaluate(net, schedule, x, dtype=torch.float64).predictions
    report = quantization_report(net, schedule, x, labels)
    assert report.num_samples == 50 and report.float_accuracy == 1.0
    assert report.fixed_accuracy == report.agreement
    assert report.accuracy_cost == pytest.approx(1.0 - report.agreement)
    coarse = quantization_report(net, schedule, x, labels, quantize(net, weight_bits=2,
                                                                     input_exponent=0))
    assert coarse.agreement < report.agreement
