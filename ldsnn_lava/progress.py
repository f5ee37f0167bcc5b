"""Progress of long tasks: a bar on a terminal, plain lines in logs.

A search of minutes that prints nothing looks hung. :class:`Progress` shows a tqdm bar when
stderr is a terminal; when it is not (a log file, a CI job, a pipe) and progress was asked for,
it writes a line to stderr every ``interval`` seconds and one at the end, e.g.
``optimize: 40 schedules, work 12.3 of 100 passes, 35 s``. The library's default
(``enabled=None``) shows the bar on a terminal and nothing otherwise; the command line asks for
progress, so its long runs always report.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from tqdm.auto import tqdm

DEFAULT_INTERVAL = 30.0
"""Seconds between progress lines when stderr is not a terminal."""


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Counts steps of a task and reports them (module docstring).

    Parameters
    ----------
    desc : str
        What runs, first word of every line (e.g. ``"optimize"``).
    unit : str
        What a step is (e.g. ``"schedules"``).
    total : int, optional
        Steps expected, if known.
    enabled : bool or None
        ``True``: a bar on a terminal, else lines; ``None``: a bar on a terminal, else
        nothing; ``False``: nothing.
    detail : callable, optional
        Returns extra text for each line (e.g. the work spent so far).
    interval : float
        Seconds between lines.
    stream : file, optional
        Where to report (default ``sys.stderr`` at the time of the call).

    Examples
    --------
    >>> with Progress("evaluate", "batches", total=3, enabled=False) as progress:
    ...     for _ in range(3):
    ...         progress.update()
    """

    def __init__(self, desc: str, unit: str, *, total: int | None = None,
                 enabled: bool | None = None, detail: Callable[[], str] | None = None,
                 interval: float = DEFAULT_INTERVAL, stream: TextIO | None = None):
        self.desc, self.unit, self.total, self.detail = desc, unit, total, detail
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.count = 0
        self._reported = -1  # the count of the last line written
        self._start = self._last = time.perf_counter()
        terminal = is_terminal(self.stream)
        self._bar = None
        self._lines = bool(enabled) and not terminal
        if enabled is not False and terminal:
            self._bar = tqdm(desc=desc, unit=unit, total=total, leave=False, file=self.stream)

    def update(self, n: int = 1) -> None:
        """``n`` more steps done."""
        self.count += n
        if self._bar is not None:
            self._bar.update(n)
        elif self._lines and time.perf_counter() - self._last >= self.interval:
            self.line()

    def line(self, note: str = "") -> None:
        """Write a progress line now (only in line mode), ending in ``note``."""
        if not self._lines:
            return
        self._reported = self.count
        self._last = now = time.perf_counter()
        done = f"{self.count}" if self.total is None else f"{self.count}/{self.total}"
        extra = f", {self.detail()}" if self.detail is not None else ""
        print(f"{self.desc}: {done} {self.unit}{extra}, {now - self._start:.0f} s{note}",
              file=self.stream, flush=True)

    def close(self) -> None:
        """End the task: close the bar, or write the final line."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._lines:
            if self._reported != self.count or self.count == 0:
                self.line(" (done)")
            self._lines = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None:
            self._lines = False  # no "done" line for a task that failed
        self.close()
