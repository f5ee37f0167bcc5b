"""The ``ldsnn`` command line, run as a subprocess like a user would."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from ldsnn_optimize_nets import digits_snn

from ldsnn_lava import Schedule
from ldsnn_lava.cli.common import shard_threads, usable_cores

LDSNN = [sys.executable, "-m", "ldsnn_lava.cli"]


def run(*args, cwd=None):
    return subprocess.run([*LDSNN, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def assert_user_error(proc, *words):
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr


@pytest.mark.parametrize("command", [[], ["optimize"], ["evaluate"], ["report"], ["demo"],
                                     ["estimate"], ["export"], ["quantize"]])
def test_help(command):
    proc = run(*command, "--help")
    assert proc.returncode == 0 and "usage: ldsnn" in proc.stdout


@pytest.fixture(scope="module")
def optimized(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli")
    proc = run("optimize", "mlp_digits", "--data", "digits", "--limit", "150", "--restarts", "1",
               "--max-drop", "1.0", "--timing-repeats", "2", "--out", out / "schedule.json",
               "--report", out / "report")
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_optimize_writes_schedule_result_and_report(optimized):
    out, proc = optimized
    schedule = Schedule.load(out / "schedule.json")
    result = json.loads((out / "schedule.result.json").read_text())
    assert result["schedule"]["timesteps"] == list(schedule.timesteps)
    assert (result["max_drop"], result["max_drop_unit"]) == (1.0, "points")
    assert "Held-out test split" in proc.stdout and "cheapest uniform in budget" in proc.stdout
    for name in ("report.md", "pareto.png", "timesteps.png", "synaptic_per_stage.png"):
        assert (out / "report" / name).stat().st_size > 0
    assert (out / "report" / "pareto.png").read_bytes()[:4] == b"\x89PNG"


def test_optimize_gives_the_same_result_in_process_and_on_shard_threads(optimized, tmp_path):
    """The fixture's search ran on the default shard threads (one per usable core); in
    process (``--threads 1``) and on 3 shard threads the result is the same."""
    out, _ = optimized
    results = [out / "schedule.result.json"]
    for i, runner in enumerate((["--threads", "1"], ["--shard-threads", "3"])):
        proc = run("optimize", "mlp_digits", "--data", "digits", "--limit", "150", "--restarts",
                   "1", "--max-drop", "1.0", "--timing-repeats", "0", *runner,
                   "--out", tmp_path / f"{i}.json")
        assert proc.returncode == 0, proc.stderr
        results.append(tmp_path / f"{i}.result.json")
    loaded = [json.loads(path.read_text()) for path in results]
    for result in loaded:
        result.pop("seconds"), result.pop("info")
    assert loaded[0] == loaded[1] == loaded[2]
    proc = run("optimize", "mlp_digits", "--shard-threads", "2", "--workers", "2")
    assert_user_error(proc, "without Ray workers")


@pytest.mark.parametrize("given, expected", [
    ({}, "cores"), ({"shard_threads": 3}, 3), ({"threads": 2}, None), ({"workers": 2}, None),
    ({"ray_address": "auto"}, None), ({"device": "cuda"}, None)])
def test_the_search_runs_on_one_shard_thread_per_core_unless_told_otherwise(given, expected):
    args = argparse.Namespace(**({"shard_threads": None, "threads": None, "workers": None,
                                  "ray_address": None, "device": "cpu"} | given))
    cores = usable_cores()
    assert shard_threads(args, 10_000) == (cores if expected == "cores" else expected)
    if expected == "cores":
        assert shard_threads(args, 1) == 1  # at most one shard per sample


def test_evaluate_and_report_commands(optimized, tmp_path):
    out, _ = optimized
    proc = run("evaluate", "mlp_digits", "--schedule", out / "schedule.json", "--limit", "100")
    assert proc.returncode == 0, proc.stderr
    assert "accuracy:" in proc.stdout and "synaptic_updates:" in proc.stdout
    proc = run("report", "mlp_digits", "--result", out / "schedule.result.json", "--limit",
               "100", "--timing-repeats", "1", "--out", tmp_path / "rep")
    assert proc.returncode == 0, proc.stderr
    assert "LD-SNN" in (tmp_path / "rep" / "report.md").read_text()


def test_model_file_needs_base_T_and_runs_with_it(tmp_path):
    digits_snn((32,), 0).save(tmp_path / "mine.npz")
    proc = run("optimize", tmp_path / "mine.npz", "--data", "digits", "--limit", "80",
               "--out", tmp_path / "s.json")
    assert_user_error(proc, "--base-T")
    proc = run("optimize", tmp_path / "mine.npz", "--data", "digits", "--limit", "80",
               "--base-T", "4", "--restarts", "0", "--out", tmp_path / "s.json")
    assert proc.returncode == 0, proc.stderr
    assert Schedule.load(tmp_path / "s.json").num_stages == 2


def test_error_paths(tmp_path, optimized):
    out, _ = optimized
    assert_user_error(run("optimize", tmp_path / "nope.npz", "--data", "digits"),
                      "model file not found")
    assert_user_error(run("optimize", "no_such_model"), "unknown model")
    assert_user_error(run("optimize", "mlp_digits", "--data", "cifar"),
                      "unknown data set 'cifar'")
    for bad in ("150", "-1", "abc"):
        assert_user_error(run("optimize", "mlp_digits", "--max-drop", bad), "--max-drop")
    (tmp_path / "bad.json").write_text("{not json")
    assert_user_error(run("evaluate", "mlp_digits", "--schedule", tmp_path / "bad.json"),
                      "not valid JSON")
    (tmp_path / "wrong.json").write_text(Schedule([4, 4], "rate").to_json())
    assert_user_error(run("evaluate", "mlp_digits", "--schedule", tmp_path / "wrong.json"),
                      "schedule has 2 stages")
    assert_user_error(run("evaluate", "mlp_digits", "--schedule", tmp_path / "missing.json"),
                      "schedule file not found")
    assert_user_error(run("report", "mlp_digits", "--result", out / "schedule.json"),
                      "not an ldsnn optimization result")
    assert not list(Path(tmp_path).glob("*.tmp"))


@pytest.mark.lava
def test_evaluate_on_lava_and_demo(tmp_path, optimized):
    out, _ = optimized
    proc = run("evaluate", "mlp_digits", "--schedule", out / "schedule.json", "--limit", "3",
               "--backend", "lava")
    assert proc.returncode == 0, proc.stderr
    assert "backend lava" in proc.stdout
    assert "lava: 0/3 samples" in proc.stderr and "lava: 3/3 samples" in proc.stderr
    proc = run("demo", "--model", "mlp_digits", "--limit", "100", "--restarts", "0",
               "--lava-samples", "2", "--timing-repeats", "1", "--out", tmp_path / "demo")
    assert proc.returncode == 0, proc.stderr
    assert "Lava simulation agrees with the engine on 2 test samples" in proc.stdout
    report = (tmp_path / "demo" / "report.md").read_text()
    assert "**Lava check**: Lava simulation agrees with the engine on 2 test samples" in report
    for field in ("**search command**: `ldsnn demo --model mlp_digits", "**versions**: python",
                  "lava-nc 0.10.0", "**seed of the search**: 0"):
        assert field in report
    demo_schedule = Schedule.load(tmp_path / "demo" / "schedule.json")
    assert str(demo_schedule) in proc.stdout  # the LD schedule the table shows
    proc = run("report", "mlp_digits", "--result", out / "schedule.result.json", "--limit",
               "50", "--timing-repeats", "0", "--lava-samples", "2", "--mode", "pipelined",
               "--out", tmp_path / "rep")
    assert proc.returncode == 0, proc.stderr
    assert ("**Lava check**: Lava simulation agrees with the engine on 2 test samples "
            "(pipelined)") in (tmp_path / "rep" / "report.md").read_text()


def test_estimate_prints_uniform_and_ld_for_a_zoo_model(optimized):
    schedule = optimized[0] / "schedule.json"
    proc = run("estimate", "mlp_digits", "--samples", 20, "--schedule", schedule)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert sum(line.startswith("| uniform") for line in rows) == 2  # sequential, pipelined
    assert sum(line.startswith("| LD") for line in rows) == 2


def test_export_refuses_a_float_network_naming_the_stage(optimized, tmp_path):
    out = tmp_path / "mlp.net"
    proc = run("export", "mlp_digits", optimized[0] / "schedule.json", out)
    assert_user_error(proc, "not exported")
    assert "stage 0" in proc.stdout and "quantize" in proc.stdout
    assert not out.exists()
