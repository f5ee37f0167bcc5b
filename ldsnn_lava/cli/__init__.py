"""The ``ldsnn`` command line: optimize, evaluate, report, demo, quantize, estimate, export.

``MODEL`` is a zoo name (``ldsnn_lava.zoo.names()``) or a model file (see
:data:`ldsnn_lava.formats.MODEL_SUFFIXES`), resolved by :func:`ldsnn_lava.resolve.load_model`
for every command. Each command lives in its own module with ``add_parser`` and ``run``. User
errors (any :class:`ldsnn_lava.errors.LDSNNError`) print one line to stderr and exit with
status 2; no traceback. Ctrl-C (SIGINT) and SIGTERM stop a command where it is, so cleanup
runs (a Lava run stops its processes): one line, exit status 130 or 143.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from ldsnn_lava.cli import demo, evaluate, loihi, optimize, quantize, report
from ldsnn_lava.cli.common import prepare
from ldsnn_lava.errors import LDSNNError


def build_parser() -> argparse.ArgumentParser:
    """The ``ldsnn`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="ldsnn", description="Layerwise disaggregated SNNs: find per-layer timesteps of a "
        "given SNN, evaluate them, report them, run them on Lava.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (optimize, evaluate, report, demo, quantize):
        command.add_parser(sub)
    loihi.add_parsers(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt."""


def _raise_terminated(signum, frame):
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ldsnn`` console script; returns the exit status."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv  # recorded in results and reports
    if getattr(args, "cost_target", None) is not None and args.cost_target <= 0:
        parser.error(f"--cost-target must be > 0, got {args.cost_target:g}")
    if getattr(args, "restarts", 0) < 0:
        parser.error("--restarts must be >= 0")
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        prepare(args)
        return int(args.func(args) or 0)
    except (LDSNNError, ValueError, FileNotFoundError) as err:
        print(f"ldsnn {args.command}: error: {err}", file=sys.stderr)
        return 2
    except Terminated:
        print("ldsnn: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("ldsnn: interrupted", file=sys.stderr)
        return 130
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
