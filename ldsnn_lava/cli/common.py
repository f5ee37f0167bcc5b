"""What every ``ldsnn`` command shares: the error type, argument types, shared options, and
resolving the model, its data, its search and its held-out table."""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ldsnn_lava.errors import FileAccessError, LDSNNError, LDSNNWarning
from ldsnn_lava.model import Model
from ldsnn_lava.optimize import COST_NAMES, DEFAULT_WORK_BUDGET
from ldsnn_lava.options import Mode
from ldsnn_lava.progress import Progress
from ldsnn_lava.provenance import command_line, versions
from ldsnn_lava.resolve import load_model
from ldsnn_lava.schedule import MAX_TIMESTEPS, Schedule

MODEL_HELP = "zoo name or model file (.npz, .net, .nir)"
DEFAULT_TIMING_REPEATS = 5


class UserError(LDSNNError, ValueError):
    """A problem with the command line's input: reported in one line, without a traceback."""


# --- argument types ---------------------------------------------------------------------------

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


def count(text: str) -> int:
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


def number(text: str) -> float:
    """argparse type: a finite number, as a decimal or a fraction such as ``2/255`` (exact
    where a decimal would need many digits)."""
    try:
        value = float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected a number or a fraction such as 2/255, got "
                                         f"{text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


# --- shared options -----------------------------------------------------------------------------

def add_model_options(p: argparse.ArgumentParser) -> None:
    """The input preprocessing of a model (every command that feeds it data)."""
    p.add_argument("--input-scale", type=number, default=None, metavar="A",
                   help="feed the network x * A + B, x the data set's samples (default: the "
                        "model's own scaling; a zoo model or a file written by ldsnn knows "
                        "it, other files 1); fractions such as 2/255 are exact")
    p.add_argument("--input-shift", type=number, default=None, metavar="B",
                   help="B of --input-scale (default: the model's own, else 0)")


def add_common(p: argparse.ArgumentParser, data: bool = True) -> None:
    """Data set, input preprocessing, device, threads and sample limit."""
    if data:
        p.add_argument("--data", default=None, metavar="NAME|FILE.npz",
                       help="data set: mnist5k, animal_mnist, digits, or an .npz file with "
                            "arrays x and y (split 60/20/20, stratified, seed 0) or x_train, "
                            "y_train, x_val, y_val, x_test, y_test (default: the model's)")
        add_model_options(p)
    p.add_argument("--device", default="cpu", help="torch device: cpu (default) or cuda")
    p.add_argument("--threads", type=positive, default=None,
                   help="torch CPU threads (default: torch's choice); recorded with timings")
    p.add_argument("--limit", type=positive, default=None,
                   help="use only N samples of each split, spread evenly over it (quick runs)")


def add_mode_option(p: argparse.ArgumentParser, default: str | None) -> None:
    """``--mode``: how a clocked runtime (Lava, the Loihi estimate) interleaves the stages."""
    p.add_argument("--mode", default=default, choices=[str(m) for m in Mode],
                   help="sequential: one stage after the other per sample; pipelined: every "
                        "stage busy on a different sample (same results per sample) "
                        f"(default: {default or 'the schedule file’s'})")


def add_timing_option(p: argparse.ArgumentParser, default: int) -> None:
    """``--timing-repeats``: how the wall-clock column is measured."""
    p.add_argument("--timing-repeats", type=count, default=default, metavar="R",
                   help="time each schedule R times, warmed and interleaved, and report the "
                        f"median with its min-max (default {default}; 0: no wall-clock)")


