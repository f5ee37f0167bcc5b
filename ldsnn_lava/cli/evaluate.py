"""``ldsnn evaluate``: one schedule on one split, with the engine or in Lava."""

from __future__ import annotations

import argparse

from ldsnn_lava.cli.common import MODEL_HELP, UserError, add_common, dataset_of, split_of
from ldsnn_lava.errors import BackendUnavailable
from ldsnn_lava.model import Model
from ldsnn_lava.resolve import load_model
from ldsnn_lava.schedule import Schedule

BACKENDS = ("torch", "lava")


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a schedule on a data split",
                       description="Evaluate MODEL under a schedule and print accuracy and "
                       "work counters.")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--schedule", required=True, help="schedule JSON (from ldsnn optimize)")
    p.add_argument("--split", default="test", choices=["train", "validation", "test"])
    p.add_argument("--backend", default="torch", choices=BACKENDS,
                   help="torch engine (default) or Lava's CPU simulation")
    add_common(p)
    p.set_defaults(func=run)


def evaluate_on(model: Model, schedule: Schedule, x, backend: str, device: str):
    """Run ``schedule`` on ``x`` with ``backend``; returns an :class:`EvalResult`."""
    if backend == "lava":
        if device != "cpu":
            raise UserError("the Lava backend runs on the CPU; drop --device")
        try:
            from ldsnn_lava.processes.graph import to_lava
        except ImportError as err:
            raise BackendUnavailable(f"the Lava backend is not available here ({err})") from None
        return to_lava(model.network, schedule, model.precision).run(x)
    from ldsnn_lava.engine import evaluate
    return evaluate(model.network, schedule, x, device=device, precision=model.precision)


def run(args: argparse.Namespace) -> None:
    model = load_model(args.model)
    schedule = Schedule.load(args.schedule, model.network)
    data = dataset_of(model, args.data)
    x, y = split_of(model, data, args.split, args.limit)
    result = evaluate_on(model, schedule, x, args.backend, args.device)
    print(f"{model.name} on {data.name} ({args.split}, {len(y)} samples), schedule {schedule}, "
          f"backend {args.backend}")
    print(f"accuracy: {100 * result.accuracy(y):.2f} %")
    for name, value in result.counters.total.items():
        print(f"{name}: {value:,.1f} per sample")
    print(f"wall-clock: {result.seconds:.3f} s")
