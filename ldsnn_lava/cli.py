"""The ``ldsnn`` command line: optimize, evaluate, report, demo.

``MODEL`` is a zoo name (``ldsnn_lava.zoo.names()``) or a file: our saved network (``.npz``),
a lava-dl netx file (``.net``) or a NIR graph (``.nir``). User errors print one line to stderr
and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ldsnn_lava.loihi.estimate import add_subcommands as loihi_subcommands
from ldsnn_lava.network import Network
from ldsnn_lava.optimize import DEFAULT_WORK_BUDGET
from ldsnn_lava.schedule import Schedule

DEFAULT_DEMO_MODEL = "lava_dl_mnist"


class UserError(Exception):
    """A problem with the command line's input: reported without a traceback."""


@dataclass(frozen=True)
class Model:
    """A network with what the CLI needs to feed it."""

    name: str
    network: Network
    dataset: str | None
    preprocess: Callable[[np.ndarray], np.ndarray]
    base_T: int | None
    precision: str


def _reshaper(net: Network) -> Callable[[np.ndarray], np.ndarray]:
    def preprocess(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if int(np.prod(x.shape[1:])) != int(np.prod(net.input_shape)):
            raise UserError(f"the data's samples have shape {x.shape[1:]}, the network expects "
                            f"{net.input_shape}")
        return x.reshape(len(x), *net.input_shape)
    return preprocess


def load_model(spec: str) -> Model:
    """Resolve ``MODEL``: a zoo name or a ``.npz`` / ``.net`` / ``.nir`` file."""
    from ldsnn_lava import zoo

    if spec in zoo.names():
        m = zoo.load(spec)
        return Model(spec, m.network, m.dataset, m.preprocess, m.base_T, m.precision)
    path = Path(spec)
    if not path.suffix:
        raise UserError(f"unknown model {spec!r}: not a zoo model ({', '.join(zoo.names())}) "
                        f"and not a file name ending in .npz, .net or .nir")
    if not path.is_file():
        raise UserError(f"model file not found: {spec}")
    base_T = None
    if path.suffix == ".npz":
        net = Network.load(path)
    elif path.suffix == ".net":
        from ldsnn_lava.importers.netx import from_netx
        net = from_netx(path)
    elif path.suffix == ".nir":
        from ldsnn_lava.importers.nir_io import from_nir, timesteps_from_nir
        net = from_nir(path)
        steps = timesteps_from_nir(path)
        base_T = max(steps) if steps else None
    else:
        raise UserError(f"unsupported model file {spec!r}: expected .npz, .net or .nir")
    return Model(path.stem, net, None, _reshaper(net), base_T, "float")


def _dataset(model: Model, name: str | None):
    from ldsnn_lava import datasets

    name = name or model.dataset
    if name is None:
        raise UserError(f"model {model.name!r} has no default data set; give --data "
                        f"({', '.join(datasets.names())})")
    if name not in datasets.names():
        raise UserError(f"unknown data set {name!r}; available: {', '.join(datasets.names())}")
    return datasets.load(name)


def _split(model: Model, data, split: str, limit: int | None):
    x, y = data.split(split)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return model.preprocess(x), y


def _base_T(model: Model, given: int | None) -> int:
    base_T = given or model.base_T
    if base_T is None:
        raise UserError(f"model {model.name!r} does not say its timesteps; give --base-T")
    return base_T


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _points(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of points, got {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100 points, got {value:g}")
    return value


def _run_optimize(model: Model, data, args, progress: bool | None = None):
    from ldsnn_lava.costs import measure_latency_profile
    from ldsnn_lava.optimize import optimize

    x_val, y_val = _split(model, data, "validation", args.limit)
    profile = None
    if args.cost == "latency":
        profile = measure_latency_profile(model.network, x_val[:128], device=args.device)
    max_drop = None if args.cost_target is not None else args.max_drop / 100
    return optimize(model.network, base_T=_base_T(model, args.base_T), val=(x_val, y_val),
                    max_drop=max_drop, cost=args.cost, cost_target=args.cost_target,
                    restarts=args.restarts, work_budget=args.work_budget or None,
                    seed=args.seed, profile=profile,
                    device=args.device, precision=model.precision, progress=progress)


def _held_out(model: Model, data, result, args):
    from ldsnn_lava.compare import comparison_table, held_out

    x_test, y_test = _split(model, data, "test", args.limit)
    test = held_out(model.network, result, x_test, device=args.device,
                    precision=model.precision)
    return test, y_test, comparison_table(test, y_test)


def _setup(model: Model, data, args) -> dict[str, str]:
    return {"model": f"{model.name} ({model.network!r})", "data set": f"{data.name} "
            f"({data.source})", "precision": model.precision, "device": args.device,
            "samples": "full splits" if args.limit is None else f"first {args.limit} per split"}


def cmd_optimize(args) -> None:
    from ldsnn_lava.report import write_report

    model = load_model(args.model)
    data = _dataset(model, args.data)
    result = _run_optimize(model, data, args)
    result.schedule.save(args.out)
    result_path = args.result or Path(args.out).with_suffix(".result.json")
    result.save(result_path)
    print(f"given SNN {result.given.schedule}: validation accuracy "
          f"{100 * result.given.accuracy:.2f} %")
    print(f"LD schedule {result.schedule}: validation accuracy "
          f"{100 * result.chosen.accuracy:.2f} % ({len(result.visited)} schedules evaluated "
          f"in {result.seconds:.1f} s)")
    test, y_test, table = _held_out(model, data, result, args)
    print("\nHeld-out test split:\n" + table)
    if args.report:
        write_report(args.report, result, test, y_test, setup=_setup(model, data, args))
        print(f"report written to {args.report}/report.md")
    print(f"schedule written to {args.out}, full result to {result_path}")


def _evaluate(model: Model, schedule: Schedule, x, backend: str, device: str):
    if backend == "lava":
        try:
            from ldsnn_lava.lava_backend import to_lava
        except ImportError as err:
            raise UserError(f"the Lava backend is not available here ({err})") from None
        if device != "cpu":
            raise UserError("the Lava backend runs on the CPU; drop --device")
        return to_lava(model.network, schedule, model.precision).run(x)
    from ldsnn_lava.engine import evaluate
    return evaluate(model.network, schedule, x, device=device, precision=model.precision)


def cmd_evaluate(args) -> None:
    model = load_model(args.model)
    if not Path(args.schedule).is_file():
        raise UserError(f"schedule file not found: {args.schedule}")
    schedule = Schedule.load(args.schedule, model.network)
    data = _dataset(model, args.data)
    x, y = _split(model, data, args.split, args.limit)
    result = _evaluate(model, schedule, x, args.backend, args.device)
    print(f"{model.name} on {data.name} ({args.split}, {len(y)} samples), schedule {schedule}, "
          f"backend {args.backend}")
    print(f"accuracy: {100 * result.accuracy(y):.2f} %")
    for name, value in result.counters.total.items():
        print(f"{name}: {value:,.1f} per sample")
    print(f"wall-clock: {result.seconds:.3f} s")


def cmd_report(args) -> None:
    from ldsnn_lava.optimize import OptimizeResult
    from ldsnn_lava.report import write_report

    model = load_model(args.model)
    if not Path(args.result).is_file():
        raise UserError(f"result file not found: {args.result}")
    result = OptimizeResult.load(args.result)
    result.schedule.check(model.network)
    data = _dataset(model, args.data)
    test, y_test, table = _held_out(model, data, result, args)
    write_report(args.out, result, test, y_test, setup=_setup(model, data, args))
    print(table)
    print(f"report written to {args.out}/report.md")


def lava_check(model: Model, schedule: Schedule, x) -> str:
    """Run ``schedule`` in Lava's simulation on ``x`` and compare with the torch engine."""
    from ldsnn_lava.engine import evaluate
    from ldsnn_lava.lava_backend import to_lava

    lava = to_lava(model.network, schedule, model.precision).run(x)
    engine = evaluate(model.network, schedule, x, precision=model.precision)
    same_pred = int(np.sum(lava.predictions == engine.predictions))
    same_counts = all(np.array_equal(a, b) for a, b in zip(lava.spike_counts,
                                                          engine.spike_counts, strict=True))
    verdict = "agrees" if same_pred == len(x) and same_counts else "DISAGREES"
    return (f"Lava simulation {verdict} with the engine on {len(x)} test samples: "
            f"{same_pred}/{len(x)} predictions equal, per-stage spike counts "
            f"{'identical' if same_counts else 'different'} ({lava.seconds:.1f} s in Lava)")


def cmd_demo(args) -> int:
    from ldsnn_lava.report import write_report

    model = load_model(args.model)
    data = _dataset(model, None)
    print(f"ldsnn demo: optimizing {model.name} on {data.name} (base T = {model.base_T}, "
          f"budget {args.max_drop:g} point(s) of validation accuracy, cost {args.cost})")
    result = _run_optimize(model, data, args, progress=True)
    print(f"searched {len(result.visited)} schedules in {result.seconds:.1f} s "
          f"(validation split only)")
    test, y_test, table = _held_out(model, data, result, args)
    print("\nHeld-out test split:\n" + table + "\n")
    status = 0
    if args.lava_samples:
        x_test, _ = _split(model, data, "test", args.lava_samples)
        line = lava_check(model, result.schedule, x_test)
        print(line)
        status = 0 if "agrees" in line else 1
    paths = write_report(args.out, result, test, y_test, title=f"ldsnn demo: {model.name}",
                         setup=_setup(model, data, args))
    print(f"report and plots written to {args.out}: {', '.join(p.name for p in paths)}")
    return status


def _search_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-drop", type=_points, default=1.0, metavar="POINTS",
                   help="accuracy budget: points of validation accuracy below the given SNN "
                        "(default 1.0)")
    p.add_argument("--cost", default="synaptic_updates",
                   choices=["synaptic_updates", "neurons_evaluated", "energy", "latency"],
                   help="cost to minimize (default synaptic_updates)")
    p.add_argument("--cost-target", type=float, default=None,
                   help="instead of --max-drop: the most accurate schedule with cost <= this")
    p.add_argument("--base-T", type=_positive, default=None,
                   help="timesteps of the given SNN (default: the zoo model's)")
    p.add_argument("--restarts", type=int, default=8, help="random restarts (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of the restarts (default 0)")
    p.add_argument("--work-budget", type=float, default=DEFAULT_WORK_BUDGET, metavar="PASSES",
                   help="most work the search may spend, in passes of the given SNN over the "
                        "validation split; it stops there with the best schedule found "
                        f"(default {DEFAULT_WORK_BUDGET:g}; 0: unbounded)")


def _common(p: argparse.ArgumentParser, data: bool = True) -> None:
    if data:
        p.add_argument("--data", default=None,
                       help="data set name (default: the zoo model's): mnist5k, animal_mnist, "
                            "digits")
    p.add_argument("--device", default="cpu", help="torch device: cpu (default) or cuda")
    p.add_argument("--limit", type=_positive, default=None,
                   help="use only the first N samples of each split (quick runs)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ldsnn", description="Layerwise disaggregated SNNs: find per-layer timesteps of a "
        "given SNN, evaluate them, report them, run them on Lava.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("optimize", help="find per-stage timesteps within an accuracy budget",
                       description="Search per-stage timesteps on the validation split, then "
                       "report the given SNN, the cheapest uniform schedule in budget and the "
                       "LD schedule on the held-out test split.")
    p.add_argument("model", help="zoo name or model file (.npz, .net, .nir)")
    _common(p)
    _search_options(p)
    p.add_argument("--out", default="schedule.json", help="schedule JSON to write")
    p.add_argument("--result", default=None,
                   help="full result JSON (default: OUT with suffix .result.json)")
    p.add_argument("--report", default=None, metavar="DIR", help="also write a report to DIR")
    p.set_defaults(func=cmd_optimize)

    p = sub.add_parser("evaluate", help="evaluate a schedule on a data split",
                       description="Evaluate MODEL under a schedule and print accuracy and "
                       "work counters.")
    p.add_argument("model", help="zoo name or model file (.npz, .net, .nir)")
    p.add_argument("--schedule", required=True, help="schedule JSON (from ldsnn optimize)")
    p.add_argument("--split", default="test", choices=["train", "validation", "test"])
    p.add_argument("--backend", default="torch", choices=["torch", "lava"],
                   help="torch engine (default) or Lava's CPU simulation")
    _common(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("report", help="write a Markdown report and PNG plots",
                       description="Evaluate an optimization result's schedules on the test "
                       "split and write report.md, pareto.png, timesteps.png and "
                       "synaptic_per_stage.png.")
    p.add_argument("model", help="zoo name or model file (.npz, .net, .nir)")
    p.add_argument("--result", required=True, help="result JSON written by ldsnn optimize")
    p.add_argument("--out", default="report", help="output folder (default ./report)")
    _common(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("demo", help="the main job: optimize a bundled SNN end to end",
                       description="Optimize a bundled SNN, print the uniform-vs-LD table on "
                       "the test split, check the LD-SNN in Lava's simulation against the "
                       "engine, and write the report.")
    p.add_argument("--model", default=DEFAULT_DEMO_MODEL,
                   help=f"zoo model (default {DEFAULT_DEMO_MODEL})")
    p.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    p.add_argument("--lava-samples", type=int, default=3,
                   help="test samples run in Lava (default 3; 0 skips the check)")
    _common(p, data=False)
    _search_options(p)
    p.set_defaults(func=cmd_demo)

    loihi_subcommands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ldsnn`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "cost_target", None) is not None and args.cost_target <= 0:
        parser.error(f"--cost-target must be > 0, got {args.cost_target:g}")
    if getattr(args, "restarts", 0) < 0:
        parser.error("--restarts must be >= 0")
    try:
        return int(args.func(args) or 0)
    except (UserError, ValueError, FileNotFoundError) as err:
        print(f"ldsnn {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ldsnn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
