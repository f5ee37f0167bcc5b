"""The Lava tutorials run as scripts and agree with the torch engine."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).parent.parent / "tutorials" / "lava_by_hand.py"


@pytest.mark.lava
def test_lava_by_hand_runs(tmp_path):
    result = subprocess.run([sys.executable, str(TUTORIAL)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Lava ran 320 steps for 40 samples" in result.stdout
    assert "same predictions and spike counts as the torch engine: True" in result.stdout
    accuracy = float(re.search(r"Lava accuracy: ([0-9.]+)", result.stdout).group(1))
    assert 0.5 < accuracy <= 1.0


SCRIPT_TUTORIAL = Path(__file__).parent.parent / "tutorials" / "ldsnn_in_a_lava_script.py"


@pytest.mark.lava
def test_ldsnn_in_a_lava_script_runs(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT_TUTORIAL)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "stages built from Lava's own processes: [1, 2]" in result.stdout
    assert "equal to the network's: True" in result.stdout
    assert "same readout sums and hidden-layer spike counts as the torch engine: True" in (
        result.stdout)
