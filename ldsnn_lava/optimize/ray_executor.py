"""The search's evaluations on Ray: one actor per shard of the split, locally or on a cluster.

Each :class:`~ldsnn_lava.optimize.shards.ShardWorker` becomes a Ray actor holding its shard and
its own prefix cache; the network and the shards travel once, through Ray's object store, when
a split is opened. An evaluation sends every actor the schedule's timesteps and sums the
integer totals they return (:class:`~ldsnn_lava.optimize.split.ShardedSplit`).

Faults: an actor whose process dies is restarted by Ray (up to ``max_restarts`` times, from
the same shard, with an empty cache) and the call it was running is retried, so the search
goes on with the same results; past that, :class:`~ldsnn_lava.errors.ClusterError` is raised.
Ctrl-C (``KeyboardInterrupt``) kills the split's actors before it propagates, and closing the
executor shuts down the local Ray it started; on a cluster, only this job's actors are killed.

Ray is imported when a :class:`RayExecutor` is made, never by ``import ldsnn_lava``.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import numpy as np

from ldsnn_lava.errors import BackendUnavailable, ClusterError, InvalidOption
from ldsnn_lava.network import Network
from ldsnn_lava.optimize.executor import Executor, InProcessExecutor, ThreadExecutor, check_split
from ldsnn_lava.optimize.shards import ShardWorker, shard_bounds
from ldsnn_lava.optimize.split import ShardedSplit
from ldsnn_lava.options import Precision

INSTALL = "pip install 'ldsnn-lava[ray]' (ray==2.60.0)"


def _import_ray():
    try:
        import ray
    except ImportError as err:
        raise BackendUnavailable(f"Ray is not installed here ({err}); {INSTALL}") from None
    return ray


class RayExecutor(Executor):
    """Shard workers as Ray actors.

    Parameters
    ----------
    workers : int, optional
        Actors (shards) per split. Default: as many as the cluster's CPUs (GPUs if
        ``gpus_per_worker``) allow.
    address : str, optional
        A running cluster to join (``"auto"``, ``"HOST:6379"``, ``"ray://HOST:10001"``).
        Without it, and when Ray is not initialized in this process yet, a local Ray with
        ``workers * cpus_per_worker`` CPUs is started and shut down by :meth:`close`. When Ray
        is already initialized (e.g. by the caller's own ``ray.init``), that one is used and left
        running.
    cpus_per_worker : int
        CPUs each actor reserves; also its torch threads.
    gpus_per_worker : float
        GPUs each actor reserves (use ``device="cuda"`` in the split).
    max_restarts : int
        How often Ray restarts a lost actor (and retries the call it was running).
    worker_class : type
        :class:`~ldsnn_lava.optimize.shards.ShardWorker` or a subclass (tests inject faults
        with one).
    """

    def __init__(self, workers: int | None = None, address: str | None = None, *,
                 cpus_per_worker: int = 1, gpus_per_worker: float = 0, max_restarts: int = 3,
                 worker_class: type = ShardWorker):
        if workers is not None and workers < 1:
            raise InvalidOption(f"workers must be >= 1, got {workers}")
        if cpus_per_worker < 1 or gpus_per_worker < 0 or max_restarts < 0:
            raise InvalidOption(f"need cpus_per_worker >= 1, gpus_per_worker >= 0 and "
                                f"max_restarts >= 0, got {cpus_per_worker}, {gpus_per_worker}, "
                                f"{max_restarts}")
        self._ray = _import_ray()
        self.cpus_per_worker, self.gpus_per_worker = cpus_per_worker, gpus_per_worker
        self.max_restarts, self.worker_class = max_restarts, worker_class
        self._started = not self._ray.is_initialized()
        if self._started:
            if address:
                _check_reachable(address)
            local = {} if address else {"num_cpus": (workers or 1) * cpus_per_worker}
            try:
                self._ray.init(address=address, include_dashboard=False,
                               logging_level=logging.WARNING, **local)
            except ConnectionError as err:
                raise ClusterError(f"cannot join the Ray cluster at {address!r}: {err}; is it "
                                   f"running (ray start --head)? Ray clusters use token "
                                   f"authentication: set RAY_AUTH_MODE=token here and give "
                                   f"this machine the cluster's token") from None
        self.workers = workers or self._cluster_workers()
        self._actors: list = []

    def _cluster_workers(self) -> int:
        resources = self._ray.cluster_resources()
        if self.gpus_per_worker:
            return max(1, int(resources.get("GPU", 0) // self.gpus_per_worker))
        return max(1, int(resources.get("CPU", 1) // self.cpus_per_worker))

    def open_split(self, net: Network, x, y, *, device: str = "cpu",
                   precision: Precision | str = Precision.FLOAT, batch_size: int | None = None,
                   max_bytes: float = 512e6, keep_bytes: float | None = None,
                   chunk: int | None = None, network_for: Callable | None = None
                   ) -> ShardedSplit:
        ray = self._ray
        x, y = check_split(net, x, y, chunk)
        bounds = shard_bounds(len(y), self.workers)
        remote = ray.remote(self.worker_class).options(
            num_cpus=self.cpus_per_worker, num_gpus=self.gpus_per_worker,
            max_restarts=self.max_restarts, max_task_retries=self.max_restarts)
        # the network and the shards stay referenced (by ``close``) for the split's life: Ray
        # drops an actor's arguments once it has started, and a restarted actor needs them again
        net_ref = ray.put(net)
        shards = [(ray.put(np.ascontiguousarray(x[a:b])), ray.put(y[a:b])) for a, b in bounds]
        actors = [remote.remote(net_ref, xs, ys, device=device, precision=precision,
                                batch_size=batch_size, max_bytes=max_bytes * (b - a) / len(y),
                                keep_bytes=(keep_bytes or 0.0) * (b - a) / len(y), chunk=chunk,
                                threads=self.cpus_per_worker,
                                network_for=network_for)
                  for (xs, ys), (a, b) in zip(shards, bounds, strict=True)]
        arguments = [net_ref, shards]
        self._actors += actors

        def call(method: str, *args) -> list:
            refs = [getattr(actor, method).remote(*args) for actor in actors]
            results = []
            try:
                for i, ref in enumerate(refs):
                    try:
                        results.append(ray.get(ref))
                    except ray.exceptions.RayActorError as err:
                        a, b = bounds[i]
                        raise ClusterError(f"Ray worker {i} (samples {a}..{b - 1}) was lost "
                                         f"for good (restarts allowed: {self.max_restarts}): "
                                         f"{err}") from None
            except BaseException:  # Ctrl-C, a lost worker or an error in one shard
                self._kill(actors)
                raise
            return results

        def close() -> None:
            self._kill(actors)
            arguments.clear()

        return ShardedSplit(net, x, y, call, close, max_bytes, chunk)

    def _kill(self, actors: list) -> None:
        for actor in actors:
            if actor in self._actors:
                self._ray.kill(actor, no_restart=True)
                self._actors.remove(actor)

    def close(self) -> None:
        """Kill the actors still running; shut down the local Ray if this executor started
        it (disconnect from a cluster it joined)."""
        self._kill(list(self._actors))
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()


def _check_reachable(address: str) -> None:
    """Fail fast on a ``HOST:PORT`` nobody listens on (Ray itself retries for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms: Ray resolves them
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as err:
        raise ClusterError(f"cannot reach the Ray cluster at {address!r} ({err}); start it "
                           f"with `ray start --head --port {port}` on {host}") from None


def make_executor(workers: int | None = None, address: str | None = None, *,
                  device: str = "cpu", threads: int | None = None) -> Executor:
    """The executor the command line's ``--shard-threads``, ``--workers`` and ``--ray-address``
    ask for.

    Parameters
    ----------
    workers : int, optional
        Ray workers (shards). Without ``address``: starts a local Ray with this many.
    address : str, optional
        A running Ray cluster to join; ``workers`` then defaults to its CPUs (its GPUs with
        ``device="cuda"``).
    device : str
        Torch device of the workers; ``"cuda"`` reserves one GPU per worker.
    threads : int, optional
        Instead of Ray: this many shards on threads of this process
        (:class:`~ldsnn_lava.optimize.executor.ThreadExecutor`).

    Returns
    -------
    Executor
        :class:`~ldsnn_lava.optimize.executor.InProcessExecutor` when none is given (Ray is
        not imported), a :class:`~ldsnn_lava.optimize.executor.ThreadExecutor` for
        ``threads``, else a :class:`RayExecutor`.

    Raises
    ------
    InvalidOption
        For ``threads`` together with ``workers`` or ``address``.
    """
    if threads is not None:
        if workers is not None or address is not None:
            raise InvalidOption("shard threads run in this process: give them without Ray "
                                "workers or a Ray address")
        return ThreadExecutor(threads)
    if workers is None and address is None:
        return InProcessExecutor()
    return RayExecutor(workers, address, gpus_per_worker=1 if device.startswith("cuda") else 0)
