"""How good is the optimizer's search? Against exhaustive search, and against a stronger one.

For each model, on the **validation** split (the split the search sees) with the budget of
``--max-drop`` top-1 below the given SNN:

- ``exhaustive``: every all-``rate`` schedule with T_l in ``1..t_max`` (``--exhaustive``
  ``name=t_max``; only where the grid is small), evaluated with the prefix cache; its cheapest
  in-budget point (uniform schedules included) is the optimum of that grid;
- each search strategy of :func:`ldsnn_lava.optimize.optimize` (``descent``, the default, and
  ``coordinate``) at the same work budget and seed, once with ``max_T = t_max`` (the search
  space of the exhaustive grid, so the gap to the optimum is exact) and once with the default
  ``max_T`` (2 base T).

Costs are synaptic updates plus input MACs per sample. Writes
``benchmarks/results/search_quality.json`` and ``.md``. Usage::

    python -m benchmarks.search_quality --models mlp_digits lenet_mnist5k \\
        --exhaustive mlp_digits=8 lenet_mnist5k=5
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

from benchmarks.common import RESULTS, machine, write_json
from ldsnn_lava import zoo
from ldsnn_lava._io import atomic_write_text
from ldsnn_lava.datasets import load as load_dataset
from ldsnn_lava.optimize import get_cost, optimize, uniform_sweep
from ldsnn_lava.optimize.cache import PrefixCache
from ldsnn_lava.optimize.optimizer import STRATEGIES


def exhaustive(model, x, y, t_max: int, min_accuracy: float) -> dict:
    """The cheapest in-budget schedule among all-rate T_l in 1..t_max and uniform T <= base T."""
    cost = get_cost("synaptic_updates")
    net, start = model.network, time.perf_counter()
    cache = PrefixCache(net, x, y, precision=model.precision)
    best, count = None, 0
    for steps in itertools.product(range(1, t_max + 1), repeat=net.num_stages):
        ev = cache.evaluate(steps)
        count += 1
        c = cost(ev.schedule, ev.counters)
        if ev.accuracy >= min_accuracy and (best is None or c < best["cost"]):
            best = {"schedule": str(ev.schedule), "cost": c, "accuracy": ev.accuracy,
                    "timesteps": list(steps)}
    for ev in uniform_sweep(net, x, y, model.base_T, precision=model.precision):
        c = cost(ev.schedule, ev.counters)
        if ev.accuracy >= min_accuracy and (best is None or c < best["cost"]):
            best = {"schedule": str(ev.schedule), "cost": c, "accuracy": ev.accuracy,
                    "timesteps": list(ev.schedule.timesteps)}
    below = []  # why the optimum is where it is: each stage one step lower
    if best is not None:
        steps = tuple(best["timesteps"])
        for k in range(net.num_stages):
            if steps[k] > 1:
                lower = steps[:k] + (steps[k] - 1,) + steps[k + 1:]
                ev = cache.evaluate(lower)
                below.append({"timesteps": list(lower), "accuracy": ev.accuracy,
                              "cost": cost(ev.schedule, ev.counters)})
    return {"t_max": t_max, "schedules": count, "best": best, "min_accuracy": min_accuracy,
            "one_stage_lower": below, "seconds": time.perf_counter() - start}


def run_search(model, x, y, strategy: str, max_T: int | None, args) -> dict:
    result = optimize(model.network, base_T=model.base_T, val=(x, y), max_drop=args.max_drop,
                      precision=model.precision, work_budget=args.work_budget, max_T=max_T,
                      strategy=strategy, seed=0, progress=False)
    return {"strategy": strategy, "max_T": max_T or 2 * model.base_T,
            "schedule": str(result.schedule), "cost": result.chosen.cost,
            "accuracy": result.chosen.accuracy, "best_uniform_cost": result.best_uniform.cost,
            "given_cost": result.given.cost, "min_accuracy": result.min_accuracy,
            "work": result.work, "evaluations": len(result.visited),
            "seconds": result.seconds}


def measure(name: str, t_max: int | None, args) -> dict:
    model = zoo.load(name)
    x, y = load_dataset(model.dataset).split("validation")
    x = model.preprocess(x)
    entry: dict = {"model": name, "base_T": model.base_T, "stages": model.network.num_stages,
                   "validation_samples": len(y), "searches": []}
    # a search's max_T cannot be below base T: for such grids only the default max_T runs, and
    # its gap is to the grid's optimum (the search may leave the grid)
    grid = [t_max] if t_max and model.base_T <= t_max != 2 * model.base_T else []
    for max_T in grid + [None]:  # None: the default max_T, 2 base T
        for strategy in STRATEGIES:
            entry["searches"].append(run_search(model, x, y, strategy, max_T, args))
            print(name, entry["searches"][-1], flush=True)
    if t_max:
        entry["exhaustive"] = exhaustive(model, x, y, t_max, entry["searches"][0]["min_accuracy"])
        print(name, entry["exhaustive"], flush=True)
    return entry


def _points(record: dict) -> float:
    """The budget in points (records written before budgets were in points hold a fraction)."""
    if record.get("max_drop_unit") == "points":
        return record["max_drop"]
    return 100 * record["max_drop"]


def markdown(record: dict) -> str:
    lines = ["# Search quality", "",
             "Validation split, budget " f"{_points(record):g} point(s) of top-1 below "
             "the given SNN, work budget " f"{record['work_budget']:g} passes, seed 0. Cost: "
             "synaptic updates plus input MACs per sample. Gap: cost / exhaustive optimum of the "
             "same grid (where its t_max is below base T, the search's space is larger than the "
             "grid). Run: `" + record["command"] + "` (load average at start "
             f"{record['machine']['load_average_at_start'][0]:.2f}).", "",
             "| model | stages | base T | max T | strategy | schedule | val acc | cost | "
             "vs cheapest uniform | gap to exhaustive | work (passes) | s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for m in record["models"]:
        ex = m.get("exhaustive")
        for s in m["searches"]:
            gap = "-"
            if ex and ex["best"] and (s["max_T"] == ex["t_max"] or ex["t_max"] < m["base_T"]):
                # the search's space is the grid, or (t_max < base T) larger than it
                gap = f"{s['cost'] / ex['best']['cost']:.3f}"
            lines.append(f"| {m['model']} | {m['stages']} | {m['base_T']} | {s['max_T']} | "
                         f"{s['strategy']} | `{s['schedule']}` | {s['accuracy'] * 100:.1f} | "
                         f"{s['cost']:.4g} | {s['best_uniform_cost'] / s['cost']:.2f}x | {gap} | "
                         f"{s['work']:.1f} | {s['seconds']:.1f} |")
        if ex and ex["best"]:
            b = ex["best"]
            lines.append(f"| {m['model']} | {m['stages']} | {m['base_T']} | {ex['t_max']} | "
                         f"exhaustive ({ex['schedules']} schedules) | `{b['schedule']}` | "
                         f"{b['accuracy'] * 100:.1f} | {b['cost']:.4g} | "
                         f"{m['searches'][0]['best_uniform_cost'] / b['cost']:.2f}x | 1.000 | - | "
                         f"{ex['seconds']:.1f} |")
    for m in record["models"]:
        ex = m.get("exhaustive")
        if ex and ex.get("one_stage_lower"):
            lines += ["", f"{m['model']}: each stage of the exhaustive optimum one step lower "
                      f"(budget: validation accuracy >= {ex['min_accuracy'] * 100:.2f}):", ""]
            lines += [f"- `{p['timesteps']}`: accuracy {p['accuracy'] * 100:.2f}, cost "
                      f"{p['cost']:.4g}" for p in ex["one_stage_lower"]]
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None, help="default: every zoo model")
    parser.add_argument("--exhaustive", nargs="*", default=[],
                        help="name=t_max: enumerate T_l in 1..t_max for that model")
    parser.add_argument("--max-drop", type=float, default=1.0, help="points (default 1)")
    parser.add_argument("--work-budget", type=float, default=100.0)
    parser.add_argument("--out", default="search_quality")
    parser.add_argument("--dir", type=Path, default=RESULTS, help="output folder")
    args = parser.parse_args(argv)
    grids = {k: int(v) for k, v in (item.split("=") for item in args.exhaustive)}
    command = " ".join(["python -m benchmarks.search_quality",
                        *(sys.argv[1:] if argv is None else argv)])
    record = {"machine": machine("cpu"), "command": command, "max_drop": args.max_drop,
              "max_drop_unit": "points",
              "work_budget": args.work_budget, "models": []}
    for name in args.models or zoo.names():
        record["models"].append(measure(name, grids.get(name), args))
    write_json(args.out, record, args.dir)
    atomic_write_text(args.dir / f"{args.out}.md", markdown(record))
    return record


if __name__ == "__main__":
    main()
