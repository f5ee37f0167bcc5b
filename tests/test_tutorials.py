"""The tutorials run as scripts, as a user would run them."""

import subprocess
import sys
from pathlib import Path

TUTORIALS = Path(__file__).parent.parent / "tutorials"


def test_convert_your_torch_model_runs(tmp_path):
    result = subprocess.run([sys.executable, str(TUTORIALS / "convert_your_torch_model.py")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ANN test accuracy" in result.stdout and "LD-SNN [16, 8, 8]: accuracy" in result.stdout


def test_temporal_networks_runs(tmp_path):
    result = subprocess.run([sys.executable, str(TUTORIALS / "temporal_networks.py")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "equal to the shipped output.npy 4 steps later: True" in result.stdout
    assert "slayer_vowels" in result.stdout and "(sequential, chunk 8)" in result.stdout
