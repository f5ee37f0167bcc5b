"""The ``ldsnn`` command line: optimize, evaluate, report, demo, quantize, estimate, export.

``MODEL`` is a zoo name (``ldsnn_lava.zoo.names()``) or a model file (see
:data:`ldsnn_lava.formats.MODEL_SUFFIXES`), resolved by :func:`ldsnn_lava.resolve.load_model`
for every command. Each command lives in its own module with ``add_parser`` and ``run``.

Errors: a user error (a bad argument, any :class:`ldsnn_lava.errors.LDSNNError`, an
operating-system error such as an unwritable output, checked before a long run) prints one
line naming the command to stderr and exits with status 2; anything else is an internal error:
one line and status 1. Ctrl-C (SIGINT) and SIGTERM stop a command where it is, so cleanup runs
(file writes remove their temporary files, a Lava run stops its processes): one line, exit
status 130 or 143. ``ldsnn --debug ...`` (or ``LDSNN_DEBUG=1``) also prints the traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback

from ldsnn_lava.cli import demo, evaluate, loihi, optimize, quantize, report
from ldsnn_lava.cli.common import prepare
from ldsnn_lava.errors import LDSNNError

USER_ERROR, INTERNAL_ERROR, INTERRUPTED, TERMINATED = 2, 1, 130, 143


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line naming the command (status 2)."""

    def error(self, message: str):
        self.exit(USER_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``ldsnn`` argument parser with every subcommand."""
    parser = _Parser(
        prog="ldsnn", description="Layerwise disaggregated SNNs: find per-layer timesteps of a "
        "given SNN, evaluate them, report them, run them on Lava.")
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback of an error (also: LDSNN_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (optimize, evaluate, report, demo, quantize):
        command.add_parser(sub)
    loihi.add_parsers(sub)
    return parser


def _one_line(command: str, err: BaseException) -> tuple[str, int]:
    """The message and exit status of an error that ended ``command``."""
    if isinstance(err, LDSNNError):
        text, status = f"error: {err}", USER_ERROR
    elif isinstance(err, OSError):
        where = f"{err.filename}: " if err.filename else ""
        text, status = f"error: {where}{err.strerror or err}", USER_ERROR
    else:
        text, status = (f"internal error: {type(err).__name__}: {err} (run with --debug for "
                        f"the traceback, and please report it)", INTERNAL_ERROR)
    return f"ldsnn {command}: " + " ".join(text.split()), status


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt (so everything that
    cleans up after Ctrl-C cleans up after it too)."""


def _raise_terminated(signum, frame):
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ldsnn`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # recorded in results and reports
    debug = args.debug or os.environ.get("LDSNN_DEBUG", "") not in ("", "0")
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        prepare(args)
        return int(args.func(args) or 0)
    except Terminated:
        print("ldsnn: terminated", file=sys.stderr)
        return TERMINATED
    except KeyboardInterrupt:
        print("ldsnn: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # stdout closed early (e.g. piped into head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return INTERNAL_ERROR
    except Exception as err:  # noqa: BLE001  (every error becomes one line; see the docstring)
        if debug:
            traceback.print_exc()
        line, status = _one_line(args.command, err)
        print(line, file=sys.stderr)
        return status
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
