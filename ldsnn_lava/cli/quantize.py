"""``ldsnn quantize``: write a model's Loihi fixed-point form as a model file."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ldsnn_lava.cli.common import (
    MODEL_HELP,
    UserError,
    add_common,
    dataset_of,
    model_of,
    positive,
    split_of,
)
from ldsnn_lava.options import Precision


def add_parser(sub) -> None:
    p = sub.add_parser("quantize", help="write a model's fixed-point (Loihi) form",
                       description="Quantize MODEL (8-bit weight mantissas with power-of-two "
                       "exponents, see ldsnn_lava.quantize) and write it to OUT (.npz) with "
                       "its base T, fixed precision and input scaling, so that every ldsnn "
                       "command runs it in fixed point and ldsnn export can write it as netx. "
                       "With data it first compares float and fixed point on the validation "
                       "split at the base T.")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("out", help="output model file (.npz)")
    p.add_argument("--weight-bits", type=positive, default=8,
                   help="signed mantissa bits of every weight, 2..24 (default 8)")
    p.add_argument("--input-exponent", type=int, default=8,
                   help="direct input is fed as round(x * 2**E) (default 8)")
    p.add_argument("--base-T", type=positive, default=None,
                   help="T of the comparison (default: the model's)")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from ldsnn_lava.formats import npz
    from ldsnn_lava.quantize import quantization_report, quantize
    from ldsnn_lava.schedule import Schedule

    if Path(args.out).suffix != ".npz":
        raise UserError(f"ldsnn quantize writes our .npz model format, got {args.out!r}; "
                        f"export the written file as netx with: ldsnn export OUT.npz "
                        f"SCHEDULE.json OUT.net")
    model = model_of(args)
    if model.precision == Precision.FIXED:
        raise UserError(f"model {model.name!r} is already in fixed point")
    quantized = quantize(model.network, weight_bits=args.weight_bits,
                         input_exponent=args.input_exponent)
    fixed = dataclasses.replace(model, name=Path(args.out).stem, network=quantized.network,
                                precision=Precision.FIXED,
                                input_exponent=quantized.input_exponent)
    base_T = args.base_T or model.base_T
    if base_T is not None and (args.data or model.dataset):
        data = dataset_of(model, args.data)
        x, y = split_of(model, data, "validation", args.limit)
        report = quantization_report(model.network, Schedule.uniform(model.network, base_T),
                                     x, y, quantized=quantized, device=args.device)
        print(f"{model.name} on {data.name} (validation, {report.num_samples} samples, "
              f"uniform T = {base_T}): accuracy {100 * report.float_accuracy:.2f} % in float, "
              f"{100 * report.fixed_accuracy:.2f} % in fixed point; predictions agree on "
              f"{100 * report.agreement:.2f} %")
    else:
        print("(no comparison: give --data and --base-T to compare float and fixed point)")
    npz.write_model(fixed, args.out)
    print(f"wrote {args.out}: {fixed.network!r}, precision fixed, base T {fixed.base_T}, "
          f"input {fixed.input_map}")
