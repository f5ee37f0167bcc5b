"""``ldsnn optimize``: find per-stage timesteps, write the schedule and the full result."""

from __future__ import annotations

import argparse
from pathlib import Path

from ldsnn_lava.cli.common import (
    MODEL_HELP,
    add_common,
    add_search_options,
    check_outputs,
    dataset_of,
    held_out_table,
    run_search,
    setup_info,
)
from ldsnn_lava.resolve import load_model


def add_parser(sub) -> None:
    p = sub.add_parser("optimize", help="find per-stage timesteps within an accuracy budget",
                       description="Search per-stage timesteps on the validation split, then "
                       "report the given SNN, the cheapest uniform schedule in budget and the "
                       "LD schedule on the held-out test split.")
    p.add_argument("model", help=MODEL_HELP)
    add_common(p)
    add_search_options(p)
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
    model = load_model(args.model)
    data = dataset_of(model, args.data)
    result = run_search(model, data, args)
    print(f"given SNN {result.given.schedule}: validation accuracy "
          f"{100 * result.given.accuracy:.2f} %")
    print(f"LD schedule {result.schedule}: validation accuracy "
          f"{100 * result.chosen.accuracy:.2f} % ({len(result.visited)} schedules evaluated "
          f"in {result.seconds:.1f} s)")
    test, y_test, table = held_out_table(model, data, result, args)
    print("\nHeld-out test split:\n" + table)
    # the schedule, its result and the report are one set: a kill leaves the old or the new
    files = {Path(args.out): lambda tmp: tmp.write_text(result.schedule.to_json() + "\n"),
             Path(result_path): lambda tmp: tmp.write_text(result.to_json())}
    if args.report:
        files |= report_files(args.report, result, test, y_test,
                              setup=setup_info(model, data, args))
    atomic_write_set(files)
    if args.report:
        print(f"report written to {args.report}/report.md")
    print(f"schedule written to {args.out}, full result to {result_path}")
