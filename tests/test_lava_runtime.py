"""Lava runs never hang and never leave processes or shared memory behind.

- An exception injected into each kind of process model (input, IF / CubaLIF / readout stage,
  buffer, readout; step and window models; float and fixed) reaches the caller as a LavaRunError
  naming the process and the time step, well within 10 s, with every child reaped and every
  shared-memory segment of the run unlinked.
- SIGINT (to the process group, as a terminal sends it), SIGTERM and SIGKILL of ``ldsnn evaluate
  --backend lava`` in the middle of a run: the CLI exits 130 / 143 with one line, and within 10 s
  of the signal no process of the run is alive and none of its ``/dev/shm`` segments exists
  (read from /proc and /dev/shm).
- A run inside a ``multiprocessing.Pool`` worker (a daemonic process) gives the engine's result.

The injected failures replace a model class's ``step`` in this process; Lava forks its children
from it, so they run the replacement.
"""

from __future__ import annotations

import _thread
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from ldsnn_procfs import alive, children_of_this_process, descendants, existing, shm_segments

from ldsnn_lava import IF, CubaLIF, Dense, Network, Schedule, Stage, evaluate
from ldsnn_lava.errors import LavaRunError

pytestmark = [pytest.mark.lava,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]

FAIL_AT = 3
"""The Lava time step at which the injected failure raises."""
BOUND = 10.0
"""Seconds within which a failure must surface (a liveness bound, not a speed target: a normal
compile and start takes 1-3 s here)."""


def three_stage_net() -> Network:
    """IF stage, CubaLIF stage, readout: integer parameters, so float and fixed both run it."""
    return Network((4,), [Stage([Dense(np.ones((3, 4)))], IF(2.0, v_init=1.0)),
                          Stage([Dense(np.ones((3, 3)))], CubaLIF(2.0, 0.5, 0.25)),
                          Stage([Dense(np.ones((2, 3)))], None)])


def model_class(kind: str, model: str, precision: str) -> type:
    """The process-model class of a process kind, model kind and precision."""
    from ldsnn_lava.processes.ld_buffer import models as buffer_models
    from ldsnn_lava.processes.ld_buffer import window_models as buffer_window
    from ldsnn_lava.processes.ld_input import models as input_models
    from ldsnn_lava.processes.ld_input import window_models as input_window
    from ldsnn_lava.processes.ld_readout import models as readout_models
    from ldsnn_lava.processes.ld_readout import window_models as readout_window
    from ldsnn_lava.processes.ld_stage import models as stage_models
    from ldsnn_lava.processes.ld_stage import window_models as stage_window

    window = model == "window"
    modules = {"input": (input_models, input_window, "LDInput"),
               "if_stage": (stage_models, stage_window, "LDIFStage"),
               "cubalif_stage": (stage_models, stage_window, "LDCubaLIFStage"),
               "readout_stage": (stage_models, stage_window, "LDReadoutStage"),
               "buffer": (buffer_models, buffer_window, "LDBuffer"),
               "readout": (readout_models, readout_window, "LDReadout")}
    step_module, window_module, process = modules[kind]
    name = f"Py{process}{'Window' if window else ''}Model{precision.capitalize()}"
    return getattr(window_module if window else step_module, name)


PROCESS_NAMES = {"input": ("input",), "if_stage": ("stage0",), "cubalif_stage": ("stage1",),
                 "readout_stage": ("stage2",), "buffer": ("buffer0", "buffer1"),
                 "readout": ("readout",)}
"""The processes of ``three_stage_net`` each model class runs (both buffers may fail first)."""


@pytest.fixture
def created_segments(monkeypatch):
    """Records the name of every shared-memory segment Lava creates during the test."""
    from lava.magma.runtime.message_infrastructure.shared_memory_manager import (
        SharedMemoryManager,
    )

    names: list[str] = []
    create = SharedMemoryManager.create_shared_memory

    def recording(self, size):
        handle = create(self, size)
        names.append(handle.name)
        return handle

    monkeypatch.setattr(SharedMemoryManager, "create_shared_memory", recording)
    return names


@pytest.fixture
def children_before() -> set[int]:
    """This process's children before the test: what a run leaves is compared with them."""
    return children_of_this_process()


class Deadline:
    """Interrupts the main thread if the block outlives ``seconds`` (so a regression to a hang
    fails the test instead of blocking the suite)."""

    def __init__(self, seconds: float):
        self._timer = threading.Timer(seconds, _thread.interrupt_main)

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()
        return False


