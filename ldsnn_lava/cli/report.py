"""``ldsnn report``: evaluate an optimization result on the test split, write Markdown + plots."""

from __future__ import annotations

import argparse

from ldsnn_lava.cli.common import (
    MODEL_HELP,
    add_common,
    check_outputs,
    dataset_of,
    held_out_table,
    setup_info,
)
from ldsnn_lava.resolve import load_model


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="write a Markdown report and PNG plots",
                       description="Evaluate an optimization result's schedules on the test "
                       "split and write report.md, pareto.png, timesteps.png and "
                       "synaptic_per_stage.png.")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--result", required=True, help="result JSON written by ldsnn optimize")
    p.add_argument("--out", default="report", help="output folder (default ./report)")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from ldsnn_lava.optimize import OptimizeResult
    from ldsnn_lava.report import write_report

    check_outputs(folders=(args.out,))
    model = load_model(args.model)
    result = OptimizeResult.load(args.result)
    result.schedule.check(model.network)
    data = dataset_of(model, args.data)
    test, y_test, table = held_out_table(model, data, result, args)
    write_report(args.out, result, test, y_test, setup=setup_info(model, data, args))
    print(table)
    print(f"report written to {args.out}/report.md")
