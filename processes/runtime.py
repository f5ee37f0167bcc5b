"""Lava runs that never hang and never leave processes or shared memory behind.

Lava 0.10 runs every process model in a forked child and talks to them through shared-memory
channels (``lava.magma.runtime``). What it offers, and where it falls short:

- A process model that raises sends ``ERROR`` to its runtime service, which would forward it to
  the runtime. But the service collects one answer per model per step, so when a model downstream
  is blocked receiving from the dead one, the service blocks too, the ``ERROR`` never arrives, and
  ``run()`` waits forever (the runtime's processes stay alive).
- ``stop()`` waits for the service to confirm; a dead or stuck service makes it wait forever.
- Children are plain forked processes: if the parent is killed, they live on (re-parented), and
  so do the ``/dev/shm/psm_*`` segments of their channels. A Ctrl-C reaches every child of the
  terminal's process group; they die of ``KeyboardInterrupt`` while the parent waits for them.
- In a daemonic process (a ``multiprocessing.Pool`` worker) Lava cannot start its children.

:class:`GuardedRuntime` is Lava's ``Runtime`` with these gaps closed, and nothing else changed:

- while it starts its children, a fork hook gives each one ``PR_SET_PDEATHSIG = SIGKILL`` (the
  kernel kills it when the parent dies) and makes it ignore SIGINT (the parent decides);
- it starts each run and then waits, polling the runtime service's answer channel, woken by the
  channel or by any child's exit; a child that exits during a run, or an ``ERROR`` answer, raises
  :class:`~ldsnn_lava.errors.LavaRunError` naming the process (and, for our own process
  models, the time step) within about a second;
- any exception while it waits (``KeyboardInterrupt`` included) and any failure kill the children
  (SIGKILL) and shut the shared-memory manager down, which unlinks every segment; after a
  completed run, ``stop()`` uses Lava's own protocol, with a deadline;
- in a daemonic process it lifts the daemon flag while it starts its children: they cannot
  outlive the worker, as the parent-death signal kills them.

If the parent is killed with SIGKILL, its children get SIGKILL from the kernel, and Python's
resource tracker (which outlives them) unlinks the segments that are left. The process-wide signal
dispositions are the application's: this module installs no signal handler.

:func:`create_runtime` compiles a process graph and starts it on a :class:`GuardedRuntime`;
:class:`ldsnn_lava.processes.LDNetwork` and :func:`ldsnn_lava.to_lava` use it. A graph started by
Lava's own ``AbstractProcess.run`` gets Lava's plain ``Runtime``.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import socket
import threading
import time
from multiprocessing import connection, current_process

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
from lava.magma.compiler.builders.py_builder import PyProcessBuilder
from lava.magma.core.process.message_interface_enum import ActorType
from lava.magma.runtime.mgmt_token_enums import MGMT_COMMAND, MGMT_RESPONSE, enum_equal
from lava.magma.runtime.runtime import Runtime

from ldsnn_lava.errors import LavaRunError

STOP_TIMEOUT = 5.0
"""Seconds a completed run's ``stop()`` waits for Lava's own shutdown before killing."""
EXCEPTION_GRACE = 1.0
"""Seconds a failing child gets to deliver its exception before the others are killed."""
POLL_INTERVAL = 0.25
"""Seconds between liveness checks while a run waits (it also wakes on every answer)."""

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_starting = threading.local()  # .parent: the pid whose children are being started, or None
_fork_hook_installed = False


def _guard_child() -> None:
    """Runs in every forked child; acts only in children a GuardedRuntime is starting."""
    parent = getattr(_starting, "parent", None)
    if parent is None:
        return
    _starting.parent = None  # the child's own children are not ours to guard
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: no parent-death signal
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _install_fork_hook() -> None:
    global _fork_hook_installed
    if not _fork_hook_installed:
        os.register_at_fork(after_in_child=_guard_child)
        _fork_hook_installed = True


HELD_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGALRM")
"""Signals whose Python handlers wait while a runtime is compiled and started."""


class _HeldSignals:
    """Holds the Python handlers of :data:`HELD_SIGNALS` back (main thread only) and runs them,
    in order, when the context exits: an exception they raise then leaves a consistent state.
    Raised anywhere inside, it could land in the middle of an import (a half-initialized module
    breaks every later run in the process), between a fork and Lava's record of the child (a
    child nobody knows cannot be killed) or in a finalizer (where Python swallows it)."""

    def __enter__(self):
        self._held, self._handlers = [], {}
        if threading.current_thread() is threading.main_thread():
            for name in HELD_SIGNALS:
                signum = getattr(signal, name)
                handler = signal.getsignal(signum)
                if callable(handler):
                    self._handlers[signum] = handler
                    signal.signal(signum, self._hold)
        return self

    def _hold(self, signum, frame):
        self._held.append((signum, frame))

    def __exit__(self, *exc):
        for signum, handler in self._handlers.items():
            signal.signal(signum, handler)
        for signum, frame in self._held:
            self._handlers[signum](signum, frame)
        return False


class _StartingChildren(_HeldSignals):
    """Context of a runtime's start: signals are held (see :class:`_HeldSignals`), children get
    the fork guard, and a daemonic process may fork."""

    def __enter__(self):
        super().__enter__()
        _install_fork_hook()
        self._process = current_process()
        self._daemon = self._process._config.get("daemon")
        if self._daemon:
            self._process._config["daemon"] = False
        _starting.parent = os.getpid()
        return self

    def __exit__(self, *exc):
        _starting.parent = None
        if self._daemon:
            self._process._config["daemon"] = self._daemon
        return super().__exit__(*exc)


class GuardedRuntime(Runtime):
    """Lava's ``Runtime`` that never hangs and never orphans (see the module docstring)."""

    def __init__(self, exe, message_infrastructure_type=ActorType.MultiProcessing,
                 loglevel: int = 30):
        super().__init__(exe, message_infrastructure_type, loglevel)
        self._failed = False
        self._killed = False
        # the answer channel's observer wakes the wait through it; a socket, not a pipe, so a
        # late wake after close() raises instead of writing to a reused file descriptor
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)

    # --- start ---------------------------------------------------------------------------------

    def initialize(self, node_cfg_idx: int = 0):
        """Lava's ``initialize`` with guarded children and a build check that cannot hang."""
        earlier = set(multiprocessing.active_children())
        try:
            with _StartingChildren():
                self._build_watchdog_manager()
                self._build_message_infrastructure()
                self._build_channels()
                self._build_sync_channels()
                self._build_processes()
                self._build_runtime_services()
                self._start_ports()
            self._check_built()
        except BaseException:
            self._failed = True
            self.kill()
            _kill_children_since(earlier)
            raise
        del self.exception_q
        self._is_initialized = True

    def _check_built(self) -> None:
        """Wait for every child's build report (Lava waits without watching the child)."""
        for queue, actor in zip(self.exception_q, self._actors(), strict=True):
            while not queue._reader.poll():
                if not actor.is_alive():
                    raise LavaRunError(f"Lava process {self._describe(actor)} exited while "
                                       f"it was built (exit code {actor.exitcode})")
                connection.wait([queue._reader, actor.sentinel], timeout=POLL_INTERVAL)
            error = queue.get()
            if error is not None:
                raise LavaRunError(f"Lava process {self._describe(actor)} could not be built: "
                                   f"{type(error).__name__}: {error}") from error

    # --- run -----------------------------------------------------------------------------------

    def start(self, run_condition):
        """Lava's ``start``, refused once the runtime was killed (its children are gone)."""
        if self._killed:
            raise LavaRunError("this Lava runtime was stopped after a failure or an "
                               "interruption; build the processes again to run them")
        super().start(run_condition)

    def _get_resp_for_run(self):
        """Wait for the end of a run without blocking in Lava's channels, then let Lava read the
        answers (as its blocking ``run`` and ``wait`` do)."""
        if not self._is_running:
            return
        ports = list(self.service_to_runtime)
        try:
            for port in ports:
                port.observer = self._wake
            sentinels = [actor.sentinel for actor in self._actors()]
            while not all(port.probe() for port in ports):
                if not all(actor.is_alive() for actor in self._actors()):
                    self._raise_failure()
                connection.wait([self._wake_read, *sentinels], timeout=POLL_INTERVAL)
                self._drain_wakes()
            if any(enum_equal(port.peek(), MGMT_RESPONSE.ERROR) for port in ports):
                self._raise_failure()
        except BaseException:
            self._failed = True
            self.kill()
            raise
        finally:
            for port in ports:
                port.observer = None
        super()._get_resp_for_run()

    def _raise_failure(self):
        """Collect the failing children's exceptions, kill the rest, raise LavaRunError."""
        deadline = time.monotonic() + EXCEPTION_GRACE
        while True:
            errors = [(actor, actor.exception) for actor in self._actors()
                      if not actor.is_alive() and actor.exception]
            if errors or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        exited = [(self._describe(actor), actor.exitcode) for actor in self._actors()
                  if not actor.is_alive()]
        described = [(self._describe(actor), error) for actor, (error, _trace) in errors]
        self._failed = True
        self.kill()
        if described:
            name, error = described[0]
            notes = "; ".join(getattr(error, "__notes__", ()))
            raise LavaRunError(f"Lava process {name} failed{' ' + notes if notes else ''}: "
                               f"{type(error).__name__}: {error}") from error
        raise LavaRunError("Lava process(es) exited during the run: "
                           + ", ".join(f"{name} (exit code {code})" for name, code in exited))

    # --- stop ----------------------------------------------------------------------------------

    def stop(self):
        """Stop the runtime: Lava's protocol after a completed run (killing what has not
        stopped after :data:`STOP_TIMEOUT` s), a kill after a failure or an interruption."""
        if self._killed:
            return
        try:
            if self._is_started and not self._failed:
                self._stop_gracefully()
        finally:
            self.kill()

    def _stop_gracefully(self) -> None:
        for port in self.runtime_to_service:
            port.send(MGMT_COMMAND.STOP)
        deadline = time.monotonic() + STOP_TIMEOUT
        for port in self.service_to_runtime:
            port.observer = self._wake
            try:
                while not (port.probe() and enum_equal(port.recv(), MGMT_RESPONSE.TERMINATED)):
                    if time.monotonic() > deadline:
                        raise LavaRunError(f"the Lava runtime did not stop within "
                                           f"{STOP_TIMEOUT:g} s; its processes were killed")
                    connection.wait([self._wake_read], timeout=POLL_INTERVAL)
                    self._drain_wakes()
            finally:
                port.observer = None
        self.join()
        for actor in self._actors():
            actor._popen.wait(max(0.0, deadline - time.monotonic()))

    def kill(self) -> None:
        """Kill every child that is still alive, reap them all, unlink the shared memory.
        Idempotent; the runtime cannot run again afterwards. Signal handlers are held back
        meanwhile (a Ctrl-C raised halfway would leave children alive)."""
        if self._killed:
            return
        self._killed = True
        with _HeldSignals():
            self._kill()

    def _kill(self) -> None:
        actors = [actor for actor in self._actors() if actor._popen is not None]
        for actor in actors:
            if actor.is_alive():
                try:
                    os.kill(actor.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for actor in actors:
            actor.join()
        self._is_running = self._is_started = False
        _shut_down_shared_memory(self._messaging_infrastructure)
        if self._watchdog_manager is not None:
            self._watchdog_manager.stop()
        self._wake_read.close()
        self._wake_write.close()

    # --- helpers -------------------------------------------------------------------------------

    def _actors(self) -> list:
        """Lava's child processes: one per Python process model, then one per runtime service."""
        infrastructure = self._messaging_infrastructure
        return [] if infrastructure is None else list(infrastructure.actors)

    def _describe(self, actor) -> str:
        """``'name' (ProcessClass, ModelClass)`` of the process a child runs."""
        models = [(process, builder) for process, builder in
                  self._executable.proc_builders.items() if isinstance(builder, PyProcessBuilder)]
        index = self._actors().index(actor)
        if index >= len(models):
            return "(the runtime service)"
        process, builder = models[index]
        return f"{process.name!r} ({type(process).__name__}, {builder.proc_model.__name__})"

    def _wake(self) -> None:
        try:
            self._wake_write.send(b"!")
        except OSError:  # full (a wake is pending anyway) or closed
            pass

    def _drain_wakes(self) -> None:
        try:
            while self._wake_read.recv(4096):
                pass
        except BlockingIOError:
            pass


def _shut_down_shared_memory(infrastructure) -> None:
    """Shut Lava's shared-memory manager down (it unlinks every segment); one that was
    interrupted while it started has no ``shutdown`` yet and is killed (it made no segment)."""
    if infrastructure is None or infrastructure.smm is None:
        return
    manager = infrastructure.smm._manager
    if manager is None:
        return
    if hasattr(manager, "shutdown"):
        infrastructure.smm.shutdown()
        return
    server = getattr(manager, "_process", None)
    if server is not None and server._popen is not None:
        server.kill()
        server.join()
    infrastructure.smm._manager = None


def _kill_children_since(earlier: set) -> None:
    """Kill and reap every multiprocessing child started after ``earlier`` was taken: an
    interruption can land inside Lava's start-up after a child (e.g. the shared-memory
    manager's server) was forked but before the runtime recorded it."""
    for child in set(multiprocessing.active_children()) - earlier:
        child.kill()
        child.join()


def create_runtime(process, run_cfg, compile_config: dict | None = None) -> GuardedRuntime:
    """Compile the graph of ``process`` and start it on a :class:`GuardedRuntime`.

    This is Lava's ``AbstractProcess.create_runtime`` with the guarded runtime; afterwards
    ``process.run(condition)``, ``wait()`` and ``stop()`` work as in Lava.

    Parameters
    ----------
    process : AbstractProcess
        Any process of the graph.
    run_cfg : RunConfig
        E.g. ``Loihi2SimCfg(select_tag="floating_pt")``.
    compile_config : dict, optional
        Passed to Lava's compiler.
    """
    with _HeldSignals():  # the compiler imports modules lazily
        executable = process.compile(run_cfg, compile_config)
    runtime = GuardedRuntime(executable, ActorType.MultiProcessing,
                             loglevel=process._log_config.level)
    process._runtime = runtime
    executable.assign_runtime_to_all_processes(runtime)
    runtime.initialize()
    return runtime
