"""Every benchmark in one command, and the paper-style results table.

Runs :mod:`benchmarks.ld_vs_uniform` (every zoo model at its optimized schedule) and
:mod:`benchmarks.peers`, writes their JSON under ``benchmarks/results`` and the table
``benchmarks/results/table.md``: network, data set, base T, uniform and LD test accuracy,
synaptic-update and neuron reductions, speedup per platform (CPU 1 thread, CPU 2 threads, Lava
simulation sequential / pipelined; the GPU column only from a ``benchmarks/results/gpu_cuda.json``
written by :mod:`benchmarks.gpu` on a GPU). Usage::

    python -m benchmarks.run_all [--repeats 5] [--quick] [--models NAME ...] [--include JSON ...]
"""

from __future__ import annotations

import argparse
import json

from benchmarks import ld_vs_uniform, peers
from benchmarks.common import RESULTS
from ldsnn_lava._io import atomic_write_text


def _x(value) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _run_line(run: dict) -> str:
    m = run["machine"]
    samples = sorted({r["test_samples"] for r in run["models"]})
    return (f"- `{run.get('command', 'python -m benchmarks.ld_vs_uniform')}`: "
            f"{', '.join(r['model'] for r in run['models'])}; {m['cpu']}, {m['cores']} cores, "
            f"1-minute load average at start {m['load_average_at_start'][0]:.2f}, torch "
            f"{m['torch']}, Python {m['python']}; {'/'.join(map(str, samples))} test images"
            + "".join(f"; {r['model']}'s schedules from `{r['search_command']}`"
                      for r in run["models"] if r.get("search_command")))


def _name(record: dict) -> str:
    """A row's network, with the buffer kinds its search could choose when not just rate and
    its accuracy budget when not 1 point."""
    notes = []
    if record.get("buffer_kinds", ["rate"]) != ["rate"]:
        notes.append("+".join(record["buffer_kinds"]))
    if _points(record) != 1:
        notes.append(f"max drop {_points(record):g}")
    return record["model"] + (f" ({', '.join(notes)})" if notes else "")


def _points(record: dict) -> float:
    """A record's accuracy budget in points (records before the unit was stored held a
    fraction)."""
    if record.get("max_drop_unit") == "points":
        return record["max_drop"]
    return 100 * record["max_drop"]


