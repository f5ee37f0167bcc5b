"""Seconds per image of every backend on the zoo's LD schedules, side by side, end to end.

For each model its LD schedule (:data:`LD_SCHEDULES`, the ones in ``results/table.md``) runs on
the first ``--samples`` test images, in the model's precision, with each backend as a user calls
it, everything included (building, compiling or starting a runtime, running, reading results):

- ``engine``: :func:`ldsnn_lava.evaluate` (torch, CPU, float32 in float precision);
- ``lava-step`` / ``lava-window``: ``to_lava(..., model=...).run(x)``, Lava's CPU simulation
  with its step-faithful or window process models;
- ``brian2``: ``to_brian2(...).run(x)``, Brian2 2.9 with its numpy code generation.

The backends run round-robin, ``--repeats`` times after one untimed warm-up call each
(:func:`benchmarks.common.interleaved`), so background load hits all alike; reported are the
median seconds per image and the spread (min-max) of the repeats. Every backend's spike counts
and predictions are compared with the engine's float64 result (``agrees``).

Writes ``benchmarks/results/<out>.{json,md}`` atomically. Usage::

    python -m benchmarks.backend_speed [--models lenet_mnist5k mlp_digits lava_dl_mnist]
        [--backends engine lava-step lava-window brian2] [--samples 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from benchmarks.common import RESULTS, interleaved, machine, write_json
from ldsnn_lava import Schedule, datasets, evaluate, zoo
from ldsnn_lava._io import atomic_write_text

LD_SCHEDULES = {
    "lenet_mnist5k": Schedule([2, 3, 3, 3, 3], "rate"),
    "mlp_digits": Schedule([2, 2, 2], "replay"),
    "lava_dl_mnist": Schedule([1, 2, 1, 1], "rate"),
    "vgg_animal_mnist": Schedule([37, 37, 18, 18, 37, 37], "rate"),
}
"""Each zoo model's LD schedule as the optimizer chose it (``results/table.md``)."""


def _runner(backend: str, model, schedule: Schedule, x: np.ndarray):
    """A no-argument call that evaluates ``x`` with ``backend`` and returns its result."""
    net, precision = model.network, model.precision
    if backend == "engine":
        return lambda: evaluate(net, schedule, x, precision=precision, progress=False)
    if backend.startswith("lava-"):
        from ldsnn_lava.processes.graph import to_lava

        kind = backend.removeprefix("lava-")
        return lambda: to_lava(net, schedule, precision, kind).run(x)
    if backend == "brian2":
        from ldsnn_lava.brian2_backend import to_brian2

        return lambda: to_brian2(net, schedule, precision).run(x)
    raise ValueError(f"unknown backend {backend!r}")


def _agrees(result, reference) -> bool:
    same_counts = all(np.array_equal(a, b) for a, b in
                      zip(result.spike_counts, reference.spike_counts, strict=True))
    return same_counts and bool(np.array_equal(result.predictions, reference.predictions))


def measure(name: str, backends: list[str], samples: int, repeats: int) -> dict:
    model = zoo.load(name)
    schedule = LD_SCHEDULES[name]
    x = model.preprocess(datasets.load(model.dataset).x_test[:samples])
    reference = evaluate(model.network, schedule, x, dtype=torch.float64,
                         precision=model.precision, progress=False)
    results = {}

    def keeping(backend: str):
        run = _runner(backend, model, schedule, x)
        return lambda: results.__setitem__(backend, run())  # each call keeps its result

    times = interleaved({backend: keeping(backend) for backend in backends}, repeats)
    rows = {}
    for backend in backends:
        seconds = times[backend]["times_s"]
        rows[backend] = {"s_per_image": times[backend]["median_s"] / samples,
                         "min_s_per_image": min(seconds) / samples,
                         "max_s_per_image": max(seconds) / samples,
                         "times_s": seconds,
                         "agrees": _agrees(results[backend], reference)}
    return {"model": name, "schedule": str(schedule), "precision": str(model.precision),
            "samples": samples, "repeats": repeats, "backends": rows}


def markdown(record: dict) -> str:
    backends = record["backends"]
    lines = ["# Backends side by side: seconds per image, end to end", "",
             "| model | LD schedule | precision | "
             + " | ".join(backends) + " |", "|---|---|---|" + "---|" * len(backends)]
    for entry in record["models"]:
        cells = []
        for backend in backends:
            row = entry["backends"].get(backend)
            cells.append("-" if row is None else
                         f"{row['s_per_image']:.4f} ({row['min_s_per_image']:.4f}-"
                         f"{row['max_s_per_image']:.4f}){'' if row['agrees'] else ' DIFFERS'}")
        lines.append(f"| {entry['model']} | `{entry['schedule']}` | {entry['precision']} | "
                     + " | ".join(cells) + " |")
    m = record["machine"]
    lines += ["", f"Median (min-max) of {record['repeats']} round-robin repeats after a warm-up "
              f"call, {record['samples']} test images per call, everything included (build, "
              "compile or runtime start, run, results). Every backend's spike counts and "
              "predictions equal the engine's float64 result unless marked DIFFERS. Machine "
              f"(shared with other jobs): {m['cpu']}, {m['cores']} cores, load average at start "
              f"{[round(v, 2) for v in m['load_average_at_start']]}, torch "
              f"{m['torch_threads']} threads. Command: `{record['command']}`", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["lenet_mnist5k", "mlp_digits",
                                                          "lava_dl_mnist"],
                        choices=sorted(LD_SCHEDULES))
    parser.add_argument("--backends", nargs="+",
                        default=["engine", "lava-step", "lava-window", "brian2"],
                        choices=["engine", "lava-step", "lava-window", "brian2"])
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="backend_speed", help="results file name (no suffix)")
    args = parser.parse_args(argv)
    if args.samples < 1 or args.repeats < 1:
        parser.error("need --samples >= 1 and --repeats >= 1")
    command = ("python -m benchmarks.backend_speed --models " + " ".join(args.models)
               + " --backends " + " ".join(args.backends)
               + f" --samples {args.samples} --repeats {args.repeats}")
    record = {"machine": machine(), "command": command, "samples": args.samples,
              "repeats": args.repeats, "backends": args.backends, "models": []}
    for name in args.models:
        record["models"].append(measure(name, args.backends, args.samples, args.repeats))
        print(f"{name}: done", flush=True)
    record["created"] = time.strftime("%Y-%m-%d %H:%M:%S")
    write_json(args.out, record)
    text = markdown(record)
    atomic_write_text(RESULTS / f"{args.out}.md", text)
    print(text)
    return record


if __name__ == "__main__":
    main()
