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

With ``--calibration-samples N`` (float IF models): the search is run a second time with
per-stage threshold calibration (:mod:`ldsnn_lava.optimize.calibrate`, fitted on the first N
images of the training split), the cheapest uniform baseline calibrated the same way, and
both are reported on the test split beside the uncalibrated ones (``calibrated``). With
``--no-timing`` only accuracies and work counters are measured. ``--buffer-kinds rate,graded``
lets the search give each gap a graded buffer too (the calibrated search stays on rate
buffers: calibration is fitted for them).

Writes ``benchmarks/results/ld_vs_uniform.json``. Usage::

    python -m benchmarks.ld_vs_uniform [--models lenet_mnist5k mlp_digits] [--no-lava]
        [--workers N | --ray-address ADDR]   # the searches on Ray workers (same schedules)
        [--shard-threads N]                  # or on N threads of this process
        [--from-result FILE ...]             # the schedules of earlier `ldsnn optimize` runs
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import statistics
import sys
import time

import numpy as np
import torch

from benchmarks.common import interleaved, machine, write_json
from ldsnn_lava import Schedule, evaluate, zoo
from ldsnn_lava.datasets import load as load_dataset
from ldsnn_lava.optimize import OptimizeResult, make_executor, optimize
from ldsnn_lava.optimize.calibrate import scale_thresholds
from ldsnn_lava.optimize.optimizer import STRATEGIES
from ldsnn_lava.options import BufferKind


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def spread(n: int, count: int | None) -> np.ndarray:
    """Indices of ``count`` samples evenly spread over a split of ``n`` (all if ``None``).

    The splits are stored sorted by index and some data sets by class, so the first images of
    a split can all be of one or two classes; evenly spread ones cover every class.
    """
    if count is None or count >= n:
        return np.arange(n)
    return np.linspace(0, n - 1, count).round().astype(np.int64)


def choose(model, max_drop: float, work_budget: float, strategy: str = "descent",
           calibration_x=None, n_val: int | None = None, executor=None,
           buffer_kinds: tuple[str, ...] = ("rate",)) -> dict:
    """The optimizer's schedule for ``model`` (validation split only, ``n_val`` images evenly
    spread over it if given; calibration, if any, on ``calibration_x`` from the training
    split; the gaps' buffers chosen among ``buffer_kinds``), searched on ``executor`` (default
    in process)."""
    x, y = load_dataset(model.dataset).split("validation")
    keep = spread(len(y), n_val)
    x, y = model.preprocess(x)[keep], y[keep]
    result = optimize(model.network, base_T=model.base_T, val=(x, y),
                      max_drop=max_drop, precision=model.precision, work_budget=work_budget,
                      strategy=strategy, calibration_x=calibration_x, progress=False,
                      executor=executor, buffer_kinds=buffer_kinds)
    return searched(result)


def searched(result: OptimizeResult) -> dict:
    """What a table row takes from a search: its schedules, time, calibration and validation
    accuracies."""
    return {"schedule": result.schedule, "best_uniform": result.best_uniform.schedule,
            "seconds": result.seconds, "calibration": result.calibration,
            "validation": {"ld": result.chosen.accuracy,
                           "best_uniform": result.best_uniform.accuracy,
                           "given": result.given.accuracy}}


def from_result(path: str) -> tuple[str, dict]:
    """The zoo model and its search (as :func:`choose` returns it, with the search's command,
    budget and the buffer kinds its LD points used) from a result file of ``ldsnn optimize``
    run on a zoo model with its own data, scaling and precision on the whole validation split:
    the table can then show a search too long to run twice."""
    result = OptimizeResult.load(path)
    info, name = result.info, result.info.get("model")
    if name not in zoo.names():
        raise ValueError(f"{path}: not a search of a zoo model (model {name!r})")
    model = zoo.load(name)
    wanted = {"data": model.dataset, "limit": None, "precision": str(model.precision),
              "input_scale": model.input_scale, "input_shift": model.input_shift}
    for key, value in wanted.items():
        if info.get(key) != value:
            raise ValueError(f"{path}: searched with {key} {info.get(key)!r}; the table needs "
                             f"the zoo model's own ({value!r})")
    allowed = {b for point in result.visited if point.kind == "ld"
               for b in point.schedule.buffers}  # the kinds the search tried
    return name, {**searched(result), "command": info.get("command"),
                  "work_budget": result.work_budget, "max_drop": result.max_drop,
                  "buffer_kinds": [str(k) for k in (BufferKind.RATE, BufferKind.GRADED)
                                   if k in allowed]}


