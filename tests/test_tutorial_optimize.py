"""tutorials/optimize_your_network.py runs and produces its schedule and report."""

import subprocess
import sys
from pathlib import Path

from ldsnn_lava import Schedule

TUTORIAL = Path(__file__).parents[1] / "tutorials" / "optimize_your_network.py"


def test_tutorial_runs(tmp_path):
    proc = subprocess.run([sys.executable, str(TUTORIAL), str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "cheapest uniform schedule in the same budget" in proc.stdout
    assert "Wall-clock: median of 5 timed runs per schedule" in proc.stdout
    assert Schedule.load(tmp_path / "schedule.json").num_stages == 3
    assert (tmp_path / "report.md").is_file() and (tmp_path / "pareto.png").is_file()
