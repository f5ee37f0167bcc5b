"""Fault-injecting shard workers for the Ray executor's tests: real process deaths
(``os._exit``) in the middle of a call, as a crashed or killed machine would cause.

Ray pickles these classes by value (``ray.cloudpickle.register_pickle_by_value``), so the
workers need not import this module. The directory of the marker files comes from the
environment variable ``LDSNN_FAULT_DIR`` (set through the test's Ray ``runtime_env``).
"""

from __future__ import annotations

import os
from pathlib import Path

from ldsnn_lava.optimize.shards import ShardWorker


class DiesOnce(ShardWorker):
    """On its third ``evaluate`` call, after evaluating, the first worker to get there writes
    ``died`` (its pid) and exits its process without answering; the restarted worker (empty
    cache, same shard) and every other worker go on normally."""

    calls = 0

    def evaluate(self, schedules):
        out = super().evaluate(schedules)
        self.calls += 1
        if self.calls == 3:
            try:
                fd = os.open(Path(os.environ["LDSNN_FAULT_DIR"]) / "died",
                             os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return out
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            os._exit(1)
        return out


class AlwaysDies(ShardWorker):
    """Exits its process on every ``evaluate`` call."""

    def evaluate(self, schedules):
        os._exit(1)
