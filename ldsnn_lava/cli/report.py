"""``ldsnn report``: evaluate an optimization result on the test split, write Markdown + plots."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ldsnn_lava.cli.common import (
    DEFAULT_TIMING_REPEATS,
    MODEL_HELP,
    add_common,
    add_lava_check_option,
    add_mode_option,
    add_timing_option,
    check_outputs,
    dataset_of,
    held_out_table,
    lava_check_of,
    model_of,
    report_setup,
)


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="write a Markdown report and PNG plots",
                       description="Evaluate an optimization result's schedules on the test "
                       "split and write report.md, pareto.png, timesteps.png and "
                       "synaptic_per_stage.png. The data set and input scaling default to "
                       "those the result was optimized with.")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--result", required=True, help="result JSON written by ldsnn optimize")
    p.add_argument("--out", default="report", help="output folder (default ./report)")
    add_common(p)
    add_mode_option(p, default=None)
    add_timing_option(p, DEFAULT_TIMING_REPEATS)
    add_lava_check_option(p, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from ldsnn_lava.optimize import OptimizeResult
    from ldsnn_lava.report import write_report

    check_outputs(folders=(args.out,))
    result = OptimizeResult.load(args.result)
    recorded = result.info
    model = model_of(args, recorded=recorded)
    result.schedule.check(model.network)
    for key in ("input_scale", "input_shift"):
        if key in recorded and recorded[key] != getattr(model, key):
            print(f"ldsnn report: warning: the result was optimized with {key} "
                  f"{recorded[key]:g}, this report uses {getattr(model, key):g}",
                  file=sys.stderr)
    data = dataset_of(model, args.data, recorded)
    held = held_out_table(model, data, result, args)
    print(held.text())
    _, lava_line = lava_check_of(model, data, result, args)
    write_report(args.out, result, held.results, held.y,
                 setup=report_setup(model, data, args, result), timings=held.timings,
                 timing_setup=held.timing_setup, lava_check=lava_line)
    print(f"report written to {Path(args.out) / 'report.md'}")
