"""``ldsnn evaluate``: one schedule on one split, with the engine, in Lava or in Brian2."""

from __future__ import annotations

import argparse
import dataclasses
import math

import numpy as np

from ldsnn_lava.cli.common import (
    MODEL_HELP,
    UserError,
    add_common,
    add_mode_option,
    add_timing_option,
    dataset_of,
    model_of,
    split_of,
)
from ldsnn_lava.engine import Counters, EvalResult
from ldsnn_lava.errors import BackendUnavailable
from ldsnn_lava.model import Model
from ldsnn_lava.progress import Progress
from ldsnn_lava.schedule import NOTATION, Schedule

BACKENDS = ("torch", "lava", "brian2")
LAVA_CHUNKS = 10
"""``--backend lava`` runs the samples in up to this many Lava runs, reporting after each..."""
LAVA_CHUNK_MIN = 25
"""...of at least this many samples (each Lava run pays its compile and start-up)."""


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a schedule on a data split",
                       description="Evaluate MODEL under a schedule and print accuracy and "
                       "work counters. " + NOTATION)
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--schedule", required=True, help="schedule JSON (from ldsnn optimize)")
    p.add_argument("--split", default="test", choices=["train", "validation", "test"])
    p.add_argument("--backend", default="torch", choices=BACKENDS,
                   help="torch engine (default), Lava's CPU simulation, or Brian2 (needs "
                   "pip install 'ldsnn-lava[brian2]')")
    add_mode_option(p, default=None)
    add_timing_option(p, 0)
    add_common(p)
    p.set_defaults(func=run)


def _lava_in_chunks(model: Model, schedule: Schedule, x) -> EvalResult:
    """Run ``x`` through Lava in up to :data:`LAVA_CHUNKS` runs with a progress report before
    the first and after each; the results joined are those of one run (samples are
    independent)."""
    try:
        from ldsnn_lava.processes.graph import to_lava
    except ImportError as err:
        raise BackendUnavailable(f"the Lava backend is not available here ({err})") from None
    size = max(math.ceil(len(x) / LAVA_CHUNKS), LAVA_CHUNK_MIN)
    parts = []
    with Progress("lava", "samples", total=len(x), enabled=True, interval=0.0) as bar:
        bar.line(f" (schedule {schedule}, {len(x)} samples in "
                 f"{math.ceil(len(x) / size)} Lava run(s))")
        for start in range(0, len(x), size):
            parts.append(to_lava(model.network, schedule, model.precision).run(
                x[start:start + size]))
            bar.update(len(parts[-1].predictions))
    return join_results(parts)


def join_results(parts: list[EvalResult]) -> EvalResult:
    """One result from results of consecutive sample chunks under the same schedule: outputs
    concatenated, per-sample mean counters weighted by chunk size, seconds summed."""
    sizes = np.array([len(p.predictions) for p in parts], dtype=np.float64)
    weights = sizes / sizes.sum()
    per_stage = {name: sum(w * p.counters.per_stage[name] for w, p in
                           zip(weights, parts, strict=True))
                 for name in parts[0].counters.per_stage}
    counts = None
    if all(p.spike_counts is not None for p in parts):
        counts = [np.concatenate(stage) for stage in zip(*(p.spike_counts for p in parts),
                                                         strict=True)]
    return EvalResult(readout=np.concatenate([p.readout for p in parts]),
                      predictions=np.concatenate([p.predictions for p in parts]),
                      spike_counts=counts, counters=Counters(per_stage),
                      schedule=parts[0].schedule, seconds=sum(p.seconds for p in parts))


def evaluate_on(model: Model, schedule: Schedule, x, backend: str, device: str):
    """Run ``schedule`` on ``x`` with ``backend``; returns an :class:`EvalResult`."""
    if backend == "lava":
        if device != "cpu":
            raise UserError("the Lava backend runs on the CPU; drop --device")
        return _lava_in_chunks(model, schedule, x)
    if backend == "brian2":
        if device != "cpu":
            raise UserError("the Brian2 backend runs on the CPU; drop --device")
        from ldsnn_lava.brian2_backend import to_brian2  # BackendUnavailable names the install

        return to_brian2(model.network, schedule, model.precision).run(x)
    from ldsnn_lava.engine import evaluate
    return evaluate(model.network, schedule, x, device=device, precision=model.precision)


def run(args: argparse.Namespace) -> None:
    from ldsnn_lava.timing import interleaved

    model = model_of(args)
    schedule = Schedule.load(args.schedule, model.network)
    if args.mode is not None:
        schedule = dataclasses.replace(schedule, mode=args.mode)
    data = dataset_of(model, args.data)
    x, y = split_of(model, data, args.split, args.limit)
    result = evaluate_on(model, schedule, x, args.backend, args.device)
    print(f"{model.name} on {data.name} ({args.split}, {len(y)} samples), schedule {schedule}, "
          f"backend {args.backend}")
    print(f"accuracy: {100 * result.accuracy(y):.2f} %")
    for name, value in result.counters.total.items():
        print(f"{name}: {value:,.1f} per sample")
    if not args.timing_repeats:
        print(f"elapsed: {result.seconds:.3f} s (one run, set-up included: not a benchmark; "
              f"--timing-repeats R measures)")
        return
    timings, setup = interleaved(
        {"run": lambda: evaluate_on(model, schedule, x, args.backend, args.device)},
        args.timing_repeats, warm_up=False, device=args.device, what="run")
    print(f"wall-clock (s): {timings['run']}")
    print(setup.describe())
