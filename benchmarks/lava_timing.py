"""Lava wall time of zoo networks, uniform vs LD schedule, step and window models, side by side.

For each model the LD schedule is the optimizer's choice (:func:`ldsnn_lava.optimize.optimize`,
validation split, at most ``--max-drop`` below the given SNN); the uniform schedule is the given
SNN at its base T. Both run on the first ``--samples`` test images through Lava's CPU simulation
(:func:`to_lava`, float precision) in four configurations: the step-faithful models
(``model="step"``, one Lava step per timestep, the timing of a Loihi mapping), sequential and
pipelined, and the ``window`` models (one Lava step per window), sequential and pipelined.

Method. Every run builds a fresh process graph for all samples and calls
:meth:`LavaGraph.run` with ``warmup_steps`` = one clock period: the first, untimed call compiles
the graph and starts Lava's processes; only the second call, which runs every remaining step on
the started runtime, is timed (stop excluded). So compile, process start-up and stop never enter
a time, and no difference of two noisy totals is needed. Time per sample = timed seconds /
(timed steps / period): in a steady stream one sample leaves per period (pipelined fill and
drain are inside the timed steps for both schedules alike). The 8 configurations run
round-robin, ``--repeats`` times, and the median is reported, so background load on a shared
machine hits all of them alike. Beside each time ratio (uniform / LD) stand the ratios of
neurons evaluated and of Lava steps. Every run's readout is checked against the torch engine
(agreement of predictions) and window runs against step runs (identical readout sums).

Writes ``benchmarks/results/lava_timing.{json,md}`` atomically. Usage::

    python -m benchmarks.lava_timing [--models lenet_mnist5k mlp_digits] [--samples 100]
                                     [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from ldsnn_lava.processes.graph import to_lava

from benchmarks.common import RESULTS, machine, write_json
from ldsnn_lava import Schedule, evaluate, zoo
from ldsnn_lava._io import atomic_write_text
from ldsnn_lava.clock import stage_windows
from ldsnn_lava.datasets import load as load_dataset
from ldsnn_lava.optimize import optimize

CONFIGS = (("step", "sequential"), ("step", "pipelined"),
           ("window", "sequential"), ("window", "pipelined"))
SCHEDULES = ("uniform", "ld")


def schedules(model, max_drop: float) -> dict[str, Schedule]:
    """The given SNN's uniform schedule and the optimizer's LD schedule (validation split)."""
    x, y = load_dataset(model.dataset).split("validation")
    result = optimize(model.network, base_T=model.base_T, val=(model.preprocess(x), y),
                      max_drop=max_drop, progress=False)
    return {"uniform": Schedule.uniform(model.network, model.base_T), "ld": result.schedule}


def timed_run(net, schedule: Schedule, kind: str, x: np.ndarray, precision: str = "float"
              ) -> dict:
    """One run: untimed first period (compile, start-up), timed rest; returns time and readout
    (for sequence input a sample takes one period per chunk)."""
    runner = to_lava(net, schedule, precision, kind)
    period = stage_windows(schedule, kind)[0].period
    graph = runner.build(x)
    seconds = graph.run(runner.tag, warmup_steps=period)
    readout = graph.readout_sums()
    timed_steps = graph.num_steps - period
    return {"seconds": seconds, "timed_steps": timed_steps, "period": period,
            "lava_steps": graph.num_steps, "readout": readout,
            "s_per_sample": seconds * period / timed_steps * runner.windows_per_sample}


def measure(model_name: str, samples: int, repeats: int, max_drop: float) -> dict:
    model = zoo.load(model_name)
    net = model.network
    x_test, y_test = load_dataset(model.dataset).split("test")
    x = model.preprocess(x_test[:samples]).astype(np.float64)
    y = y_test[:samples]
    chosen = schedules(model, max_drop)
    keys = [(kind, mode, name) for kind, mode in CONFIGS for name in SCHEDULES]
    runs: dict[tuple, list[dict]] = {key: [] for key in keys}
    for _ in range(repeats):
        for kind, mode, name in keys:
            schedule = Schedule(chosen[name].timesteps, chosen[name].buffers, mode)
            runs[(kind, mode, name)].append(timed_run(net, schedule, kind, x))
    engine = {name: evaluate(net, s, x, dtype=torch.float64, progress=False)
              for name, s in chosen.items()}
    rows = []
    for kind, mode, name in keys:
        results = runs[(kind, mode, name)]
        first = results[0]
        step_readout = runs[("step", mode, name)][0]["readout"]
        rows.append({
            "model_kind": kind, "mode": mode, "schedule": name,
            "timesteps": list(chosen[name].timesteps), "buffers": list(chosen[name].buffers),
            "lava_steps": first["lava_steps"], "period": first["period"],
            "timed_steps": first["timed_steps"],
            "neurons_evaluated": engine[name].counters.total["neurons_evaluated"],
            "accuracy": float(np.mean(np.argmax(first["readout"], 1) == y)),
            "agreement_with_engine": float(np.mean(
                np.argmax(first["readout"], 1) == engine[name].predictions)),
            "readout_identical_to_step": bool(np.array_equal(first["readout"], step_readout)),
            "timed_seconds": [r["seconds"] for r in results],
            "ms_per_sample": 1e3 * statistics.median(r["s_per_sample"] for r in results),
            "ms_per_lava_step": 1e3 * statistics.median(
                r["seconds"] / r["timed_steps"] for r in results),
        })
    return {"model": model_name, "samples": samples, "rows": rows}


def _row(rows: list[dict], kind: str, mode: str, name: str) -> dict:
    key = (kind, mode, name)
    return next(r for r in rows if (r["model_kind"], r["mode"], r["schedule"]) == key)


def markdown(record: dict) -> str:
    lines = ["# Lava CPU simulation: uniform vs LD, step-faithful and window models", "",
             "| model | models | mode | schedule | timesteps | Lava steps | ms / Lava step | "
             "ms / sample | accuracy | neuron ratio | step ratio | time ratio |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for entry in record["models"]:
        rows = entry["rows"]
        for kind, mode in CONFIGS:
            uni = _row(rows, kind, mode, "uniform")
            for name in SCHEDULES:
                r = _row(rows, kind, mode, name)
                ratios = "| | |"
                if name == "ld":
                    ratios = (f"| {uni['neurons_evaluated'] / r['neurons_evaluated']:.2f} "
                              f"| {uni['lava_steps'] / r['lava_steps']:.2f} "
                              f"| {uni['ms_per_sample'] / r['ms_per_sample']:.2f} |")
                lines.append(f"| {entry['model']} | {kind} | {mode} | {name} | "
                             f"{r['timesteps']} | {r['lava_steps']} | "
                             f"{r['ms_per_lava_step']:.3f} | {r['ms_per_sample']:.2f} | "
                             f"{r['accuracy']:.3f} {ratios}")
    m = record["machine"]
    lines += ["", "Ratios are uniform / LD (> 1: LD does less, or is faster). "
              f"{record['samples']} test samples per run; only the steps after the first "
              "period are timed (compile, start-up and stop excluded); median of "
              f"{record['repeats']} round-robin repeats; float precision. Every Lava readout "
              "agrees with the torch engine's predictions on "
              f"{record['min_agreement_with_engine']:.3f} or more of the samples; window "
              f"readouts identical to step readouts: {record['window_identical_to_step']}. "
              f"Machine (shared with other jobs): {m.get('cpu', '?')}, {m.get('cores', '?')} "
              f"cores, load average at start {m.get('load_average_at_start')}. "
              f"Command: `python -m benchmarks.lava_timing --models "
              f"{' '.join(e['model'] for e in record['models'])} --samples {record['samples']} "
              f"--repeats {record['repeats']}`", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["lenet_mnist5k", "mlp_digits"],
                        choices=zoo.names())
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-drop", type=float, default=1.0, help="points (default 1)")
    args = parser.parse_args(argv)
    if args.samples < 2 or args.repeats < 1:
        parser.error("need --samples >= 2 and --repeats >= 1")
    record = {"machine": machine(), "samples": args.samples, "repeats": args.repeats,
              "max_drop": args.max_drop, "max_drop_unit": "points", "models": []}
    for name in args.models:
        record["models"].append(measure(name, args.samples, args.repeats, args.max_drop))
        print(f"{name}: done", flush=True)
    rows = [r for e in record["models"] for r in e["rows"]]
    record["min_agreement_with_engine"] = min(r["agreement_with_engine"] for r in rows)
    record["window_identical_to_step"] = all(r["readout_identical_to_step"] for r in rows)
    record["created"] = time.strftime("%Y-%m-%d %H:%M:%S")
    write_json("lava_timing", record)
    text = markdown(record)
    atomic_write_text(RESULTS / "lava_timing.md", text)
    print(text)
    return record


if __name__ == "__main__":
    main()
