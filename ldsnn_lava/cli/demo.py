"""``ldsnn demo``: the main job, end to end on a bundled SNN."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from ldsnn_lava.cli.common import (
    DEFAULT_TIMING_REPEATS,
    add_common,
    add_mode_option,
    add_search_options,
    add_timing_option,
    dataset_of,
    held_out_table,
    model_of,
    report_setup,
    run_search,
    split_of,
)
from ldsnn_lava.model import Model
from ldsnn_lava.options import Precision
from ldsnn_lava.schedule import Schedule

DEFAULT_DEMO_MODEL = "lava_dl_mnist"


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="the main job: optimize a bundled SNN end to end",
                       description="Optimize a bundled SNN, print the uniform-vs-LD table on "
                       "the test split, check the LD-SNN in Lava's simulation against the "
                       "engine, and write the report and schedule.json.")
    p.add_argument("--model", default=DEFAULT_DEMO_MODEL,
                   help=f"zoo model (default {DEFAULT_DEMO_MODEL})")
    p.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    p.add_argument("--lava-samples", type=int, default=3,
                   help="test samples run in Lava (default 3; 0 skips the check)")
    add_common(p, data=False)
    add_search_options(p)
    add_mode_option(p, default="sequential")
    add_timing_option(p, DEFAULT_TIMING_REPEATS)
    p.set_defaults(func=run)


def lava_check(model: Model, schedule: Schedule, x) -> tuple[bool, str]:
    """Run ``schedule`` in Lava's simulation on ``x`` and compare with the torch engine:
    ``(agrees, one line saying how)``."""
    from ldsnn_lava.engine import evaluate
    from ldsnn_lava.processes.graph import to_lava

    lava = to_lava(model.network, schedule, model.precision).run(x)
    engine = evaluate(model.network, schedule, x, precision=model.precision)
    same_pred = int(np.sum(lava.predictions == engine.predictions))
    same_counts = all(np.array_equal(a, b) for a, b in zip(lava.spike_counts,
                                                          engine.spike_counts, strict=True))
    agrees = same_pred == len(x) and same_counts
    return agrees, (f"Lava simulation {'agrees' if agrees else 'DISAGREES'} with the engine on "
                    f"{len(x)} test samples ({schedule.mode}): {same_pred}/{len(x)} predictions "
                    f"equal, per-stage spike counts {'identical' if same_counts else 'different'}"
                    f" ({lava.seconds:.1f} s in Lava, set-up included)")


def run(args: argparse.Namespace) -> int:
    from ldsnn_lava.report import write_report

    model = model_of(args, spec=args.model)
    data = dataset_of(model, None)
    print(f"ldsnn demo: optimizing {model.name} on {data.name} (base T = {model.base_T}, "
          f"budget {args.max_drop:g} point(s) of validation accuracy, cost {args.cost})")
    result = run_search(model, data, args)
    result.schedule = dataclasses.replace(result.schedule, mode=args.mode)
    result.info["mode"] = args.mode
    print(f"searched {len(result.visited)} schedules in {result.seconds:.1f} s "
          f"(validation split only)")
    held = held_out_table(model, data, result, args)
    print("\nHeld-out test split:\n" + held.text() + "\n")
    status, line = 0, None
    if args.lava_samples:
        x_test, _ = split_of(model, data, "test", args.lava_samples)
        agrees, line = lava_check(model, result.schedule, x_test)
        print(line)
        status = 0 if agrees else 1
    out = Path(args.out)
    paths = write_report(out, result, held.results, held.y, title=f"ldsnn demo: {model.name}",
                         setup=report_setup(model, data, args, result), timings=held.timings,
                         timing_setup=held.timing_setup, lava_check=line)
    result.schedule.save(out / "schedule.json")
    print(f"report and plots written to {out}: {', '.join(p.name for p in paths)}, "
          f"schedule.json")
    if model.precision == Precision.FIXED:
        print(f"to export it for Loihi: ldsnn export {model.name} {out / 'schedule.json'} "
              f"{out / 'ld.net'}")
    return status
