"""Smoke runs of the benchmark scripts (no timing is asserted, only that they run and agree)."""

import json

from benchmarks import gpu, peers


def test_gpu_script_runs_on_cpu_quick(tmp_path):
    record = gpu.main(["--device", "cpu", "--quick", "--out", "smoke", "--dir", str(tmp_path)])
    assert json.loads((tmp_path / "smoke.json").read_text()) == json.loads(json.dumps(record))
    (row,) = record["engine"]
    assert set(row["s_per_image"]) == {"uniform", "ld"}
    for name, entry in record["peers"]["rows"][0]["frameworks"].items():
        if name in peers.SAME_NEURON and "prediction_agreement" in entry:  # installed peers
            assert entry["prediction_agreement"] == 1.0
