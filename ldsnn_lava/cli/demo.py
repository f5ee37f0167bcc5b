"""``ldsnn demo``: the main job, end to end on a bundled SNN."""

from __future__ import annotations

import argparse

import numpy as np

from ldsnn_lava.cli.common import (
    add_common,
    add_search_options,
    check_outputs,
    dataset_of,
    held_out_table,
    nonnegative,
    run_search,
    setup_info,
    split_of,
)
from ldsnn_lava.model import Model
from ldsnn_lava.resolve import load_model
from ldsnn_lava.schedule import Schedule

DEFAULT_DEMO_MODEL = "lava_dl_mnist"


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="the main job: optimize a bundled SNN end to end",
                       description="Optimize a bundled SNN, print the uniform-vs-LD table on "
                       "the test split, check the LD-SNN in Lava's simulation against the "
                       "engine, and write the report.")
    p.add_argument("--model", default=DEFAULT_DEMO_MODEL,
                   help=f"zoo model (default {DEFAULT_DEMO_MODEL})")
    p.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    p.add_argument("--lava-samples", type=nonnegative, default=3,
                   help="test samples run in Lava (default 3; 0 skips the check)")
    add_common(p, data=False)
    add_search_options(p)
    p.set_defaults(func=run)


def lava_check(model: Model, schedule: Schedule, x) -> str:
    """Run ``schedule`` in Lava's simulation on ``x`` and compare with the torch engine."""
    from ldsnn_lava.engine import evaluate
    from ldsnn_lava.processes.graph import to_lava

    lava = to_lava(model.network, schedule, model.precision).run(x)
    engine = evaluate(model.network, schedule, x, precision=model.precision)
    same_pred = int(np.sum(lava.predictions == engine.predictions))
    same_counts = all(np.array_equal(a, b) for a, b in zip(lava.spike_counts,
                                                          engine.spike_counts, strict=True))
    verdict = "agrees" if same_pred == len(x) and same_counts else "DISAGREES"
    return (f"Lava simulation {verdict} with the engine on {len(x)} test samples: "
            f"{same_pred}/{len(x)} predictions equal, per-stage spike counts "
            f"{'identical' if same_counts else 'different'} ({lava.seconds:.1f} s in Lava)")


def run(args: argparse.Namespace) -> int:
    from ldsnn_lava.report import write_report

    check_outputs(folders=(args.out,))
    model = load_model(args.model)
    data = dataset_of(model, None)
    print(f"ldsnn demo: optimizing {model.name} on {data.name} (base T = {model.base_T}, "
          f"budget {args.max_drop:g} point(s) of validation accuracy, cost {args.cost})")
    result = run_search(model, data, args, progress=True)
    print(f"searched {len(result.visited)} schedules in {result.seconds:.1f} s "
          f"(validation split only)")
    test, y_test, table = held_out_table(model, data, result, args)
    print("\nHeld-out test split:\n" + table + "\n")
    status = 0
    if args.lava_samples:
        x_test, _ = split_of(model, data, "test", args.lava_samples)
        line = lava_check(model, result.schedule, x_test)
        print(line)
        status = 0 if "agrees" in line else 1
    paths = write_report(args.out, result, test, y_test, title=f"ldsnn demo: {model.name}",
                         setup=setup_info(model, data, args))
    print(f"report and plots written to {args.out}: {', '.join(p.name for p in paths)}")
    return status
