"""Smoke runs of the benchmark scripts (no timing is asserted, only that they run and agree)."""

import json

from benchmarks import gpu


def test_gpu_script_runs_on_cpu_quick(tmp_path):
    record = gpu.main(["--device", "cpu", "--quick", "--out", "smoke", "--dir", str(tmp_path)])
    assert json.loads((tmp_path / "smoke.json").read_text()) == json.loads(json.dumps(record))
    (row,) = record["engine"]
    assert set(row["s_per_image"]) == {"uniform", "ld"}
    for entry in record["peers"]["rows"][0]["frameworks"].values():
        if "prediction_agreement" in entry:  # only the peers that are installed
            assert entry["prediction_agreement"] == 1.0
