"""Loihi 2 constraint checks and the uniform-vs-LD resource/energy/latency estimate."""

from __future__ import annotations

import numpy as np
import pytest

from ldsnn_lava import CubaLIF, Dense, Network, Schedule, Stage
from ldsnn_lava.cli import main
from ldsnn_lava.engine import Counters
from ldsnn_lava.loihi.constraints import check_loihi2
from ldsnn_lava.loihi.estimate import LoihiFigures, compare, estimate, render_table
from ldsnn_lava.loihi.resources import cores_needed


def _net(weight_scale=30, threshold=40, hidden=20, inputs=12):
    rng = np.random.default_rng(0)
    return Network((inputs,), [
        Stage([Dense(rng.integers(-weight_scale, weight_scale + 1, (hidden, inputs)))],
              CubaLIF(threshold=threshold, voltage_decay=0.25, current_decay=1.0)),
        Stage([Dense(rng.integers(-30, 31, (5, hidden)))], None)])


def test_a_fitting_network_has_no_violations():
    assert check_loihi2(_net()) == []


@pytest.mark.parametrize("net, problem, fix", [
    (_net(weight_scale=300), "do not fit an 8-bit mantissa", "requantize"),
    (_net(threshold=200000), "threshold = 200000", "requantize"),
    (_net(inputs=5000), "fan-in 5000", "split"),
])
def test_violations_name_stage_problem_and_fix(net, problem, fix):
    found = check_loihi2(net)
    assert len(found) == 1
    assert found[0].stage == 0 and problem in found[0].problem and fix in found[0].fix


def test_even_large_weights_fit_with_an_exponent_but_not_netx():
    net = _net(weight_scale=100)
    big = Network(net.input_shape, [Stage([Dense(net.stages[0].ops[0].weight * 4)],
                                           net.stages[0].neuron), net.stages[1]])
    [violation] = check_loihi2(big)
    assert "weight exponent" in violation.problem


def test_cores_follow_neurons_per_core_and_memory():
    rng = np.random.default_rng(1)
    net = Network((10,), [Stage([Dense(rng.integers(-3, 4, (9000, 10)))], CubaLIF(threshold=5)),
                          Stage([Dense(rng.integers(-3, 4, (2, 9000)))], None)])
    assert cores_needed(net) == [2, 1]  # 9000 > 8192 neurons; 18000 synapses fit one core


def test_estimate_energy_and_timing_from_the_cited_per_operation_figures():
    net = _net()  # 12 inputs -> 20 CubaLIF -> 5 readout
    schedule = Schedule([6, 3], "rate")  # sequential period P = 9
    # Per-sample work chosen by hand: stage 0 does 24 input MACs, the readout 10 synaptic
    # updates; neurons 20 * 6 and 5 * 3; the rate buffer 20 * 3 updates.
    counters = Counters({"synaptic_updates": np.array([0.0, 10.0]),
                         "input_macs": np.array([24.0, 0.0]),
                         "neurons_evaluated": np.array([120.0, 15.0]),
                         "buffer_updates": np.array([60.0, 0.0])})
    est = estimate(net, schedule, counters)
    # Davies et al. 2018: 23.6 pJ per synaptic op, 81 pJ per active neuron update, worked by
    # hand: 34 ops * 23.6 pJ = 802.4 pJ; (120 + 15 + 60) updates * 81 pJ = 15,795 pJ.
    assert est.total["energy_j"] == pytest.approx(802.4e-12 + 15795e-12)
    # idle neurons N_l * (P - T_l) = 20 * 3 + 5 * 6, at 52 pJ each
    assert est.total["idle_neuron_updates"] == 90
    assert est.total["idle_energy_j"] == pytest.approx(90 * 52e-12)
    # one core per stage: busy = ops * 3.5 ns + updates * 8.4 ns; plus 9 barriers of 465 ns
    busy = (24 * 3.5e-9 + 180 * 8.4e-9) + (10 * 3.5e-9 + 15 * 8.4e-9)
    assert est.latency_s == pytest.approx(busy + 9 * 465e-9)
    assert LoihiFigures().t_barrier == 465e-9


def test_compare_renders_uniform_and_ld_side_by_side():
    net = _net()
    x = np.random.default_rng(3).integers(0, 4, (20, 12)).astype(float)
    rows = compare(net, Schedule([8, 4], "rate"), x, uniform_T=8)
    assert [(r.label, r.schedule.mode) for r in rows] == [
        ("uniform T=8", "sequential"), ("LD", "sequential"),
        ("uniform T=8", "pipelined"), ("LD", "pipelined")]
    assert rows[1].total["neuron_updates"] == 20 * 8 + 5 * 4
    text = render_table(rows, "markdown")
    assert text.count("\n| ") == 4 and "sequential: LD/uniform energy" in text
    with pytest.raises(ValueError, match="fmt"):
        render_table(rows, "html")


def test_cli_estimate_and_export(tmp_path, capsys):
    net_path, sched_path, out = tmp_path / "n.npz", tmp_path / "s.json", tmp_path / "n.net"
    _net().save(net_path)
    Schedule([6, 3], "rate").save(sched_path)
    assert main(["estimate", str(net_path), "--schedule", str(sched_path), "--samples", "10",
                 "--format", "text"]) == 0
    assert "LD/uniform energy" in capsys.readouterr().out
    assert main(["export", str(net_path), str(sched_path), str(out)]) == 0
    assert out.is_file()


def test_cli_estimate_reads_every_model_file_evaluate_reads(tmp_path, capsys):
    net = _net()
    nir_path = tmp_path / "n.nir"
    from ldsnn_lava.formats.nir import write_network

    write_network(net, nir_path)
    assert main(["estimate", str(nir_path), "--samples", "5", "--uniform-T", "4"]) == 0
    assert "LD/uniform energy" in capsys.readouterr().out
