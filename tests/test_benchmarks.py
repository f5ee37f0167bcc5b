"""Smoke runs of the benchmark scripts (no timing is asserted, only that they run and agree)."""

import json

import pytest

from benchmarks import gpu, peers


def test_gpu_script_runs_on_cpu_quick(tmp_path):
    record = gpu.main(["--device", "cpu", "--quick", "--out", "smoke", "--dir", str(tmp_path)])
    assert json.loads((tmp_path / "smoke.json").read_text()) == json.loads(json.dumps(record))
    (row,) = record["engine"]
    assert set(row["s_per_image"]) == {"uniform", "ld"}
    frameworks = record["peers"]["rows"][0]["frameworks"]
    for name in peers.RUNNERS:  # the set-up installs every peer: none may be skipped
        assert "prediction_agreement" in frameworks[name], (name, frameworks[name])
    for name in peers.SAME_NEURON:
        assert frameworks[name]["prediction_agreement"] == 1.0, name


@pytest.mark.lava
def test_lava_step_cost_runs(tmp_path):
    from benchmarks import lava_step_cost

    record = lava_step_cost.main(["--n-in", "16", "--n-out", "8", "--steps", "20",
                                  "--samples", "2", "--repeats", "1", "--dir", str(tmp_path)])
    assert set(record["layer"]["us_per_step"]) == set(lava_step_cost.LAYER_KINDS)
    assert set(record["network"]["ms_per_sample"]) == set(lava_step_cost.NETWORK_KINDS)
    assert (tmp_path / "lava_step_cost.md").read_text().startswith("# Lava step cost")


def test_search_quality_runs_and_no_search_beats_the_exhaustive_optimum(tmp_path):
    from benchmarks import search_quality

    record = search_quality.main(["--models", "mlp_digits", "--exhaustive", "mlp_digits=4",
                                  "--work-budget", "5", "--dir", str(tmp_path)])
    (entry,) = record["models"]
    optimum = entry["exhaustive"]["best"]["cost"]
    assert entry["exhaustive"]["schedules"] == 64
    on_grid = [s for s in entry["searches"] if s["max_T"] == 4]
    assert {s["strategy"] for s in on_grid} == {"descent", "coordinate"}
    for search in on_grid:
        assert search["cost"] >= optimum * (1 - 1e-12)
        assert search["accuracy"] >= search["min_accuracy"]
    assert (tmp_path / "search_quality.md").read_text().startswith("# Search quality")


def test_ld_vs_uniform_with_graded_buffers_is_tabulated_as_such():
    from benchmarks import ld_vs_uniform, run_all

    entry = ld_vs_uniform.measure("mlp_digits", 1.0, [1], 1, False, 2, 60, work_budget=5,
                                  timing=False, n_val=80, buffer_kinds=("rate", "graded"))
    assert entry["buffer_kinds"] == ["rate", "graded"]
    assert entry["test_samples"] == 60
    assert entry["test_accuracy"]["ld"] >= 0 and entry["synaptic_update_reduction"] > 0
    run = {"machine": {"cpu": "c", "cores": 2, "load_average_at_start": [0.0], "torch": "t",
                       "python": "p"}, "command": "cmd", "models": [entry], "skipped": {}}
    text = run_all.table([run], None, None)
    assert "| mlp_digits (rate+graded) | digits |" in text
    assert f"`{entry['schedules']['ld']}`" in text


def test_ld_vs_uniform_tabulates_an_earlier_ldsnn_optimize_run(tmp_path):
    from benchmarks import ld_vs_uniform
    from ldsnn_lava.cli import main as ldsnn

    quick = ["--timing-repeats", "0", "--lava-samples", "0", "--work-budget", "3"]
    assert ldsnn(["optimize", "mlp_digits", *quick, "--out", str(tmp_path / "s.json")]) == 0
    name, chosen = ld_vs_uniform.from_result(str(tmp_path / "s.result.json"))
    assert name == "mlp_digits" and chosen["work_budget"] == 3
    assert chosen["command"].startswith("ldsnn optimize mlp_digits")
    entry = ld_vs_uniform.measure(name, 1.0, [1], 1, False, 2, 50, timing=False, chosen=chosen)
    assert entry["schedules"]["ld"] == str(chosen["schedule"])
    assert entry["search_command"] == chosen["command"]

    assert ldsnn(["optimize", "mlp_digits", *quick, "--limit", "100",
                  "--out", str(tmp_path / "part.json")]) == 0
    with pytest.raises(ValueError, match="limit 100"):
        ld_vs_uniform.from_result(str(tmp_path / "part.result.json"))


def test_int8_benchmark_times_equal_results_with_and_without_the_8bit_path():
    from benchmarks import int8 as bench
    from ldsnn_lava.engine import int8

    if not int8.available("cpu"):
        pytest.skip("this torch build has no oneDNN quantized ops")
    row = bench.end_to_end("lenet_mnist5k", 8, 1)  # raises if the results differ
    assert row["T"] == 5 and row["samples"] == 8
    assert row["int8_s"] > 0 and row["float32_s"] > 0
    assert len(row["times_s"]["int8"]) == len(row["times_s"]["float32"]) == 1
    assert "lenet_mnist5k stage 1 conv" in [name for name, _, _ in bench.layers()]