def table(runs: list[dict], peer: dict | None, gpu: dict | None) -> str:
    """The Markdown results table, one row per model of the ``ld_vs_uniform`` runs."""
    gpu_speedup = {row["model"]: row["speedup"] for row in (gpu or {}).get("engine", [])}
    models = [r for run in runs for r in run["models"]]
    drops = sorted({_points(r) for r in models})
    lines = [
        "# LD-SNN vs the given SNN", "",
        "Speedup = time per image of the uniform schedule at base T / time of the LD schedule, "
        "medians of round-robin repeats in one run. CPU 1 thread is our edge-class proxy, not a "
        "measured edge device. Reductions count input MACs with synaptic updates. A network "
        "named with `(rate+graded)` was searched with graded buffers allowed (`-g-` in its "
        "schedule: one graded spike per neuron carries a window's count), and one with `(max "
        "drop D)` with a budget of D points instead of 1. Test accuracy "
        "on the held-out test split (or part of it where the run says so: `--test-samples N` took "
        "the first N images before, N evenly spread since `--val-samples` exists; the first N of a "
        "class-sorted split can miss classes); schedules "
        f"chosen on the validation split (max drop {'/'.join(f'{d:g}' for d in drops)} points). "
        "Runs:", "", *(_run_line(run) for run in runs), "",
        "| network | dataset | base T | LD schedule | uniform acc | LD acc | syn. update red. "
        "| neuron red. | CPU 1 thr | CPU 2 thr | Lava seq | Lava pipe | GPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in models:
        lava = r.get("lava_speedup", {})
        lines.append(
            f"| {_name(r)} | {r['dataset']} | {r['base_T']} | `{r['schedules']['ld']}` | "
            f"{r['test_accuracy']['uniform'] * 100:.1f} | {r['test_accuracy']['ld'] * 100:.1f} | "
            f"{_x(r['synaptic_update_reduction'])} | {_x(r['neuron_reduction'])} | "
            f"{_x(r.get('engine_speedup', {}).get('1'))} | "
            f"{_x(r.get('engine_speedup', {}).get('2'))} | "
            f"{_x(lava.get('sequential'))} | {_x(lava.get('pipelined'))} | "
            f"{_x(gpu_speedup.get(r['model']))} |")
    lines += ["", "Against the cheapest uniform schedule within the same budget (the obvious "
              "alternative: one smaller T for every layer):", "",
              "| network | cheapest uniform | its acc | LD acc | syn. update red. | neuron red. "
              "| CPU 1 thr | CPU 2 thr |", "|---|---|---|---|---|---|---|---|"]
    for r in models:
        vs = r["vs_best_uniform"]
        lines.append(
            f"| {_name(r)} | `{r['schedules']['best_uniform']}` | "
            f"{r['test_accuracy']['best_uniform'] * 100:.1f} | "
            f"{r['test_accuracy']['ld'] * 100:.1f} | {_x(vs['synaptic_update_reduction'])} | "
            f"{_x(vs['neuron_reduction'])} | {_x(vs.get('engine_speedup', {}).get('1'))} | "
            f"{_x(vs.get('engine_speedup', {}).get('2'))} |")
    calibrated = [r for r in models if "calibrated" in r]
    if calibrated:
        lines += ["", "With per-stage threshold calibration (fitted on the training split for "
                  "each schedule's timesteps; both the LD schedule and the cheapest uniform "
                  "baseline calibrated; reductions against the uncalibrated given SNN and the "
                  "calibrated cheapest uniform; uncalibrated LD beside):", "",
                  "| network | search | LD schedule (calibrated) | thresholds x | LD acc | "
                  "calibrated cheapest uniform | its acc | syn. red. vs given | neuron red. vs "
                  "given | syn. red. vs cal. uniform | neuron red. vs cal. uniform | "
                  "uncal. syn. red. vs uniform |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in calibrated:
            c = r["calibrated"]
            factors = "/".join(f"{f:g}" for f in c["calibration"]["chosen"])
            lines.append(
                f"| {r['model']} | {r.get('strategy', 'descent')} | `{c['schedules']['ld']}` | "
                f"{factors} | {c['test_accuracy']['ld'] * 100:.1f} | "
                f"`{c['schedules']['best_uniform']}` | "
                f"{c['test_accuracy']['best_uniform'] * 100:.1f} | "
                f"{_x(c['synaptic_update_reduction'])} | {_x(c['neuron_reduction'])} | "
                f"{_x(c['vs_best_uniform']['synaptic_update_reduction'])} | "
                f"{_x(c['vs_best_uniform']['neuron_reduction'])} | "
                f"{_x(r['vs_best_uniform']['synaptic_update_reduction'])} |")
    for name, why in ((n, w) for run in runs for n, w in run["skipped"].items()):
        lines.append(f"\nSkipped `{name}`: {why}")
    lines += ["", "Lava per-image seconds (step models; steps timed after an untimed warm-up "
              "period on the started runtime) and clock steps:", "",
              "| network | run | s/image | clock steps (timed/total) |", "|---|---|---|---|"]
    for r in models:
        for key, v in r.get("lava", {}).items():
            lines.append(f"| {r['model']} | {key} | {v['s_per_image']:.4f} | "
                         f"{'/'.join(v['clock_steps'].values())} |")
    if peer:
        lines += ["", "## Peers (same network, same weights, uniform T)", "",
                  peers.markdown(peer)]
    return "\n".join(lines) + "\n"


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="200 test images, 2 repeats")
    parser.add_argument("--models", nargs="+", default=None, help="default: every zoo model")
    parser.add_argument("--include", nargs="+", default=[], metavar="NAME",
                        help="also tabulate these earlier ld_vs_uniform result JSONs (names "
                             "under benchmarks/results, e.g. a slow model run on its own)")
    parser.add_argument("--table-only", action="store_true",
                        help="run nothing: tabulate the --include JSONs (and the peers JSON "
                             "already in benchmarks/results)")
    args = parser.parse_args(argv)
    if args.table_only:
        earlier = [json.loads((RESULTS / f"{name}.json").read_text()) for name in args.include]
        peer_path = RESULTS / "peers_cpu.json"
        peer = json.loads(peer_path.read_text()) if peer_path.is_file() else None
        text = table(earlier, peer, None)
        atomic_write_text(RESULTS / "table.md", text)
        print(text)
        return text
    repeats = 2 if args.quick else args.repeats
    extra = ["--test-samples", "200"] if args.quick else []
    if args.models:
        extra += ["--models", *args.models]
    ld = ld_vs_uniform.main(["--repeats", str(repeats), *extra])
    peer = peers.main(["--repeats", str(repeats), "--threads", "2"])
    gpu_path = RESULTS / "gpu_cuda.json"
    gpu = json.loads(gpu_path.read_text()) if gpu_path.is_file() else None
    earlier = [json.loads((RESULTS / f"{name}.json").read_text()) for name in args.include]
    text = table([ld, *earlier], peer, gpu)
    atomic_write_text(RESULTS / "table.md", text)
    print(text)
    return text


if __name__ == "__main__":
    main()
