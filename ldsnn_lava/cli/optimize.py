"""``ldsnn optimize``: find per-stage timesteps, write the schedule and the full result."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ldsnn_lava.cli.common import (
    DEFAULT_TIMING_REPEATS,
    MODEL_HELP,
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
from ldsnn_lava.schedule import NOTATION


def add_parser(sub) -> None:
    p = sub.add_parser("optimize", help="find per-stage timesteps within an accuracy budget",
                       description="Search per-stage timesteps on the validation split, then "
                       "report the given SNN, the cheapest uniform schedule in budget and the "
                       "LD schedule on the held-out test split. " + NOTATION)
    p.add_argument("model", help=MODEL_HELP)
    add_common(p)
    add_search_options(p)
    add_mode_option(p, default="sequential")
    add_timing_option(p, DEFAULT_TIMING_REPEATS)
    add_lava_check_option(p, default=0)
    p.add_argument("--out", default="schedule.json", help="schedule JSON to write")
    p.add_argument("--result", default=None,
                   help="full result JSON (default: OUT with suffix .result.json)")
    p.add_argument("--report", default=None, metavar="DIR", help="also write a report to DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from ldsnn_lava._io import atomic_write_set
    from ldsnn_lava.report import report_files

    result_path = args.result or Path(args.out).with_suffix(".result.json")
    check_outputs(args.out, result_path, folders=(args.report,))
    model = model_of(args)
    data = dataset_of(model, args.data)
    result = run_search(model, data, args)
    result.schedule = dataclasses.replace(result.schedule, mode=args.mode)
    result.info["mode"] = args.mode
    print(f"given SNN {result.given.schedule}: validation accuracy "
          f"{100 * result.given.accuracy:.2f} %")
    print(f"LD schedule {result.schedule}: validation accuracy "
          f"{100 * result.chosen.accuracy:.2f} % ({len(result.visited)} schedules evaluated "
          f"in {result.seconds:.1f} s)")
    held = held_out_table(model, data, result, args)
    print("\nHeld-out test split:\n" + held.text())
    _, lava_line = lava_check_of(model, data, result, args)
    # the schedule, its result and the report are one set: a kill leaves the old or the new
    files = {Path(args.out): lambda tmp: tmp.write_text(result.schedule.to_json() + "\n"),
             Path(result_path): lambda tmp: tmp.write_text(result.to_json())}
    if args.report:
        files |= report_files(args.report, result, held.results, held.y,
                              setup=report_setup(model, data, args, result),
                              timings=held.timings, timing_setup=held.timing_setup,
                              lava_check=lava_line)
    atomic_write_set(files)
    if args.report:
        print(f"report written to {Path(args.report) / 'report.md'}")
    print(f"schedule written to {args.out}, full result to {result_path}")
