"""The fuzz harness: run one generated case, classify its outcome.

A *case* is a call of the public API (or of the CLI's ``main``) on generated input, with an
oracle written independently of the code under test:

- ``expect``: ``"error"`` (the input is bad: the call must refuse it), ``"valid"`` (the input is
  good: the call must succeed) or ``"either"`` (both are acceptable, e.g. a resource guard may
  refuse a large but well-formed request);
- ``check``: for a call that returned, a sanity check of the result (raises AssertionError on
  garbage: NaN readouts, counts outside their range, a result that disagrees with a
  re-evaluation, ...).

Outcomes:

- ``error``: a clear, named error (see :func:`is_named_error`);
- ``valid``: returned, and the result passed ``check``;
- ``leaked``: an internal exception escaped (numpy, torch, h5py, zipfile, json, KeyError...);
- ``hang``: still running after the case's timeout;
- ``garbage``: bad input accepted, or a result that failed its sanity check;
- ``refused``: good input refused (a false alarm, as wrong as a silent result).

Only ``error`` and ``valid`` are passes.
"""

from __future__ import annotations

import signal
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PASS = ("error", "valid")
FAIL = ("leaked", "hang", "garbage", "refused")


class CaseTimeout(BaseException):
    """Raised by the alarm inside a case that runs past its timeout (a BaseException so that
    no ``except Exception`` in the code under test swallows it)."""


@dataclass
class Case:
    """One generated call and its oracle."""

    area: str
    label: str
    call: Callable[[], Any]
    expect: str = "error"
    check: Callable[[Any], None] | None = None
    timeout: float = 20.0


@dataclass
class Outcome:
    case: Case
    kind: str
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.kind in PASS


def is_named_error(exc: BaseException) -> bool:
    """A clear error: one of the project's exception types (``ldsnn_lava.errors``), or a CLI
    error reported as one line with exit status 2."""
    from ldsnn_lava.errors import LDSNNError

    return isinstance(exc, LDSNNError | CLIError)


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno}"


def _on_alarm(signum, frame):
    signal.setitimer(signal.ITIMER_REAL, 1.0)  # again in a second, should this one be swallowed
    raise CaseTimeout()


def run_case(case: Case) -> Outcome:
    """Run ``case`` under a wall-clock alarm and classify what happened."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, case.timeout)
    try:
        result = case.call()
    except CaseTimeout:
        return Outcome(case, "hang", f"still running after {case.timeout:g} s")
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001  (classifying every exception is the point)
        text = f"{type(exc).__module__}.{type(exc).__name__} at {_where(exc)}: {exc}"
        if not is_named_error(exc):
            return Outcome(case, "leaked", text)
        if len(str(exc).strip()) < 10:
            return Outcome(case, "leaked", f"{text} (a named error without a message)")
        if case.expect == "valid":
            return Outcome(case, "refused", text)
        return Outcome(case, "error", text)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if case.expect == "error":
        return Outcome(case, "garbage", f"accepted: returned {result!r:.200}")
    if case.check is not None:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, case.timeout)
        try:
            case.check(result)
        except AssertionError as err:
            return Outcome(case, "garbage", f"result failed its sanity check: {err}")
        except CaseTimeout:
            return Outcome(case, "hang", f"its sanity check ran past {case.timeout:g} s")
        except Exception as exc:  # noqa: BLE001
            if not is_named_error(exc):  # using the result raised an internal exception
                return Outcome(case, "leaked", f"in the sanity check: {type(exc).__name__} "
                               f"at {_where(exc)}: {exc}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return Outcome(case, "valid")


@dataclass
class Tally:
    """Outcome counts per area, and the failing outcomes."""

    counts: dict[str, Counter] = field(default_factory=dict)
    failures: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.counts.setdefault(outcome.case.area, Counter())[outcome.kind] += 1
        if not outcome.passed:
            self.failures.append(outcome)

    def total(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())

    def table(self) -> str:
        kinds = PASS + FAIL
        lines = ["| area | cases | " + " | ".join(kinds) + " |",
                 "|---|---|" + "---|" * len(kinds)]
        for area in sorted(self.counts):
            c = self.counts[area]
            lines.append(f"| {area} | {sum(c.values())} | "
                         + " | ".join(str(c[k]) for k in kinds) + " |")
        all_ = sum(self.counts.values(), Counter())
        lines.append(f"| **all** | {sum(all_.values())} | "
                     + " | ".join(str(all_[k]) for k in kinds) + " |")
        return "\n".join(lines)


class CLIError(Exception):
    """A CLI user error reported the way users must see it: exit status 2, one line on
    stderr naming the command, no traceback."""


class CLIMisreport(Exception):
    """A CLI failure reported wrongly: another exit status, several lines, a traceback."""


def run_cli(argv: list[str]) -> str:
    """Run ``ldsnn_lava.cli.main(argv)`` in this process; return its stdout on success, raise
    :class:`CLIError` for a well-reported user error and :class:`CLIMisreport` otherwise.
    An exception escaping ``main`` propagates (a leaked internal exception)."""
    import contextlib
    import io

    from ldsnn_lava.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit_:
            code = exit_.code
            status = code if isinstance(code, int) else 1
            if code is not None and not isinstance(code, int):
                err.write(str(code) + "\n")
    text = err.getvalue()
    lines = [line for line in text.splitlines() if line.strip() and "%|" not in line]
    if status == 0:
        return out.getvalue()
    if status == 2 and len(lines) == 1 and "Traceback" not in text \
            and lines[0].startswith("ldsnn"):
        raise CLIError(lines[0])
    raise CLIMisreport(f"exit status {status}, stderr: {text.strip()[:300]!r}")
