"""What every ``ldsnn`` command shares: the error type, argument types, shared options, and
resolving the model's data."""

from __future__ import annotations

import argparse

from ldsnn_lava.errors import LDSNNError
from ldsnn_lava.model import Model
from ldsnn_lava.optimize import COST_NAMES, DEFAULT_WORK_BUDGET

MODEL_HELP = "zoo name or model file (.npz, .net, .nir)"


class UserError(LDSNNError, ValueError):
    """A problem with the command line's input: reported in one line, without a traceback."""


def positive(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def points(text: str) -> float:
    """argparse type: points of accuracy, 0..100."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of points, got {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100 points, got {value:g}")
    return value


def dataset_of(model: Model, name: str | None):
    """The data set named on the command line, else the model's default."""
    from ldsnn_lava import datasets

    name = name or model.dataset
    if name is None:
        raise UserError(f"model {model.name!r} has no default data set; give --data "
                        f"({', '.join(datasets.names())})")
    if name not in datasets.names():
        raise UserError(f"unknown data set {name!r}; available: {', '.join(datasets.names())}")
    return datasets.load(name)


def split_of(model: Model, data, split: str, limit: int | None):
    """``(x, y)`` of a split, preprocessed for the model, optionally its first ``limit``."""
    x, y = data.split(split)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return model.preprocess(x), y


def base_T_of(model: Model, given: int | None) -> int:
    """The given SNN's T: from the command line, else the model's."""
    base_T = given or model.base_T
    if base_T is None:
        raise UserError(f"model {model.name!r} does not say its timesteps; give --base-T")
    return base_T


def add_search_options(p: argparse.ArgumentParser) -> None:
    """The optimizer's options (optimize, demo)."""
    p.add_argument("--max-drop", type=points, default=1.0, metavar="POINTS",
                   help="accuracy budget: points of validation accuracy below the given SNN "
                        "(default 1.0)")
    p.add_argument("--cost", default="synaptic_updates", choices=COST_NAMES,
                   help="cost to minimize (default synaptic_updates)")
    p.add_argument("--cost-target", type=float, default=None,
                   help="instead of --max-drop: the most accurate schedule with cost <= this")
    p.add_argument("--base-T", type=positive, default=None,
                   help="timesteps of the given SNN (default: the model's)")
    p.add_argument("--restarts", type=int, default=8, help="random restarts (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of the restarts (default 0)")
    p.add_argument("--work-budget", type=float, default=DEFAULT_WORK_BUDGET, metavar="PASSES",
                   help="most work the search may spend, in passes of the given SNN over the "
                        "validation split; it stops there with the best schedule found "
                        f"(default {DEFAULT_WORK_BUDGET:g}; 0: unbounded)")
    p.add_argument("--workers", type=positive, default=None, metavar="N",
                   help="spread the search over N Ray workers (starts a local Ray unless "
                        "--ray-address is given); same result as without (needs "
                        "ldsnn-lava[ray])")
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="join this Ray cluster (e.g. auto or HOST:6379); workers default to "
                        "its CPUs")


def add_common(p: argparse.ArgumentParser, data: bool = True) -> None:
    """Data set, device and sample limit."""
    if data:
        p.add_argument("--data", default=None,
                       help="data set name (default: the model's): mnist5k, animal_mnist, "
                            "digits")
    p.add_argument("--device", default="cpu", help="torch device: cpu (default) or cuda")
    p.add_argument("--limit", type=positive, default=None,
                   help="use only the first N samples of each split (quick runs)")


def run_search(model: Model, data, args, progress: bool | None = None):
    """Optimize ``model`` on the validation split with the search options in ``args``."""
    from ldsnn_lava.optimize import optimize
    from ldsnn_lava.optimize.costs import measure_latency_profile
    from ldsnn_lava.optimize.ray_executor import make_executor

    x_val, y_val = split_of(model, data, "validation", args.limit)
    profile = None
    if args.cost == "latency":
        profile = measure_latency_profile(model.network, x_val[:128], device=args.device)
    max_drop = None if args.cost_target is not None else args.max_drop / 100
    with make_executor(args.workers, args.ray_address, device=args.device) as executor:
        return optimize(model.network, base_T=base_T_of(model, args.base_T),
                        val=(x_val, y_val), max_drop=max_drop, cost=args.cost,
                        cost_target=args.cost_target, restarts=args.restarts,
                        work_budget=args.work_budget or None, seed=args.seed, profile=profile,
                        device=args.device, precision=model.precision, progress=progress,
                        executor=executor)


def held_out_table(model: Model, data, result, args):
    """The result's three schedules on the test split: ``(results, y_test, Markdown table)``."""
    from ldsnn_lava.compare import comparison_table, held_out

    x_test, y_test = split_of(model, data, "test", args.limit)
    test = held_out(model.network, result, x_test, device=args.device,
                    precision=model.precision)
    return test, y_test, comparison_table(test, y_test)


def setup_info(model: Model, data, args) -> dict[str, str]:
    """How a run was set up, for reports."""
    return {"model": f"{model.name} ({model.network!r})",
            "data set": f"{data.name} ({data.source})", "precision": str(model.precision),
            "device": args.device,
            "samples": "full splits" if args.limit is None else f"first {args.limit} per split"}
