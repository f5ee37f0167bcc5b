"""Lava wall time of a zoo network under its uniform schedule and an LD schedule, side by side.

The LD schedule is the optimizer's choice (:func:`ldsnn_lava.optimize.optimize`, validation
split, at most ``--max-drop`` below the given SNN). On the first ``--samples`` images of the
test split, both schedules run through Lava's CPU simulation (:func:`to_lava`, float models)
in ``sequential`` and ``pipelined`` mode, timed round-robin. The time of a run on
``--small`` samples is subtracted from the time on ``--samples`` samples, so compile and
process start-up cancel out; the neuron-evaluation and clock-step ratios stand beside the time
ratio. Writes ``benchmarks/results/lava_timing.{json,md}`` atomically. Usage::

    python -m benchmarks.lava_timing [--model mlp_digits] [--samples 200] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from benchmarks.common import RESULTS, interleaved, machine, write_json
from ldsnn_lava import Schedule, evaluate, zoo
from ldsnn_lava._io import atomic_write_text
from ldsnn_lava.clock import total_steps
from ldsnn_lava.datasets import load as load_dataset
from ldsnn_lava.lava_backend import to_lava
from ldsnn_lava.optimize import optimize

MODES = ("sequential", "pipelined")


def _schedules(model, data, max_drop: float) -> dict[str, Schedule]:
    val = (model.preprocess(data.x_val), data.y_val)
    result = optimize(model.network, base_T=model.base_T, val=val, max_drop=max_drop,
                      progress=False)
    return {"uniform": Schedule.uniform(model.network, model.base_T), "ld": result.schedule}


def measure(model_name: str, samples: int, small: int, repeats: int, max_drop: float) -> dict:
    model = zoo.load(model_name)
    data = load_dataset(model.dataset)
    x = model.preprocess(data.x_test[:samples]).astype(np.float64)
    y = data.y_test[:samples]
    base = _schedules(model, data, max_drop)
    rows = []
    for mode in MODES:
        schedules = {name: Schedule(s.timesteps, s.buffers, mode) for name, s in base.items()}
        runners = {name: to_lava(model.network, s) for name, s in schedules.items()}
        fns = {}
        for name, runner in runners.items():
            fns[f"{name}_large"] = lambda r=runner: r.run(x)
            fns[f"{name}_small"] = lambda r=runner: r.run(x[:small])
        times = interleaved(fns, repeats)
        for name, schedule in schedules.items():
            lava = runners[name].run(x)
            ref = evaluate(model.network, schedule, x, dtype=torch.float64)
            per_sample = (times[f"{name}_large"]["median_s"]
                          - times[f"{name}_small"]["median_s"]) / (samples - small)
            rows.append({
                "mode": mode, "schedule": name, "timesteps": list(schedule.timesteps),
                "buffers": list(schedule.buffers),
                "lava_steps": total_steps(schedule, samples),
                "neurons_evaluated": lava.counters.total["neurons_evaluated"],
                "synaptic_updates": lava.counters.total["synaptic_updates"],
                "accuracy": lava.accuracy(y),
                "agreement_with_engine": float(np.mean(lava.predictions == ref.predictions)),
                "seconds_large": times[f"{name}_large"]["median_s"],
                "seconds_small": times[f"{name}_small"]["median_s"],
                "ms_per_sample": 1e3 * per_sample,
            })
    return {"model": model_name, "samples": samples, "small": small, "repeats": repeats,
            "max_drop": max_drop, "machine": machine(), "rows": rows,
            "created": time.strftime("%Y-%m-%d %H:%M:%S")}


def markdown(record: dict) -> str:
    lines = [f"# Lava CPU simulation: uniform vs LD ({record['model']}, "
             f"{record['samples']} test samples)", "",
             "| mode | schedule | timesteps | Lava steps | neurons evaluated / sample | "
             "ms / sample | accuracy | neuron ratio (uniform/LD) | time ratio (uniform/LD) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for mode in MODES:
        rows = {r["schedule"]: r for r in record["rows"] if r["mode"] == mode}
        for name in ("uniform", "ld"):
            r = rows[name]
            ratios = "| |"
            if name == "ld":
                ratios = (f"| {rows['uniform']['neurons_evaluated'] / r['neurons_evaluated']:.2f} "
                          f"| {rows['uniform']['ms_per_sample'] / r['ms_per_sample']:.2f} |")
            lines.append(f"| {mode} | {name} | {r['timesteps']} | {r['lava_steps']} | "
                         f"{r['neurons_evaluated']:.0f} | {r['ms_per_sample']:.2f} | "
                         f"{r['accuracy']:.3f} {ratios}")
    m = record["machine"]
    lines += ["", f"Per-sample time = (median time on {record['samples']} samples - median "
              f"time on {record['small']}) / {record['samples'] - record['small']}, "
              f"{record['repeats']} round-robin repeats; float models; "
              f"machine: {m.get('cpu', '?')}, {m.get('cores', '?')} cores, "
              f"load average at start {m.get('load_average_at_start')}. "
              f"Command: `python -m benchmarks.lava_timing --model {record['model']} "
              f"--samples {record['samples']} --small {record['small']} "
              f"--repeats {record['repeats']}`", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="mlp_digits", choices=zoo.names())
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--max-drop", type=float, default=0.01)
    args = parser.parse_args(argv)
    if not 1 <= args.small < args.samples:
        parser.error("need 1 <= --small < --samples")
    record = measure(args.model, args.samples, args.small, args.repeats, args.max_drop)
    write_json("lava_timing", record)
    text = markdown(record)
    atomic_write_text(RESULTS / "lava_timing.md", text)
    print(text)


if __name__ == "__main__":
    main()
