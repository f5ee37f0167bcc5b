"""Where the search's evaluations run: in this process (the default) or on Ray workers.

An :class:`Executor` places a split's shards on its workers (:meth:`Executor.open_split`) and
returns a :class:`~ldsnn_lava.optimize.split.ShardedSplit`, which the optimizer uses as its
prefix cache and for the uniform sweep. Each evaluation of a schedule is data-parallel: every
worker evaluates it on its own shard, through its own prefix cache, and the integer totals are
summed. The results (schedules, accuracies, counters, work charged) are the same for any
executor and any number of workers (:mod:`ldsnn_lava.optimize.shards` says why).

:class:`InProcessExecutor` runs the shards one after another in this process and imports
nothing new; :class:`ThreadExecutor` runs them at the same time on threads of this process,
torch on one thread in each (the GIL is released inside torch's operations and the compiled
neuron loops, so the shards' heavy work overlaps);
:class:`ldsnn_lava.optimize.ray_executor.RayExecutor` runs one Ray actor per shard, on this
machine or a cluster; :func:`ldsnn_lava.optimize.ray_executor.make_executor` picks one from the
command line's ``--shard-threads``, ``--workers`` and ``--ray-address``.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from ldsnn_lava import validate
from ldsnn_lava.errors import InvalidOption
from ldsnn_lava.network import Network
from ldsnn_lava.optimize.cache import ld_schedule
from ldsnn_lava.optimize.shards import ShardWorker, shard_bounds
from ldsnn_lava.optimize.split import ShardedSplit
from ldsnn_lava.options import Precision


class Executor(ABC):
    """Runs shard workers; a context manager that releases them (and any cluster it started).

    Attributes
    ----------
    workers : int
        How many shards a split is cut into.
    """

    workers: int

    @abstractmethod
    def open_split(self, net: Network, x, y, *, device: str = "cpu",
                   precision: Precision | str = Precision.FLOAT, batch_size: int | None = None,
                   max_bytes: float = 512e6, keep_bytes: float | None = None,
                   chunk: int | None = None, network_for: Callable | None = None
                   ) -> ShardedSplit:
        """Cut ``(x, y)`` into :attr:`workers` contiguous shards and place one on each worker.

        Parameters
        ----------
        net : Network
        x, y : array-like
            The split: ``(N, *net.input_shape)`` inputs (sequences: ``(N, S,
            *net.input_shape)``) and ``(N,)`` integer labels.
        device, precision, batch_size, chunk
            As for :class:`~ldsnn_lava.optimize.cache.PrefixCache`, on every worker.
        max_bytes : float
            Cache bound of the whole split that the charges assume (each worker books its
            shard's share of it).
        keep_bytes : float, optional
            Bytes of spike counts the workers really keep, together (default and at least
            ``max_bytes``; each its shard's share): more re-runs fewer stages, never changing a
            result.
        network_for : callable, optional
            The network to run for given timesteps (calibration), on every worker.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the workers and anything the executor started."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_split(net: Network, x, y, chunk: int | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` checked as a validation split of ``net`` (:mod:`ldsnn_lava.validate`, on the
    whole split, so that messages name samples by their index in it), as numpy arrays."""
    sequence = net.input_encoding.is_sequence
    checked = validate.inputs(x, net, "validation input", schedule=ld_schedule(
        [chunk] * net.num_stages, chunk) if sequence else None)
    labels = validate.labels(y, checked.x.shape[0], net.num_classes, "validation labels")
    return checked.x.numpy(force=True), labels


class InProcessExecutor(Executor):
    """Shards evaluated one after another in this process (default: one shard, which is the
    single-process search exactly).

    Parameters
    ----------
    shards : int
        Shards to cut a split into (more than one only to check that sharding changes
        nothing, or to bound a shard's memory).
    """

    #: the CPU clock of each worker's ``cpu_seconds``
    clock: Callable[[], float] = staticmethod(time.process_time)

    def __init__(self, shards: int = 1):
        if shards < 1:
            raise InvalidOption(f"shards must be >= 1, got {shards}")
        self.workers = shards

    def open_split(self, net: Network, x, y, *, device: str = "cpu",
                   precision: Precision | str = Precision.FLOAT, batch_size: int | None = None,
                   max_bytes: float = 512e6, keep_bytes: float | None = None,
                   chunk: int | None = None, network_for: Callable | None = None
                   ) -> ShardedSplit:
        x, y = check_split(net, x, y, chunk)
        split: ShardedSplit | None = None

        def first_shard_done() -> None:  # the first shard's progress is the split's
            if split is not None:
                split.schedule_done()

        workers = [ShardWorker(net, x[a:b], y[a:b], device=device, precision=precision,
                               batch_size=batch_size, max_bytes=max_bytes * (b - a) / len(y),
                               keep_bytes=(keep_bytes or 0.0) * (b - a) / len(y), chunk=chunk,
                               network_for=network_for, clock=self.clock,
                               stop=self._stopping, on_schedule=None if a else first_shard_done)
                   for a, b in shard_bounds(len(y), self.workers)]
        run = self._runner()

        def call(method: str, *args) -> list:
            return run(lambda worker: getattr(worker, method)(*args), workers)

        split = ShardedSplit(net, x, y, call, workers.clear, max_bytes, chunk)
        return split

    def _runner(self) -> Callable[[Callable, list], list]:
        """``run(fn, workers)``: ``fn`` of every worker, in the workers' order."""
        return lambda fn, workers: [fn(worker) for worker in workers]

    def _stopping(self) -> bool:
        """Whether the workers should stop (asked between schedules): never in process, where
        Ctrl-C interrupts the evaluation itself."""
        return False

    def close(self) -> None:
        """Nothing to release: each split's workers go with the split."""


class ThreadExecutor(InProcessExecutor):
    """Shards evaluated at the same time on ``threads`` threads of this process.

    While a split is open, torch runs on one thread per shard (``torch.set_num_threads(1)``,
    restored by :meth:`close`): on these networks' narrow layers, one shard per core beats one
    process whose operations torch splits over the cores. Ray is not needed; the results are
    those of :class:`InProcessExecutor` exactly (see :mod:`ldsnn_lava.optimize.shards`).

    Parameters
    ----------
    threads : int
        Threads, one shard each (e.g. the machine's cores).
    """

    clock = staticmethod(time.thread_time)

    def __init__(self, threads: int):
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise InvalidOption(f"threads must be an integer >= 1, got {threads!r}")
        self.workers = threads
        self._pool: ThreadPoolExecutor | None = None
        self._stop = threading.Event()  # set by close: the threads stop between schedules
        self._saved_torch_threads = 0  # torch's thread count before the pool started

    def _stopping(self) -> bool:
        return self._stop.is_set()

    def _runner(self) -> Callable[[Callable, list], list]:
        if self._pool is None:
            self._stop.clear()
            self._saved_torch_threads = torch.get_num_threads()
            torch.set_num_threads(1)
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="ldsnn-shard")
        pool = self._pool
        return lambda fn, workers: list(pool.map(fn, workers))

    def close(self) -> None:
        """Stop the threads (each after the schedule it is evaluating) and restore torch's
        thread count."""
        if self._pool is not None:
            self._stop.set()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            torch.set_num_threads(self._saved_torch_threads)
