"""The search on 1 and 2 local Ray workers against the in-process search, and its expected
scaling on N workers, measured side by side in one run.

Measured:

- ``optimize()`` end to end, wall clock, after a first (untimed, warm-up) run whose result is
  the reference: round-robin ``--repeats`` times in process with one thread (one worker's
  share of the machine, without Ray), in process with torch's default threads (the default)
  and on each ``--workers`` count of local Ray workers (one thread each). Every result is
  checked equal to the reference (schedule, history, every visited point, work charged): only
  time differs.
- The search's own sequence of evaluations (uniform sweep, then every schedule it evaluated, in
  its order) replayed on each configuration: wall clock and each worker's CPU seconds. CPU
  seconds depend much less than wall clock on what else loads the machine (not at all on
  how many processes share the cores, somewhat through shared caches).
- Ray's start-up and one round trip to the workers (a call that does no work).

Expected scaling on N workers (a simulation: each worker's compute is measured, the parallelism
is assumed): every evaluation runs on N shards of about n/N samples at once, so the search takes
about ``coordinator + cold start + (uniform sweep and evaluations on the largest shard, ceil(n/N)
samples) + evaluations * round trip`` (see :func:`expected_scaling`). Beside it, the stage work
that sharding *candidates* instead of samples would cost (each worker caching its own prefixes
over the whole split, evaluations dealt round-robin) is computed from the same sequence.

Writes ``benchmarks/results/<out>.json`` and ``<out>.md``. Usage::

    python -m benchmarks.scaling [--model lenet_mnist5k] [--work-budget 100] [--workers 1 2]
        [--simulate 4 8 16 32] [--repeats 1] [--limit N] [--out scaling]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import torch

from benchmarks.common import RESULTS, machine, write_json
from ldsnn_lava import zoo
from ldsnn_lava._io import atomic_write_text
from ldsnn_lava.datasets import load as load_dataset
from ldsnn_lava.optimize import optimize
from ldsnn_lava.optimize.cache import PrefixIndex, ld_schedule
from ldsnn_lava.optimize.executor import Executor, InProcessExecutor
from ldsnn_lava.optimize.ray_executor import RayExecutor
from ldsnn_lava.optimize.search import stage_work


def one_thread(fn: Callable):
    """``fn()`` with one torch thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn()
    finally:
        torch.set_num_threads(before)


def same_result(a, b) -> bool:
    da, db = a.to_dict(), b.to_dict()
    da.pop("seconds"), db.pop("seconds")
    return da == db


def replay(executor: Executor, problem: dict, sequence: list[tuple]) -> dict:
    """The search's evaluations on ``executor``: wall clock, and each worker's CPU seconds."""
    x, y = problem["val"]
    with executor.open_split(problem["net"], x, y, precision=problem["precision"],
                             batch_size=problem["batch_size"]) as split:
        split.worker_cpu_seconds()  # the workers are up before the clock starts
        start = time.perf_counter()
        split.uniform_sweep(problem["base_T"])
        uniform = time.perf_counter() - start
        for steps, buffers in sequence:
            split.evaluate(steps, buffers)
        wall = time.perf_counter() - start
        cpu = split.worker_cpu_seconds()
    return {"samples": len(y), "wall_s": wall, "uniform_sweep_wall_s": uniform,
            "worker_cpu_s": cpu}


def round_trip_s(executor: Executor, problem: dict, calls: int = 50) -> dict:
    """Seconds from opening a split to its workers answering, and the median seconds of a call
    to every worker that does no work."""
    start = time.perf_counter()
    with executor.open_split(problem["net"], *problem["val"]) as split:
        split.worker_cpu_seconds()
        up = time.perf_counter() - start
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            split.worker_cpu_seconds()
            times.append(time.perf_counter() - start)
    return {"workers_up_s": up, "round_trip_s": statistics.median(times)}


