"""The toward-Loihi tutorial runs end to end as a script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).parents[1] / "tutorials" / "toward_loihi.py"


@pytest.mark.lava
def test_toward_loihi_tutorial_runs(tmp_path):
    done = subprocess.run([sys.executable, str(TUTORIAL), str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "fixed-point readout identical: True" in done.stdout
    assert "LD/uniform energy" in done.stdout
    assert "|Dense     |" in done.stdout  # lava-dl's own table of the loaded file
    assert (tmp_path / "lava_dl_mnist_ld.net").is_file()
