"""Wall clock of the given SNN (uniform, base T) against its LD-SNN, side by side in one run.

For every zoo model: the optimizer's schedule (:func:`ldsnn_lava.optimize.optimize`, validation
split, ``--max-drop`` of top-1, default 1 point) and the cheapest uniform schedule within the same
budget (docs/design.md, methodology: both baselines are named), then on the held-out test split:

- accuracy and the work counters of all three (ratios against the given SNN and against the
  cheapest uniform schedule);
- torch engine time per image, all three timed round-robin, with 1 and 2 CPU threads
  (``torch.set_num_threads``: our proxy for an edge-class CPU, not a measured edge device);
- Lava CPU simulation (``to_lava``, step-faithful models) per image, ``sequential`` and
  ``pipelined``, uniform and LD round-robin on ``--lava-samples`` images: only the steps after
  a first, untimed period are timed, on the started runtime (compile, start-up and stop
  excluded; :func:`benchmarks.lava_timing.timed_run`); Lava clock steps are reported beside.
  :mod:`benchmarks.lava_timing` adds the ``window`` models.

Writes ``benchmarks/results/ld_vs_uniform.json``. Usage::

    python -m benchmarks.ld_vs_uniform [--models lenet_mnist5k mlp_digits] [--no-lava]
        [--workers N | --ray-address ADDR]   # the searches on Ray workers (same schedules)
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import statistics
import sys
import time

import torch

from benchmarks.common import interleaved, machine, write_json
from ldsnn_lava import Schedule, evaluate, zoo
from ldsnn_lava.datasets import load as load_dataset
from ldsnn_lava.optimize import make_executor, optimize


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def choose(model, max_drop: float, work_budget: float, executor=None) -> dict:
    """The optimizer's schedule for ``model`` (validation split only), searched on
    ``executor`` (default in process)."""
    x, y = load_dataset(model.dataset).split("validation")
    result = optimize(model.network, base_T=model.base_T, val=(model.preprocess(x), y),
                      max_drop=max_drop, precision=model.precision, work_budget=work_budget,
                      progress=False, executor=executor)
    return {"schedule": result.schedule, "best_uniform": result.best_uniform.schedule,
            "seconds": result.seconds}


def engine_side_by_side(net, schedules: dict[str, Schedule], x, threads: list[int],
                        repeats: int, precision: str) -> dict:
    """Median seconds per image of each schedule, per thread count."""
    out = {}
    before = torch.get_num_threads()
    try:
        for count in threads:
            torch.set_num_threads(count)
            fns = {name: (lambda s=s: evaluate(net, s, x, precision=precision,
                                                record_spikes=False, progress=False))
                   for name, s in schedules.items()}
            timing = interleaved(fns, repeats)
            out[str(count)] = {name: {"s_per_image": t["median_s"] / len(x),
                                      "times_s": t["times_s"]} for name, t in timing.items()}
    finally:
        torch.set_num_threads(before)
    return out


def lava_side_by_side(net, schedules: dict[str, Schedule], x, repeats: int,
                      precision: str) -> dict:
    """Per-image Lava simulation time (step models), sequential and pipelined, round-robin:
    timed steps after a warm-up period, seconds per period (one image per period)."""
    from benchmarks.lava_timing import timed_run

    keys = [(name, mode) for name in schedules for mode in ("sequential", "pipelined")]
    runs: dict[str, list[dict]] = {f"{name}/{mode}": [] for name, mode in keys}
    for _ in range(repeats):
        for name, mode in keys:
            schedule = dataclasses.replace(schedules[name], mode=mode)
            runs[f"{name}/{mode}"].append(timed_run(net, schedule, "step", x, precision))
    out = {}
    for key, results in runs.items():
        out[key] = {"s_per_image": statistics.median(r["s_per_sample"] for r in results),
                    "timed_s": [r["seconds"] for r in results],
                    "clock_steps": {"timed": str(results[0]["timed_steps"]),
                                    "total": str(results[0]["lava_steps"])}}
    return out


def measure(name: str, max_drop: float, threads: list[int], repeats: int, lava: bool,
            lava_samples: int, n_test: int | None, work_budget: float = 100.0,
            executor=None) -> dict:
    model = zoo.load(name)
    net, precision = model.network, model.precision
    chosen = choose(model, max_drop, work_budget, executor)
    schedules = {"uniform": Schedule.uniform(net, model.base_T), "ld": chosen["schedule"],
                 "best_uniform": chosen["best_uniform"]}
    x, y = load_dataset(model.dataset).split("test")
    x = model.preprocess(x)[:n_test]
    y = y[:n_test]
    results = {k: evaluate(net, s, x, precision=precision, record_spikes=False, progress=False)
               for k, s in schedules.items()}
    totals = {k: r.counters.total for k, r in results.items()}
    work = {k: t["synaptic_updates"] + t["input_macs"] for k, t in totals.items()}
    record = {
        "model": name, "dataset": model.dataset, "base_T": model.base_T, "precision": precision,
        "test_samples": len(x), "max_drop": max_drop, "max_drop_unit": "points",
        "work_budget": work_budget,
        "optimize_seconds": chosen["seconds"],
        "schedules": {k: str(s) for k, s in schedules.items()},
        "best_uniform_schedule": str(chosen["best_uniform"]),
        "test_accuracy": {k: r.accuracy(y) for k, r in results.items()},
        "counters": {k: r.counters.total for k, r in results.items()},
        "synaptic_update_reduction": _ratio(work["uniform"], work["ld"]),
        "neuron_reduction": _ratio(totals["uniform"]["neurons_evaluated"],
                                   totals["ld"]["neurons_evaluated"]),
        "vs_best_uniform": {
            "synaptic_update_reduction": _ratio(work["best_uniform"], work["ld"]),
            "neuron_reduction": _ratio(totals["best_uniform"]["neurons_evaluated"],
                                       totals["ld"]["neurons_evaluated"]),
        },
        "engine": engine_side_by_side(net, schedules, torch.as_tensor(x), threads, repeats,
                                      precision),
    }
    record["engine_speedup"] = {
        t: _ratio(v["uniform"]["s_per_image"], v["ld"]["s_per_image"])
        for t, v in record["engine"].items()}
    record["vs_best_uniform"]["engine_speedup"] = {
        t: _ratio(v["best_uniform"]["s_per_image"], v["ld"]["s_per_image"])
        for t, v in record["engine"].items()}
    if lava and importlib.util.find_spec("lava") is not None:
        record["lava"] = lava_side_by_side(net, {k: schedules[k] for k in ("uniform", "ld")},
                                           x[:lava_samples], repeats, precision)
        record["lava_speedup"] = {
            mode: _ratio(record["lava"][f"uniform/{mode}"]["s_per_image"],
                         record["lava"][f"ld/{mode}"]["s_per_image"])
            for mode in ("sequential", "pipelined")}
    return record


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None, help="default: every zoo model")
    parser.add_argument("--max-drop", type=float, default=1.0, help="points (default 1)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--test-samples", type=int, default=None, help="default: whole split")
    parser.add_argument("--no-lava", action="store_true")
    parser.add_argument("--lava-samples", type=int, default=50,
                        help="test images per Lava run (>= 2)")
    parser.add_argument("--work-budget", type=float, default=100.0,
                        help="optimizer work budget in passes of the given SNN (default 100)")
    parser.add_argument("--workers", type=int, default=None,
                        help="run the searches on this many local Ray workers (same result)")
    parser.add_argument("--ray-address", default=None, help="run the searches on this Ray cluster")
    parser.add_argument("--out", default="ld_vs_uniform")
    args = parser.parse_args(argv)
    command = " ".join(["python -m benchmarks.ld_vs_uniform",
                        *(sys.argv[1:] if argv is None else argv)])
    record = {"machine": machine("cpu"), "command": command, "models": [], "skipped": {}}
    with make_executor(args.workers, args.ray_address) as executor:
        for name in args.models or zoo.names():
            start = time.perf_counter()
            try:
                entry = measure(name, args.max_drop, args.threads, args.repeats,
                                not args.no_lava, args.lava_samples, args.test_samples,
                                args.work_budget, executor)
            except (ValueError, NotImplementedError) as err:
                record["skipped"][name] = str(err)
                print(f"{name}: skipped ({err})")
                continue
            entry["benchmark_seconds"] = time.perf_counter() - start
            record["models"].append(entry)
            print(f"{name}: {entry['schedules']}, engine speedup {entry['engine_speedup']}, "
                  f"lava {entry.get('lava_speedup')}", flush=True)
    write_json(args.out, record)
    return record


if __name__ == "__main__":
    main()
