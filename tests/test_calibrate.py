"""Per-stage threshold calibration (ldsnn_lava.optimize.calibrate) and the search strategies,
on small real SNNs trained on scikit-learn digits."""


import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ldsnn_optimize_nets import digits_snn, digits_splits
from ldsnn_testing import simulate_layerwise

from ldsnn_lava import IF, Dense, Network, Schedule, Stage, evaluate
from ldsnn_lava.errors import InvalidNetwork, InvalidOption
from ldsnn_lava.neurons import CubaLIF
from ldsnn_lava.optimize import get_cost, optimize
from ldsnn_lava.optimize.cache import PrefixCache, ld_schedule
from ldsnn_lava.optimize.calibrate import GRID, Calibrator, scale_thresholds


@pytest.fixture(scope="module")
def net():
    return digits_snn((32, 16), 0)


@pytest.fixture(scope="module")
def train_x():
    return digits_splits()[0][:200]


@pytest.fixture(scope="module")
def val():
    return digits_splits()[2:4]


@pytest.fixture(scope="module")
def calibrator(net, train_x):
    return Calibrator(net, train_x, reference_T=16)


def test_scale_thresholds_moves_thresholds_and_next_weights(net):
    scaled = scale_thresholds(net, (0.5, 2.0))
    assert scaled.stages[0].neuron.threshold == 0.5 * net.stages[0].neuron.threshold
    assert scaled.stages[1].neuron.threshold == 2.0 * net.stages[1].neuron.threshold
    np.testing.assert_allclose(scaled.stages[1].ops[0].weight, 0.5 * net.stages[1].ops[0].weight)
    np.testing.assert_allclose(scaled.stages[2].ops[0].weight, 2.0 * net.stages[2].ops[0].weight)
    np.testing.assert_array_equal(scaled.stages[0].ops[0].weight, net.stages[0].ops[0].weight)
    back = scale_thresholds(scaled, (2.0, 0.5))
    for a, b in zip(back.stages, net.stages, strict=True):
        np.testing.assert_allclose(a.ops[0].weight, b.ops[0].weight)
    assert scale_thresholds(net, (1.0, 1.0)) is net


def test_scaled_network_keeps_the_function_at_many_steps(net, val):
    """Scaling is exact in the limit where nothing clips: at a long window the readout sums
    of a network scaled by factors >= 1 (rates only fall), normalized by T, approach the given
    network's (the layerwise numpy oracle, not the engine)."""
    x = val[0][:20]
    T = 256
    schedule = ld_schedule((T, T, T))
    scaled = scale_thresholds(net, (1.25, 1.5))
    ref = np.array([simulate_layerwise(net, schedule, s)[0] for s in x]) / T
    got = np.array([simulate_layerwise(scaled, schedule, s)[0] for s in x]) / T
    spread = np.abs(ref).max()
    np.testing.assert_allclose(got, ref, atol=0.05 * spread)


def test_bad_networks_and_factors_are_refused(net, train_x):
    lif = Network((4,), [Stage([Dense(np.ones((3, 4)))], CubaLIF(10, 0.1, 0.1)),
                         Stage([Dense(np.ones((2, 3)))], None)])
    with pytest.raises(InvalidNetwork, match="stage 0 has CubaLIF"):
        Calibrator(lif, np.ones((2, 4)), 8)
    with pytest.raises(InvalidOption, match="one threshold factor per spiking stage"):
        scale_thresholds(net, (1.0,))
    with pytest.raises(InvalidOption, match="stage 1 must be finite and > 0"):
        scale_thresholds(net, (1.0, float("nan")))
    with pytest.raises(InvalidOption, match="calibration fits float networks"):
        optimize(net, base_T=4, val=digits_splits()[2:4], calibration_x=train_x,
                 precision="fixed", progress=False)


def test_fitted_factor_minimizes_the_error_on_the_grid(net, train_x, calibrator):
    """Brute force with the numpy oracle: for each stage, every grid factor's mean squared
    error against the reference values; the fitted one is the smallest (ties: closest to 1)."""
    steps = (3, 2, 5)
    scales = calibrator.scales(steps)
    x = train_x[:200]
    reference = [np.array([simulate_layerwise(net, ld_schedule((16,) * 3), s)[1][k]
                           for s in x]) / 16 for k in range(2)]
    for stage in range(2):
        errors = {}
        for factor in GRID:
            trial = scale_thresholds(net, scales[:stage] + (factor,) + (1.0,) * (1 - stage))
            counts = np.array([simulate_layerwise(trial, ld_schedule(steps), s)[1][stage]
                               for s in x])
            errors[factor] = float(((counts * factor / steps[stage] - reference[stage]) ** 2
                                    ).mean())
        best = min(errors.values())
        close = [f for f, e in errors.items() if e <= best * (1 + 1e-9)]
        assert scales[stage] == min(close, key=lambda f: (abs(np.log(f)), f))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, 6), min_size=3, max_size=3))