@pytest.mark.parametrize("precision", ["float", "fixed"])
@pytest.mark.parametrize("model", ["step", "window"])
@pytest.mark.parametrize("kind", list(PROCESS_NAMES))
def test_injected_exception_raises_names_process_and_step(kind, model, precision, monkeypatch,
                                                          created_segments, children_before):
    from ldsnn_lava.processes.graph import to_lava

    target = model_class(kind, model, precision)

    def failing_step(self):
        if self.time_step == FAIL_AT:
            raise ZeroDivisionError("injected failure")
        original(self)

    original = target.step
    monkeypatch.setattr(target, "step", failing_step)
    runner = to_lava(three_stage_net(), Schedule([2, 3, 2], "rate"), precision, model)
    start = time.monotonic()
    with Deadline(60), pytest.raises(LavaRunError) as raised:
        runner.run(np.ones((4, 4)))
    elapsed = time.monotonic() - start
    message = str(raised.value)
    assert any(f"'{name}'" in message for name in PROCESS_NAMES[kind]), message
    assert target.__name__ in message
    assert f"at time step {FAIL_AT}" in message
    assert "ZeroDivisionError: injected failure" in message
    assert isinstance(raised.value.__cause__, ZeroDivisionError)
    assert elapsed < BOUND, f"the failure took {elapsed:.1f} s to surface"
    assert children_of_this_process() - children_before == set()
    assert created_segments and existing(created_segments) == []


def test_a_model_that_fails_while_built_raises(monkeypatch, created_segments, children_before):
    from ldsnn_lava.processes.graph import to_lava
    from ldsnn_lava.processes.ld_buffer.models import BufferModel

    def failing_init(self, proc_params):
        raise RuntimeError("cannot build")

    monkeypatch.setattr(BufferModel, "__init__", failing_init)
    with Deadline(60), pytest.raises(LavaRunError, match="'buffer[01]'.*could not be built"):
        to_lava(three_stage_net(), Schedule([2, 3, 2], "rate")).run(np.ones((2, 4)))
    assert children_of_this_process() - children_before == set()
    assert existing(created_segments) == []


@pytest.mark.parametrize("phase", ["_build_message_infrastructure", "_build_channels",
                                   "_build_processes", "_build_runtime_services"])
