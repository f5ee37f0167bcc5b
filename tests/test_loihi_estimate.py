"""Loihi 2 constraint checks and the uniform-vs-LD resource/energy/latency estimate."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from ldsnn_lava import CubaLIF, Dense, Network, Schedule, Stage, evaluate
from ldsnn_lava.loihi.constraints import check_loihi2
from ldsnn_lava.loihi.estimate import (
    LoihiFigures,
    add_subcommands,
    compare,
    cores_needed,
    estimate,
    render_table,
)


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


def test_estimate_adds_up_from_the_counters():
    net = _net()
    x = np.random.default_rng(2).integers(0, 4, (30, 12)).astype(float)
    schedule = Schedule([6, 3], "rate")
    counters = evaluate(net, schedule, x, precision="fixed").counters
    figures = LoihiFigures()
    est = estimate(net, schedule, counters, figures=figures)
    syn = counters.total["synaptic_updates"] + counters.total["input_macs"]
    updates = counters.total["neurons_evaluated"] + counters.total["buffer_updates"]
    assert est.total["energy_j"] == pytest.approx(figures.e_synaptic * syn
                                                  + figures.e_neuron * updates)
    assert est.total["idle_neuron_updates"] == 20 * 3 + 5 * 6  # N_l * (P - T_l), P = 9
    busy = sum(s.busy_s for s in est.stages)
    assert est.latency_s == pytest.approx(busy + 9 * figures.t_barrier)


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
    parser = argparse.ArgumentParser(prog="ldsnn")
    add_subcommands(parser.add_subparsers(required=True))
    net_path, sched_path, out = tmp_path / "n.npz", tmp_path / "s.json", tmp_path / "n.net"
    _net().save(net_path)
    Schedule([6, 3], "rate").save(sched_path)
    args = parser.parse_args(["estimate", str(net_path), "--schedule", str(sched_path),
                              "--samples", "10", "--format", "text"])
    args.func(args)
    assert "LD/uniform energy" in capsys.readouterr().out
    args = parser.parse_args(["export", str(net_path), str(sched_path), str(out)])
    args.func(args)
    assert out.is_file()
