"""``ldsnn demo``: the main job, end to end on a bundled SNN."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ldsnn_lava.cli.common import (
    DEFAULT_TIMING_REPEATS,
    add_common,
    add_lava_check_option,
    add_mode_option,
    add_search_options,
    add_timing_option,
    check_outputs,
    dataset_of,
    held_out_table,
    lava_check_of,
    model_of,
    report_setup,
    run_search,
)
from ldsnn_lava.options import Precision

DEFAULT_DEMO_MODEL = "lava_dl_mnist"


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="the main job: optimize a bundled SNN end to end",
                       description="Optimize a bundled SNN, print the uniform-vs-LD table on "
                       "the test split, check the LD-SNN in Lava's simulation against the "
                       "engine, and write the report and schedule.json.")
    p.add_argument("--model", default=DEFAULT_DEMO_MODEL,
                   help=f"zoo model (default {DEFAULT_DEMO_MODEL})")
    p.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    add_lava_check_option(p, default=3)
    add_common(p, data=False)
    add_search_options(p)
    add_mode_option(p, default="sequential")
    add_timing_option(p, DEFAULT_TIMING_REPEATS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ldsnn_lava.report import write_report

    check_outputs(Path(args.out) / "schedule.json", folders=(args.out,))
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
    agrees, line = lava_check_of(model, data, result, args)
    status = 0 if agrees in (True, None) else 1
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