def add_lava_check_option(p: argparse.ArgumentParser, default: int) -> None:
    """``--lava-samples``: run the LD schedule in Lava on that many test samples and compare
    with the engine (the outcome goes in the report)."""
    p.add_argument("--lava-samples", type=count, default=default, metavar="N",
                   help="check the LD schedule in Lava's simulation against the engine on N "
                        f"test samples (default {default}; 0: no check)")


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
    p.add_argument("--restarts", type=count, default=8,
                   help="random restarts (default 8)")
    p.add_argument("--seed", type=count, default=0,
                   help="seed of the restarts (default 0)")
    p.add_argument("--buffer-kinds", default="rate", metavar="KINDS",
                   help="comma-separated buffer kinds the search may give each gap: rate, "
                        "graded (default rate; e.g. rate,graded)")
    p.add_argument("--work-budget", type=work_budget, default=DEFAULT_WORK_BUDGET,
                   metavar="PASSES",
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
    p.add_argument("--shard-threads", type=positive, default=None, metavar="N",
                   help="without Ray: cut the validation split into N shards evaluated at "
                        "once on N threads of this process, torch on one thread each; same "
                        "result for any N (default: this machine's usable cores, unless "
                        "--threads, --workers, --ray-address or a GPU device is given)")


# --- before a command runs ----------------------------------------------------------------------

def check_device(device: str) -> None:
    """Refuse a torch device that does not exist here, naming what does."""
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise UserError(f"unknown device {device!r}; use cpu or cuda") from None
    if parsed.type == "cpu":
        return
    if parsed.type != "cuda":
        raise UserError(f"device {device!r} is not supported; use cpu or cuda")
    if torch.version.cuda is None:
        raise UserError(f"device {device!r} is not available: this torch "
                        f"({torch.__version__}) was built without CUDA; use --device cpu")
    if not torch.cuda.is_available() or (parsed.index or 0) >= torch.cuda.device_count():
        raise UserError(f"device {device!r} is not available: {torch.cuda.device_count()} "
                        f"CUDA device(s) visible; use --device cpu")


def prepare(args: argparse.Namespace) -> None:
    """Check the device and set the thread count before a command runs."""
    if getattr(args, "device", None) is not None:
        check_device(args.device)
    if getattr(args, "threads", None) is not None:
        import torch

        torch.set_num_threads(args.threads)


# --- model, data, search ------------------------------------------------------------------------

def model_of(args: argparse.Namespace, spec: str | None = None,
             recorded: dict | None = None) -> Model:
    """The model ``args.model`` names, with the command line's input scaling.

    ``recorded`` is a saved result's ``info``: the scaling it was optimized with is the default
    (``ldsnn report`` evaluates as the search did).
    """
    scaling = {}
    for key in ("input_scale", "input_shift"):
        value = getattr(args, key, None)
        if value is None and recorded and key in recorded:
            value = recorded[key]
        scaling[key] = value
    return load_model(spec or args.model, **scaling)


def num_classes(model: Model) -> int:
    """How many classes the model's readout has."""
    net = model.network
    return int(np.prod(net.output_shape_of(net.num_stages - 1)))


def dataset_of(model: Model, spec: str | None, recorded: dict | None = None):
    """The data set named on the command line (a registered name or an ``.npz`` file), else the
    one a saved result recorded, else the model's default; its labels must fit the model."""
    from ldsnn_lava import datasets

    spec = spec or (recorded or {}).get("data") or model.dataset
    if spec is None:
        raise UserError(f"model {model.name!r} has no default data set; give --data "
                        f"({', '.join(datasets.names())}, or an .npz file with arrays x and y)")
    if spec not in datasets.names() and Path(spec).suffix != ".npz":
        raise UserError(f"unknown data set {spec!r}; available: {', '.join(datasets.names())}, "
                        f"or an .npz file with arrays x and y")
    data = datasets.load(spec)
    classes = num_classes(model)
    if data.num_classes > classes:
        raise UserError(f"data set {data.name!r} has labels up to {data.num_classes - 1}, but "
                        f"model {model.name!r} has {classes} classes (labels 0..{classes - 1})")
    return data


def spread(n: int, limit: int | None) -> np.ndarray:
    """``limit`` indices of ``0..n-1`` spread evenly over the range (all of them without a limit
    or when it is >= n): a quick run on a split whose samples are sorted by class (as the
    bundled MNIST-5k's are) still sees every class."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.floor(np.arange(limit) * (n / limit)).astype(np.int64)


def split_of(model: Model, data, split: str, limit: int | None):
    """``(x, y)`` of a split, preprocessed for the model; with ``limit``, that many samples
    spread evenly over the split (:func:`spread`)."""
    x, y = data.split(split)
    index = spread(len(y), limit)
    return model.preprocess(x[index]), y[index]


def base_T_of(model: Model, given: int | None) -> int:
    """The given SNN's T: from the command line, else the model's."""
    base_T = given or model.base_T
    if base_T is None:
        steps = model.record.get("timesteps") or getattr(model.record.get("schedule"),
                                                         "timesteps", None)
        stored = (f"; the file stores an LD schedule's per-stage timesteps {list(steps)} but "
                  f"not the given SNN's T" if steps else "")
        raise UserError(f"model {model.name!r} does not say its timesteps{stored}; give "
                        f"--base-T")
    return base_T


def data_spec(spec: str | None, data) -> str:
    """How to name the data set again later: a registered name, or the file's absolute path."""
    if spec and Path(spec).suffix == ".npz":
        return str(Path(spec).resolve())
    return data.name


def report_setup(model: Model, data, args: argparse.Namespace, result) -> dict[str, str]:
    """How a run was set up, for the top of a report: model, data, preprocessing, precision,
    device, threads, samples, seed, mode, the command line and the versions."""
    import torch

    info = result.info or {}
    recorded = info.get("versions") or {}  # the search's; the report's when not recorded
    setup = {"model": f"{model.name} ({model.network!r})",
             "data set": f"{data.name} ({data.source})",
             "input preprocessing": f"the network sees {model.input_map}",
             "precision": str(model.precision), "device": args.device,
             "torch threads": str(torch.get_num_threads()),
             "samples": "full splits" if args.limit is None else
             f"{args.limit} per split, spread evenly over it",
             "seed of the search": str(info.get("seed", "not recorded")),
             "mode": str(getattr(args, "mode", None) or result.schedule.mode)}
    if info.get("command"):
        setup["search command"] = f"`{info['command']}`"
    command = command_line(getattr(args, "argv", sys.argv[1:]))
    if command != info.get("command"):
        setup["report command"] = f"`{command}`"
    setup["versions"] = ", ".join(f"{k} {v}" for k, v in (recorded or versions()).items())
    return setup


def run_info(model: Model, data, args: argparse.Namespace) -> dict:
    """What a saved result records about the run that produced it."""
    return {"command": command_line(getattr(args, "argv", sys.argv[1:])),
            "model": model.name, "data": data_spec(getattr(args, "data", None), data),
            "data_source": data.source, "input_scale": model.input_scale,
            "input_shift": model.input_shift, "input_exponent": model.input_exponent,
            "precision": str(model.precision), "seed": getattr(args, "seed", None),
            "limit": args.limit, "device": args.device, "versions": versions()}


def shard_threads(args: argparse.Namespace, samples: int) -> int | None:
    """The search's shard threads: ``--shard-threads``, else one per usable core (at most one
    per sample) when the command asks for no other way to run (``--threads``, Ray, a GPU);
    ``None``: as asked."""
    if args.shard_threads is not None:
        return args.shard_threads
    if (args.threads is not None or args.workers is not None or args.ray_address is not None
            or args.device != "cpu"):
        return None
    return max(1, min(usable_cores(), samples))


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_search(model: Model, data, args: argparse.Namespace):
    """Optimize ``model`` on the validation split with the search options in ``args``; the
    result records how it was run (:func:`run_info`)."""
    from ldsnn_lava.optimize import optimize
    from ldsnn_lava.optimize.costs import measure_latency_profile
    from ldsnn_lava.optimize.ray_executor import make_executor

    x_val, y_val = split_of(model, data, "validation", args.limit)
    profile = None
    if args.cost == "latency":
        profile = measure_latency_profile(model.network, x_val[:128], device=args.device)
    max_drop = None if args.cost_target is not None else args.max_drop
    with (make_executor(args.workers, args.ray_address, device=args.device,
                        threads=shard_threads(args, len(y_val))) as executor,
          warnings.catch_warnings()):  # the command prints the result's warnings itself
        warnings.simplefilter("ignore", category=LDSNNWarning)
        result = optimize(model.network, base_T=base_T_of(model, args.base_T),
                          val=(x_val, y_val), max_drop=max_drop, cost=args.cost,
                          cost_target=args.cost_target, restarts=args.restarts,
                          work_budget=args.work_budget or None, seed=args.seed,
                          profile=profile, device=args.device, precision=model.precision,
                          progress=True, buffer_kinds=args.buffer_kinds.split(","),
                          executor=executor)
    result.info = run_info(model, data, args)
    for text in result.warnings:
        print(f"ldsnn {args.command}: warning: {text}", file=sys.stderr)
    return result


@dataclass
class HeldOut:
    """The three schedules of a result on the test split."""

    results: dict
    y: np.ndarray
    table: str
    timings: dict | None = None
    timing_setup: object = None

    def text(self) -> str:
        """The table, then how to read it (timing method, schedule notation)."""
        from ldsnn_lava.schedule import NOTATION

        notes = [NOTATION]
        if self.timing_setup is not None:
            notes.insert(0, self.timing_setup.describe())
        return self.table + "\n" + "\n".join(notes)


def held_out_table(model: Model, data, result, args: argparse.Namespace) -> HeldOut:
    """The result's three schedules on the test split: accuracy, work and, with
    ``--timing-repeats``, wall-clock measured as :mod:`ldsnn_lava.timing` defines it (the
    accuracy run of each schedule is its warm-up)."""
    from ldsnn_lava.compare import comparison_table, schedules_of, time_held_out
    from ldsnn_lava.engine import evaluate

    x_test, y_test = split_of(model, data, "test", args.limit)
    schedules = schedules_of(result, getattr(args, "mode", None))
    results = {}
    with Progress("held-out test split", "schedules evaluated", total=3, enabled=True) as bar:
        for key, schedule in schedules.items():
            results[key] = evaluate(model.network, schedule, x_test, device=args.device,
                                    precision=model.precision, record_spikes=False,
                                    progress=False)
            bar.update()
    repeats = getattr(args, "timing_repeats", 0)
    timings = setup = None
    if repeats:
        with Progress("timing", "rounds", total=repeats, enabled=True) as bar:
            timings, setup = time_held_out(model.network, schedules, x_test, repeats,
                                           device=args.device, precision=model.precision,
                                           warm_up=False, on_round=lambda _: bar.update())
    return HeldOut(results, y_test, comparison_table(results, y_test, timings), timings, setup)


def lava_check(model: Model, schedule: Schedule, x) -> tuple[bool, str]:
    """Run ``schedule`` in Lava's simulation on ``x`` and compare with the torch engine:
    ``(agrees, one line saying how)``."""
    from ldsnn_lava.engine import evaluate
    from ldsnn_lava.processes.graph import to_lava

    lava = to_lava(model.network, schedule, model.precision).run(x)
    engine = evaluate(model.network, schedule, x, precision=model.precision)
    same_pred = int(np.sum(lava.predictions == engine.predictions))
    same_counts = all(np.array_equal(a, b) for a, b in zip(lava.spike_counts,
                                                          engine.spike_counts, strict=True))
    agrees = same_pred == len(x) and same_counts
    return agrees, (f"Lava simulation {'agrees' if agrees else 'DISAGREES'} with the engine on "
                    f"{len(x)} test samples ({schedule.mode}): {same_pred}/{len(x)} predictions "
                    f"equal, per-stage spike counts {'identical' if same_counts else 'different'}"
                    f" ({lava.seconds:.1f} s in Lava, set-up included)")


def lava_check_of(model: Model, data, result, args: argparse.Namespace
                  ) -> tuple[bool | None, str | None]:
    """With ``--lava-samples N``: :func:`lava_check` of the LD schedule on N test samples,
    printed; ``(None, None)`` without."""
    samples = getattr(args, "lava_samples", 0)
    if not samples:
        return None, None
    x_test, _ = split_of(model, data, "test", samples)
    schedule = result.schedule
    if getattr(args, "mode", None):
        schedule = dataclasses.replace(schedule, mode=args.mode)
    agrees, line = lava_check(model, schedule, x_test)
    print(line)
    return agrees, line


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