def test_an_interrupt_while_the_runtime_starts_leaves_nothing(phase, monkeypatch,
                                                               created_segments, children_before):
    """Ctrl-C right after each phase of the runtime's start: children killed, memory freed."""
    from ldsnn_lava.processes.graph import to_lava
    from ldsnn_lava.processes.runtime import GuardedRuntime

    original = getattr(GuardedRuntime, phase)

    def interrupted(self):
        original(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(GuardedRuntime, phase, interrupted)
    with Deadline(60), pytest.raises(KeyboardInterrupt):
        to_lava(three_stage_net(), Schedule([2, 3, 2], "rate")).run(np.ones((2, 4)))
    assert children_of_this_process() - children_before == set()
    assert existing(created_segments) == []


def test_a_signal_during_the_start_is_held_until_the_children_are_known(monkeypatch,
                                                                      created_segments,
                                                                      children_before):
    """A signal whose handler raises, arriving while the runtime forks its children, takes
    effect once the start is complete: the exception propagates and nothing is left."""
    from ldsnn_lava.processes.graph import to_lava
    from ldsnn_lava.processes.runtime import GuardedRuntime

    original = GuardedRuntime._build_processes
    delivered = []

    def build_and_signal(self):
        os.kill(os.getpid(), signal.SIGUSR1)  # in the middle of the forks
        original(self)
        delivered.append(True)

    def handler(signum, frame):
        raise KeyboardInterrupt("signalled during the start")

    monkeypatch.setattr(GuardedRuntime, "_build_processes", build_and_signal)
    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        with Deadline(60), pytest.raises(KeyboardInterrupt, match="during the start"):
            to_lava(three_stage_net(), Schedule([2, 3, 2], "rate")).run(np.ones((2, 4)))
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert delivered == [True]  # every child was started before the handler ran
    assert children_of_this_process() - children_before == set()
    assert existing(created_segments) == []


def test_a_model_run_in_the_other_precision_is_refused(children_before):
    """Var values of a fixed process are fixed-point integers; a float model refuses them."""
    from ldsnn_lava.processes.graph import to_lava

    graph = to_lava(three_stage_net(), Schedule([2, 3, 2], "rate"), "fixed").build(np.ones((1, 4)))
    with Deadline(60), pytest.raises(LavaRunError, match="built for fixed precision"):
        graph.run("floating_pt")
    assert children_of_this_process() - children_before == set()


def test_completed_runs_leave_nothing_behind(created_segments, children_before):
    from ldsnn_lava.processes.graph import to_lava

    net, schedule = three_stage_net(), Schedule([2, 3, 2], "rate", "pipelined")
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    got = to_lava(net, schedule).run(x)
    ref = evaluate(net, schedule, x, dtype=torch.float64)
    np.testing.assert_array_equal(got.readout, ref.readout)
    assert children_of_this_process() - children_before == set()
    assert created_segments and existing(created_segments) == []


# --- signals, from outside: the CLI running a long Lava job ---------------------------------

def start_cli_job(tmp_path) -> tuple[subprocess.Popen, list[int], set[str]]:
    """Start ``ldsnn evaluate mlp_digits --backend lava`` on a schedule long enough to be
    running for minutes, in its own session; wait until its Lava runtime is up. Returns the
    process, the pids of its descendants and the shared-memory segments they map."""
    schedule = tmp_path / "long.json"
    Schedule.uniform(3, 64).save(schedule)  # mlp_digits has 3 stages: 192 steps per sample
    job = subprocess.Popen([sys.executable, "-m", "ldsnn_lava.cli", "evaluate", "mlp_digits",
                            "--schedule", str(schedule), "--backend", "lava"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        kids = descendants(job.pid)
        segments = shm_segments([job.pid, *kids])
        if len(kids) >= 5 and len(segments) >= 10:  # the runtime's children and channels
            time.sleep(1.0)  # inside the run
            kids = descendants(job.pid)
            return job, kids, shm_segments([job.pid, *kids])
        if job.poll() is not None:
            break
        time.sleep(0.2)
    job.kill()
    pytest.fail(f"the Lava job did not start: {job.communicate()[1][-2000:]}")


@pytest.mark.parametrize("how", ["SIGINT to the group", "SIGTERM", "SIGKILL"])
def test_a_signal_stops_a_lava_job_and_leaves_nothing(how, tmp_path):
    job, kids, segments = start_cli_job(tmp_path)
    sent = time.monotonic()
    if how == "SIGINT to the group":
        signal_number = signal.SIGINT
        os.killpg(job.pid, signal.SIGINT)
    else:
        signal_number = getattr(signal, how)
        job.send_signal(signal_number)
    try:
        _, stderr = job.communicate(timeout=BOUND)
    except subprocess.TimeoutExpired:
        job.kill()
        pytest.fail(f"the job was still running {BOUND:g} s after {how}")
    while (alive(kids) or existing(segments)) and time.monotonic() - sent < BOUND:
        time.sleep(0.2)
    left = alive(kids)
    for pid in left:  # clean up before failing
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"processes alive {BOUND:g} s after {how}"
    assert existing(segments) == [], f"shared memory left {BOUND:g} s after {how}"
    lines = [line for line in stderr.strip().splitlines()  # progress lines may come first
             if not line.startswith("lava: ")]
    if signal_number == signal.SIGINT:
        assert job.returncode == 130 and lines == ["ldsnn: interrupted"], stderr[-2000:]
    elif signal_number == signal.SIGTERM:
        assert job.returncode == 143 and lines == ["ldsnn: terminated"], stderr[-2000:]
    else:
        assert job.returncode == -signal.SIGKILL


# --- a daemonic multiprocessing worker --------------------------------------------------------

def _lava_readout(scale: float) -> np.ndarray:
    from ldsnn_lava.processes.graph import to_lava

    return to_lava(three_stage_net(), Schedule([2, 3, 2], "rate")).run(
        np.ones((2, 4)) * scale).readout


def test_runs_inside_a_multiprocessing_pool_worker():
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = pool.map(_lava_readout, [0.5, 1.0])
    for scale, readout in zip([0.5, 1.0], got, strict=True):
        ref = evaluate(three_stage_net(), Schedule([2, 3, 2], "rate"), np.ones((2, 4)) * scale,
                       dtype=torch.float64)
        np.testing.assert_array_equal(readout, ref.readout)