def calibrated(model, max_drop: float, work_budget: float, strategy: str, samples: int,
               x, y, uncalibrated: dict, n_val: int | None = None) -> dict:
    """Search again with per-stage calibration; test accuracy and work of the calibrated LD
    schedule and the calibrated cheapest uniform, with ratios against both baselines."""
    x_train = model.preprocess(load_dataset(model.dataset).split("train")[0])[:samples]
    chosen = choose(model, max_drop, work_budget, strategy, x_train, n_val)
    nets = {k: scale_thresholds(model.network, chosen["calibration"][k])
            for k in ("chosen", "best_uniform")}
    runs = {"ld": evaluate(nets["chosen"], chosen["schedule"], x, record_spikes=False,
                           progress=False),
            "best_uniform": evaluate(nets["best_uniform"], chosen["best_uniform"], x,
                                     record_spikes=False, progress=False)}
    totals = {k: r.counters.total for k, r in runs.items()}
    work = {k: t["synaptic_updates"] + t["input_macs"] for k, t in totals.items()}
    return {
        "schedules": {"ld": str(chosen["schedule"]),
                      "best_uniform": str(chosen["best_uniform"])},
        "calibration": chosen["calibration"], "optimize_seconds": chosen["seconds"],
        "validation_accuracy": chosen["validation"],
        "test_accuracy": {k: r.accuracy(y) for k, r in runs.items()},
        "counters": totals,
        "synaptic_update_reduction": _ratio(uncalibrated["work"], work["ld"]),
        "neuron_reduction": _ratio(uncalibrated["neurons"], totals["ld"]["neurons_evaluated"]),
        "vs_best_uniform": {
            "synaptic_update_reduction": _ratio(work["best_uniform"], work["ld"]),
            "neuron_reduction": _ratio(totals["best_uniform"]["neurons_evaluated"],
                                       totals["ld"]["neurons_evaluated"])},
    }


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
            strategy: str = "descent", calibration_samples: int = 0,
            timing: bool = True, n_val: int | None = None, executor=None,
            buffer_kinds: tuple[str, ...] = ("rate",), chosen: dict | None = None) -> dict:
    """One model's row; ``chosen``: a search done before (:func:`from_result`) instead of a
    new one."""
    model = zoo.load(name)
    net, precision = model.network, model.precision
    chosen = chosen or choose(model, max_drop, work_budget, strategy, n_val=n_val,
                              executor=executor, buffer_kinds=buffer_kinds)
    schedules = {"uniform": Schedule.uniform(net, model.base_T), "ld": chosen["schedule"],
                 "best_uniform": chosen["best_uniform"]}
    x, y = load_dataset(model.dataset).split("test")
    keep = spread(len(y), n_test)
    x, y = model.preprocess(x)[keep], y[keep]
    results = {k: evaluate(net, s, x, precision=precision, record_spikes=False, progress=False)
               for k, s in schedules.items()}
    totals = {k: r.counters.total for k, r in results.items()}
    work = {k: t["synaptic_updates"] + t["input_macs"] for k, t in totals.items()}
    record = {
        "model": name, "dataset": model.dataset, "base_T": model.base_T, "precision": precision,
        "test_samples": len(x), "max_drop": max_drop, "max_drop_unit": "points",
        "work_budget": work_budget, "strategy": strategy, "validation_samples": n_val,
        "buffer_kinds": list(buffer_kinds),
        "optimize_seconds": chosen["seconds"], "validation_accuracy": chosen["validation"],
        "search_command": chosen.get("command"),
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
    }
    if calibration_samples and precision == "float" and tuple(buffer_kinds) == ("rate",):
        record["calibrated"] = calibrated(
            model, max_drop, work_budget, strategy, calibration_samples, x, y,
            {"work": work["uniform"], "neurons": totals["uniform"]["neurons_evaluated"]}, n_val)
    if not timing:
        return record
    record["engine"] = engine_side_by_side(net, schedules, torch.as_tensor(x), threads, repeats,
                                           precision)
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
    parser.add_argument("--test-samples", type=int, default=None,
                        help="N test images evenly spread over the split (default: all)")
    parser.add_argument("--val-samples", type=int, default=None,
                        help="search on N validation images evenly spread over the split "
                             "(default: all)")
    parser.add_argument("--no-lava", action="store_true")
    parser.add_argument("--lava-samples", type=int, default=50,
                        help="test images per Lava run (>= 2)")
    parser.add_argument("--work-budget", type=float, default=100.0,
                        help="optimizer work budget in passes of the given SNN (default 100)")
    parser.add_argument("--strategy", default="descent", choices=STRATEGIES,
                        help="search strategy (see ldsnn_lava.optimize.optimize)")
    parser.add_argument("--calibration-samples", type=int, default=0,
                        help="also search with per-stage calibration fitted on this many "
                             "training images (float IF models; 0: off)")
    parser.add_argument("--buffer-kinds", default="rate",
                        help="comma-separated buffer kinds the search may give each gap: rate, "
                             "graded (default rate; calibration runs with rate only)")
    parser.add_argument("--no-timing", action="store_true",
                        help="accuracy and work counters only (no engine or Lava timing)")
    parser.add_argument("--workers", type=int, default=None,
                        help="run the searches on this many local Ray workers (same result)")
    parser.add_argument("--ray-address", default=None, help="run the searches on this Ray cluster")
    parser.add_argument("--shard-threads", type=int, default=None,
                        help="run the searches on this many threads of this process, one shard "
                             "each (same result)")
    parser.add_argument("--from-result", nargs="+", default=[], metavar="FILE",
                        help="take the schedules of these `ldsnn optimize` result files (zoo "
                             "models, their own data) instead of searching again")
    parser.add_argument("--out", default="ld_vs_uniform")
    args = parser.parse_args(argv)
    command = " ".join(["python -m benchmarks.ld_vs_uniform",
                        *(sys.argv[1:] if argv is None else argv)])
    record = {"machine": machine("cpu"), "command": command, "models": [], "skipped": {}}
    searches = dict(from_result(path) for path in args.from_result)
    with make_executor(args.workers, args.ray_address, threads=args.shard_threads) as executor:
        for name in args.models or list(searches) or zoo.names():
            start, chosen = time.perf_counter(), searches.get(name)
            budget = chosen["work_budget"] if chosen else args.work_budget
            drop = chosen["max_drop"] if chosen else args.max_drop
            kinds = chosen["buffer_kinds"] if chosen else args.buffer_kinds.split(",")
            try:
                entry = measure(name, drop, args.threads, args.repeats,
                                not (args.no_lava or args.no_timing), args.lava_samples,
                                args.test_samples, budget, args.strategy,
                                args.calibration_samples, not args.no_timing, args.val_samples,
                                executor, tuple(kinds), chosen)
            except (ValueError, NotImplementedError) as err:
                record["skipped"][name] = str(err)
                print(f"{name}: skipped ({err})")
                continue
            entry["benchmark_seconds"] = time.perf_counter() - start
            record["models"].append(entry)
            print(f"{name}: {entry['schedules']}, engine speedup {entry.get('engine_speedup')}, "
                  f"lava {entry.get('lava_speedup')}, calibrated "
                  f"{entry.get('calibrated', {}).get('schedules')}", flush=True)
    write_json(args.out, record)
    return record


if __name__ == "__main__":
    main()
