"""``ldsnn estimate`` and ``ldsnn export``: toward Loihi."""

from __future__ import annotations

import argparse
import dataclasses
import math

import numpy as np

from ldsnn_lava.cli.common import (
    MODEL_HELP,
    UserError,
    add_mode_option,
    add_model_options,
    check_outputs,
    model_of,
    positive,
    spread,
    timesteps,
)
from ldsnn_lava.model import Model
from ldsnn_lava.options import BufferKind
from ldsnn_lava.schedule import Schedule


def _inputs(model: Model, data: str | None, samples: int, seed: int = 0) -> np.ndarray:
    from ldsnn_lava import datasets

    name = data or model.dataset
    if name is None:
        rng = np.random.default_rng(seed)
        return rng.integers(0, 2, (samples, *model.network.input_shape)).astype(np.float64)
    x = datasets.load(name).split("validation")[0]
    x = x[spread(len(x), samples)]
    return np.asarray(model.preprocess(x), dtype=np.float64)


def run_estimate(args: argparse.Namespace) -> None:
    from ldsnn_lava.loihi.estimate import compare, render_table

    model = model_of(args, spec=args.network)
    net = model.network
    if net.input_encoding.is_sequence:
        raise UserError(f"ldsnn estimate makes static inputs; model {model.name!r} takes "
                        f"{net.input_encoding} sequences (estimate it from Python: "
                        f"ldsnn_lava.loihi.estimate with your sequences and a chunked schedule)")
    if args.schedule:
        ld = Schedule.load(args.schedule, net)
    else:
        T = args.uniform_T or model.base_T or 16
        ld = Schedule([T] + [max(1, math.ceil(T / 2))] * (net.num_stages - 1), BufferKind.RATE)
        print(f"(no --schedule: a hand-made LD example {ld}, not an optimized one)")
    precision = args.precision or model.precision
    x = _inputs(model, args.data, args.samples)
    uniform_T = args.uniform_T or model.base_T
    print(render_table(compare(net, ld, x, uniform_T=uniform_T, precision=precision),
                       args.format))


def run_export(args: argparse.Namespace) -> None:
    from ldsnn_lava.formats.netx import write_model
    from ldsnn_lava.loihi.constraints import check_loihi2

    check_outputs(args.output)
    model = model_of(args, spec=args.network)
    schedule = Schedule.load(args.schedule, model.network)
    if args.mode is not None:
        schedule = dataclasses.replace(schedule, mode=args.mode)
    problems = check_loihi2(model.network)
    for problem in problems:
        print(f"Loihi 2 limit: {problem}")
    if any("quantize" in str(problem) for problem in problems):
        print(f"hint: ldsnn quantize {args.network} FIXED.npz writes the fixed-point model; "
              f"then export FIXED.npz")
    if problems and not args.force:
        raise UserError("not exported: fix the limits above or pass --force")
    write_model(model, args.output, schedule)
    print(f"wrote {args.output} (schedule {schedule}, given SNN's base T {model.base_T}, "
          f"input {model.input_map})")


def add_parsers(subparsers) -> None:
    """Add ``estimate`` and ``export``."""
    est = subparsers.add_parser(
        "estimate", help="Loihi resource/energy/latency estimate, uniform vs LD",
        description="Print the uniform-vs-LD Loihi estimate (sequential and pipelined).")
    est.add_argument("network", help=MODEL_HELP)
    est.add_argument("--schedule", help="LD schedule JSON (default: a halved uniform one)")
    est.add_argument("--uniform-T", type=timesteps, help="T of the uniform baseline "
                     "(default: the zoo model's base T, else the LD schedule's largest T)")
    est.add_argument("--data", help="data set for the work counters (default: the zoo "
                     "model's; random binary inputs for other files)")
    est.add_argument("--samples", type=positive, default=200,
                     help="inputs measured, spread over the validation split (default 200)")
    est.add_argument("--precision", choices=("fixed", "float"),
                     help="engine precision (default: the model's, else float)")
    est.add_argument("--format", choices=("markdown", "text"), default="markdown")
    add_model_options(est)
    est.set_defaults(func=run_estimate)
    exp = subparsers.add_parser(
        "export", help="export a fixed-point LD-SNN as lava-dl netx HDF5 with its schedule",
        description="Check Loihi 2 limits, then write the network and LD schedule as netx.")
    exp.add_argument("network", help=MODEL_HELP)
    exp.add_argument("schedule", help="LD schedule JSON")
    exp.add_argument("output", help="output .net file")
    exp.add_argument("--force", action="store_true", help="export despite limit violations")
    add_mode_option(exp, default=None)
    add_model_options(exp)
    exp.set_defaults(func=run_export)