def candidate_sharding_work(net, samples: int, sequence, workers: int, base_T: int) -> dict:
    """Stage work (passes of the given SNN) when evaluations, not samples, are dealt to
    ``workers`` workers round-robin, each with its own prefix cache over the whole split."""
    weights = stage_work(net)
    pass_work = float(weights.sum() * base_T)

    def work(steps, start):
        return float(weights[start:] @ np.asarray(steps[start:], dtype=np.float64)) / pass_work

    schedules = [ld_schedule(steps, buffers=buffers) for steps, buffers in sequence]
    single = PrefixIndex(net, samples, 512e6)
    sample_sharding = sum(work(s.timesteps, single.record(s)) for s in schedules)
    indexes = [PrefixIndex(net, samples, 512e6) for _ in range(workers)]
    per_worker = np.zeros(workers)
    for i, s in enumerate(schedules):
        per_worker[i % workers] += work(s.timesteps, indexes[i % workers].record(s))
    return {"workers": workers, "work_total": float(per_worker.sum()),
            "work_busiest_worker": float(per_worker.max()),
            "work_sample_sharding": sample_sharding,
            "efficiency": sample_sharding / (workers * float(per_worker.max()))}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet_mnist5k")
    parser.add_argument("--work-budget", type=float, default=100.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--simulate", type=int, nargs="*", default=[4, 8, 16, 32])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None, help="first N validation samples")
    parser.add_argument("--out", default="scaling")
    args = parser.parse_args(argv)
    import ray

    model = zoo.load(args.model)
    x, y = load_dataset(model.dataset).split("validation")
    x, y = model.preprocess(x[:args.limit]), y[:args.limit]
    net = model.network
    problem = {"net": net, "val": (x, y), "base_T": model.base_T, "precision": model.precision,
               "batch_size": None}  # the engine's default, as optimize() uses
    kwargs = dict(base_T=model.base_T, val=(x, y), max_drop=1.0, precision=model.precision,
                  work_budget=args.work_budget, progress=False)
    record = {"command": "python -m benchmarks.scaling "
              + " ".join(sys.argv[1:] if argv is None else argv),
              "machine": machine(), "model": args.model, "samples": len(y),
              "work_budget": args.work_budget}

    # the first run, in process with one thread, is the reference result; it also warms up
    # this process (torch's kernels for every shape the search meets), so it is not timed
    cpu, wall = time.process_time(), time.perf_counter()
    reference = one_thread(lambda: optimize(net, **kwargs))
    record["first_run_one_thread"] = {"wall_s": time.perf_counter() - wall,
                                      "cpu_s": time.process_time() - cpu}
    sequence = [(p.schedule.timesteps, p.schedule.buffers) for p in reference.visited
                if p.kind == "ld"]
    record["evaluations"] = len(sequence)
    record["schedule"] = list(reference.schedule.timesteps)

    start = time.perf_counter()
    ray.init(num_cpus=max(args.workers), include_dashboard=False, logging_level="warning")
    record["ray_init_s"] = time.perf_counter() - start
    record["ray"] = {}
    for w in args.workers:
        with RayExecutor(w) as executor:
            record["ray"][str(w)] = round_trip_s(executor, problem)

    configs: dict[str, Callable] = {
        "in process, 1 thread": lambda: one_thread(lambda: optimize(net, **kwargs)),
        "in process": lambda: optimize(net, **kwargs)}
    replays: dict[str, Callable] = {
        "in process, 1 thread": lambda: one_thread(
            lambda: replay(InProcessExecutor(), problem, sequence))}
    for w in args.workers:
        name = f"Ray, {w} worker{'s' if w > 1 else ''}"
        configs[name] = lambda w=w: _on_ray(w, net, kwargs)
        replays[name] = lambda w=w: _on_ray_replay(w, problem, sequence)
    runs: dict[str, list[dict]] = {name: [] for name in configs}
    record["replay"] = {name: [] for name in replays}
    for repeat in range(args.repeats):
        for name in _rotated(list(configs), repeat):
            cpu, wall = time.process_time(), time.perf_counter()
            result = configs[name]()
            runs[name].append({"wall_s": time.perf_counter() - wall,
                               "driver_cpu_s": time.process_time() - cpu})
            if not same_result(result, reference):
                raise AssertionError(f"{name}: result differs from the in-process search")
        for name in _rotated(list(replays), repeat):
            record["replay"][name].append(replays[name]())
    ray.shutdown()
    record["optimize"] = {
        name: {"median_wall_s": statistics.median(r["wall_s"] for r in rs),
               "median_driver_cpu_s": statistics.median(r["driver_cpu_s"] for r in rs),
               "runs": rs} for name, rs in runs.items()}
    record["load_average_after_timed_runs"] = list(os.getloadavg())

    n = len(y)
    record["simulated"] = {}
    for N in args.simulate:
        if N > n:
            continue
        m = math.ceil(n / N)
        shard = dict(problem, val=(x[:m], y[:m]))
        record["simulated"][str(N)] = one_thread(
            lambda shard=shard: replay(InProcessExecutor(), shard, sequence))
    record["candidate_sharding"] = [candidate_sharding_work(net, n, sequence, N, model.base_T)
                                    for N in [2, *args.simulate]]
    record["expected"] = expected_scaling(record, args.workers)
    record["load_average_at_end"] = list(os.getloadavg())
    write_json(args.out, record)
    atomic_write_text(RESULTS / f"{args.out}.md", markdown(record))
    return record


def _rotated(names: list[str], repeat: int) -> list[str]:
    """Round-robin order of repeat ``repeat``: each configuration goes first in turn."""
    k = repeat % len(names)
    return names[k:] + names[:k]


def _on_ray(workers: int, net, kwargs: dict):
    with RayExecutor(workers) as executor:
        return optimize(net, executor=executor, **kwargs)


def _on_ray_replay(workers: int, problem: dict, sequence):
    with RayExecutor(workers) as executor:
        return replay(executor, problem, sequence)


def _worker_cpu(record: dict, name: str, which=max) -> float:
    """Median over repeats of the busiest (``which``) worker's CPU seconds in replay ``name``."""
    return statistics.median(which(r["worker_cpu_s"]) for r in record["replay"][name])


def expected_scaling(record: dict, workers: list[int]) -> dict:
    """Predicted seconds on N workers, from CPU seconds measured here:

    ``coordinator + cold start + busiest shard + evaluations * round trip``, where the
    coordinator is the one-thread search's CPU seconds less its evaluations', the cold start is
    what a fresh worker process spends more than this warm one on the same evaluations (the Ray
    1-worker replay less the in-process one), and the busiest shard's CPU seconds come from the
    Ray replays for ``workers`` and from the replays on one ceil(n/N)-sample shard otherwise."""
    in_process = _worker_cpu(record, "in process, 1 thread")
    search = record["optimize"]["in process, 1 thread"]["median_driver_cpu_s"]
    coordinator = max(0.0, search - in_process)
    cold = max(0.0, _worker_cpu(record, "Ray, 1 worker") - in_process) \
        if "Ray, 1 worker" in record["replay"] else 0.0
    trip = record["ray"][str(max(workers))]["round_trip_s"] * record["evaluations"]
    rows = []
    for w in workers:
        name = f"Ray, {w} worker{'s' if w > 1 else ''}"
        rows.append({"workers": w, "how": "Ray replay, busiest worker",
                     "shard_cpu_s": _worker_cpu(record, name), "cold_start_s": 0.0})
    for N, rep in record["simulated"].items():
        rows.append({"workers": int(N), "how": f"one shard of {rep['samples']} samples",
                     "shard_cpu_s": rep["worker_cpu_s"][0], "cold_start_s": cold,
                     "per_sample_cost_vs_whole_split":
                         rep["worker_cpu_s"][0] * int(N) / in_process})
    for row in rows:
        row["predicted_s"] = coordinator + row["cold_start_s"] + row["shard_cpu_s"] + trip
        row["speedup"] = search / row["predicted_s"]
        row["efficiency"] = row["speedup"] / row["workers"]
    return {"search_cpu_s": search, "evaluations_cpu_s": in_process,
            "coordinator_cpu_s": coordinator, "cold_start_cpu_s": cold,
            "round_trips_s": trip, "rows": rows}


def markdown(record: dict) -> str:
    m, first, exp = record["machine"], record["first_run_one_thread"], record["expected"]
    lines = [
        f"# Search scaling: {record['model']}, {record['samples']} validation samples, work "
        f"budget {record['work_budget']:g}", "",
        f"`{record['command']}` on {m['cpu']} ({m['cores']} cores), load average "
        f"{m['load_average_at_start'][0]:.2f} at start, "
        f"{record['load_average_after_timed_runs'][0]:.2f} after the timed runs. The search "
        f"evaluates {record['evaluations']} schedules after the uniform sweep; every run's "
        f"result equals the first one. First run (in process, one thread, cold): "
        f"{first['wall_s']:.1f} s, {first['cpu_s']:.1f} CPU s. Ray start-up "
        f"{record['ray_init_s']:.1f} s (not included below); workers up, round trip: "
        + ", ".join(f"{k} worker(s) {v['workers_up_s']:.1f} s, {1e3 * v['round_trip_s']:.1f} ms"
                    for k, v in record["ray"].items()) + ".", "",
        "`optimize()` end to end (wall clock, with starting the workers; CPU seconds of this "
        "process, which for Ray runs is the coordinator only):", "",
        "| run | median s | vs in process | vs in process, 1 thread | this process CPU s |",
        "|---|---|---|---|---|"]
    runs = record["optimize"]
    base = runs["in process"]["median_wall_s"]
    single = runs["in process, 1 thread"]["median_wall_s"]
    for name, r in runs.items():
        lines.append(f"| {name} | {r['median_wall_s']:.1f} | {base / r['median_wall_s']:.2f}x | "
                     f"{single / r['median_wall_s']:.2f}x | {r['median_driver_cpu_s']:.1f} |")
    lines += ["", "The search's evaluations replayed (uniform sweep and every evaluation, in the "
              "search's order): wall clock and each worker's CPU seconds:", "",
              "| run | wall s | worker CPU s |", "|---|---|---|"]
    for name, reps in record["replay"].items():
        for r in reps:
            lines.append(f"| {name} | {r['wall_s']:.1f} | "
                         f"{', '.join(f'{c:.1f}' for c in r['worker_cpu_s'])} |")
    per_eval = exp["evaluations_cpu_s"] / max(1, record["evaluations"])
    lines += ["", f"Per-candidate cost (one thread, whole split, warm): {per_eval:.2f} CPU s on "
              f"average over the {record['evaluations']} evaluations (uniform sweep included). "
              f"Search {exp['search_cpu_s']:.1f} CPU s = evaluations "
              f"{exp['evaluations_cpu_s']:.1f} + coordinator {exp['coordinator_cpu_s']:.1f}; a "
              f"fresh worker spends {exp['cold_start_cpu_s']:.1f} CPU s more (cold start); round "
              f"trips {exp['round_trips_s']:.2f} s in all.", "",
              "Expected on N workers (coordinator + cold start + busiest shard + round trips; "
              "CPU seconds measured here, the parallelism assumed), against the one-thread "
              "search:", "",
              "| workers | busiest shard from | its CPU s | predicted s | speedup | efficiency | "
              "per-sample cost vs whole split |", "|---|---|---|---|---|---|---|"]
    for row in exp["rows"]:
        ratio = row.get("per_sample_cost_vs_whole_split")
        lines.append(f"| {row['workers']} | {row['how']} | {row['shard_cpu_s']:.1f} | "
                     f"{row['predicted_s']:.1f} | {row['speedup']:.2f}x | "
                     f"{100 * row['efficiency']:.0f} % | "
                     f"{'' if ratio is None else f'{ratio:.2f}'} |")
    lines += ["", "Sharding candidates instead of samples (each worker caching its own prefixes "
              "over the whole split; stage work computed, in passes of the given SNN):", "",
              "| workers | total work | busiest worker | sample sharding (total) | "
              "best efficiency |", "|---|---|---|---|---|"]
    for row in record["candidate_sharding"]:
        lines.append(f"| {row['workers']} | {row['work_total']:.1f} | "
                     f"{row['work_busiest_worker']:.1f} | {row['work_sample_sharding']:.1f} | "
                     f"{100 * row['efficiency']:.0f} % |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