def test_calibrated_prefix_cache_matches_the_engine(net, val, calibrator, steps):
    """Cached prefixes stay valid under calibration: every evaluation equals a fresh engine run
    of the network calibrated for those timesteps."""
    x, y = val
    cache = _calibrated_cache(net, val, calibrator)
    for prefix_first in ((steps[0], 6, 6), tuple(steps)):  # a shared prefix, then the schedule
        ev = cache.evaluate(prefix_first)
        ref = evaluate(calibrator.network(prefix_first), ld_schedule(prefix_first), x,
                       record_spikes=False, progress=False)
        assert ev.accuracy == ref.accuracy(y)
        for name, values in ref.counters.per_stage.items():
            np.testing.assert_allclose(ev.counters.per_stage[name], values, rtol=1e-9)


_CACHES: dict = {}


def _calibrated_cache(net, val, calibrator):
    if id(calibrator) not in _CACHES:
        _CACHES[id(calibrator)] = PrefixCache(net, *val, network_for=calibrator.network)
    return _CACHES[id(calibrator)]


def test_optimize_with_calibration(net, val, train_x):
    x, y = val
    raw = optimize(net, base_T=6, val=val, max_drop=2.0, restarts=1, progress=False)
    cal = optimize(net, base_T=6, val=val, max_drop=2.0, restarts=1, calibration_x=train_x,
                   reference_T=24, progress=False)
    assert raw.calibration is None
    assert cal.given.accuracy == raw.given.accuracy and cal.given.cost == raw.given.cost
    assert cal.chosen.accuracy >= cal.min_accuracy
    assert cal.chosen.cost <= cal.best_uniform.cost
    assert cal.best_uniform.schedule.is_uniform
    # the chosen point, rebuilt from the reported factors, runs as reported
    rebuilt = scale_thresholds(net, cal.calibration["chosen"])
    ref = evaluate(rebuilt, cal.schedule, x, record_spikes=False, progress=False)
    assert ref.accuracy(y) == cal.chosen.accuracy
    assert get_cost("synaptic_updates")(cal.schedule, ref.counters) == pytest.approx(
        cal.chosen.cost)
    uniform = scale_thresholds(net, cal.calibration["best_uniform"])
    ref = evaluate(uniform, cal.best_uniform.schedule, x, record_spikes=False, progress=False)
    assert ref.accuracy(y) == cal.best_uniform.accuracy


# --- backends: the calibrated network is an ordinary network ---------------------------------


@pytest.mark.lava
@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_calibrated_network_runs_identically_in_lava(net, calibrator, val, precision):
    from ldsnn_lava.processes.graph import to_lava

    from ldsnn_lava.quantize import quantize

    steps = (2, 1, 3)
    calibrated = calibrator.network(steps)
    assert calibrator.scales(steps) != (1.0, 1.0)
    x = val[0][:4]
    if precision == "fixed":
        q = quantize(calibrated)
        calibrated, x = q.network, q.encode_input(x)
    schedule = Schedule(steps, "rate")
    ref = evaluate(calibrated, schedule, x, dtype=torch.float64, precision=precision)
    got = to_lava(calibrated, schedule, precision, "step").run(x)
    for stage, (a, b) in enumerate(zip(ref.spike_counts, got.spike_counts, strict=True)):
        np.testing.assert_array_equal(b, a, err_msg=f"spike counts of stage {stage}")
    if precision == "fixed":
        np.testing.assert_array_equal(got.readout, ref.readout)
    else:  # the same sums in another order: equal to float64 rounding (weights not dyadic)
        np.testing.assert_allclose(got.readout, ref.readout, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got.predictions, ref.predictions)
    assert any(a.sum() for a in ref.spike_counts)


def test_v_init_follows_the_threshold(net):
    scaled = scale_thresholds(net, (0.7, 1.4))
    for a, b, f in zip(scaled.stages[:-1], net.stages[:-1], (0.7, 1.4), strict=True):
        assert isinstance(a.neuron, IF)
        assert a.neuron.initial_v == pytest.approx(f * b.neuron.initial_v)
