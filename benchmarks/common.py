"""Shared benchmark helpers: machine record, interleaved timing, atomic JSON output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

import ldsnn_lava
from ldsnn_lava._io import atomic_write_text

RESULTS = Path(__file__).parent / "results"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine(device: str = "cpu") -> dict:
    """What the numbers were measured on."""
    record = {
        "cpu": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
        "ldsnn_lava": ldsnn_lava.__version__, "device": device,
        "load_average_at_start": list(os.getloadavg()),
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        record["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return record


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, device: str = "cpu"
                ) -> dict[str, dict]:
    """Time every function ``repeats`` times, round-robin (so background load hits all alike).

    Returns per name the median and all times in seconds, after one untimed warm-up call each.
    """
    for fn in fns.values():
        fn()
        sync(device)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: {"median_s": statistics.median(t), "times_s": t} for name, t in times.items()}


def write_json(name: str, record: dict, directory: Path = RESULTS) -> Path:
    """Write ``record`` to ``directory/name.json`` atomically."""
    path = directory / f"{name}.json"
    atomic_write_text(path, json.dumps(record, indent=1) + "\n")
    return path
