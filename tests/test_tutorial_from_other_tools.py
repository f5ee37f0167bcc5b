"""The NIR tutorial runs as a script: snnTorch's network read here predicts what snnTorch
predicts, the LD schedule runs in Lava with the engine's results, and goes back to NIR."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).parent.parent / "tutorials" / "from_other_tools.py"


@pytest.mark.lava
def test_from_other_tools_runs(tmp_path):
    result = subprocess.run([sys.executable, str(TUTORIAL), str(tmp_path)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    accuracy = float(re.search(r"snnTorch test accuracy at T=6: ([0-9.]+)", out).group(1))
    assert accuracy > 0.8
    assert "same predictions as snnTorch: 1.000" in out
    assert "same predictions and spike counts as the engine: True" in out
    assert (tmp_path / "digits_snntorch.nir").is_file() and (tmp_path / "digits_ld.nir").is_file()
