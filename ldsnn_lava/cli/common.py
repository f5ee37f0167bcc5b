"""What every ``ldsnn`` command shares: the error type, argument types, shared options, and
resolving the model's data."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ldsnn_lava.errors import FileAccessError, LDSNNError
from ldsnn_lava.model import Model
from ldsnn_lava.optimize import COST_NAMES, DEFAULT_WORK_BUDGET
from ldsnn_lava.schedule import MAX_TIMESTEPS

MODEL_HELP = "zoo name or model file (.npz, .net, .nir)"


class UserError(LDSNNError, ValueError):
    """A problem with the command line's input: reported in one line, without a traceback."""


def _integer(text: str, low: int, high: int | None, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < low or (high is not None and value > high):
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


def positive(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _integer(text, 1, None, "a positive integer")


def nonnegative(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _integer(text, 0, None, "an integer >= 0")


def timesteps(text: str) -> int:
    """argparse type: a number of timesteps, 1..MAX_TIMESTEPS."""
    return _integer(text, 1, MAX_TIMESTEPS, f"timesteps in [1, {MAX_TIMESTEPS}]")


def _finite(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def positive_number(text: str) -> float:
    """argparse type: a finite number > 0."""
    value = _finite(text, "a number > 0")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value:g}")
    return value


def work_budget(text: str) -> float:
    """argparse type: passes of work, a finite number >= 0 (0: unbounded)."""
    value = _finite(text, "a number of passes >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of passes >= 0, got {value:g}")
    return value


def points(text: str) -> float:
    """argparse type: points of accuracy, 0..100."""
    value = _finite(text, "a number of points")
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
    p.add_argument("--cost-target", type=positive_number, default=None,
                   help="instead of --max-drop: the most accurate schedule with cost <= this")
    p.add_argument("--base-T", type=timesteps, default=None,
                   help="timesteps of the given SNN (default: the model's)")
    p.add_argument("--restarts", type=nonnegative, default=8,
                   help="random restarts (default 8)")
    p.add_argument("--seed", type=nonnegative, default=0,
                   help="seed of the restarts (default 0)")
    p.add_argument("--work-budget", type=work_budget, default=DEFAULT_WORK_BUDGET,
                   metavar="PASSES",
                   help="most work the search may spend, in passes of the given SNN over the "
                        "validation split; it stops there with the best schedule found "
                        f"(default {DEFAULT_WORK_BUDGET:g}; 0: unbounded)")


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

    x_val, y_val = split_of(model, data, "validation", args.limit)
    profile = None
    if args.cost == "latency":
        profile = measure_latency_profile(model.network, x_val[:128], device=args.device)
    max_drop = None if args.cost_target is not None else args.max_drop / 100
    return optimize(model.network, base_T=base_T_of(model, args.base_T), val=(x_val, y_val),
                    max_drop=max_drop, cost=args.cost, cost_target=args.cost_target,
                    restarts=args.restarts, work_budget=args.work_budget or None,
                    seed=args.seed, profile=profile,
                    device=args.device, precision=model.precision, progress=progress)


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


def check_outputs(*files: str | Path | None, folders: tuple[str | Path | None, ...] = ()
                  ) -> None:
    """Check, before a long run, that the output ``files`` and report ``folders`` can be
    written (:func:`ldsnn_lava._io.check_writable`); ``None`` entries are skipped.

    Raises
    ------
    FileAccessError
    """
    from ldsnn_lava._io import check_writable
    from ldsnn_lava.report import FILES

    for path in files:
        if path is not None:
            check_writable(path)
    for folder in folders:
        if folder is not None:
            if not str(folder):
                raise FileAccessError("output folder: empty path")
            for name in FILES:
                check_writable(Path(folder) / name, "report file")
