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
