"""The search on Ray workers (a local Ray on this machine): the same result as in process on
two zoo models, a worker that dies mid-call is restarted and its call retried, and Ctrl-C
stops the whole job."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

import ldsnn_ray_faults  # noqa: E402
from ldsnn_optimize_nets import digits_snn, digits_splits  # noqa: E402

from ldsnn_lava import zoo  # noqa: E402
from ldsnn_lava.datasets import load as load_dataset  # noqa: E402
from ldsnn_lava.errors import ClusterError  # noqa: E402
from ldsnn_lava.optimize import optimize  # noqa: E402
from ldsnn_lava.optimize.ray_executor import RayExecutor  # noqa: E402


def test_an_unreachable_cluster_is_an_error_naming_it():
    """Before the module's local Ray starts (first test of the file): no minutes of retries."""
    assert not ray.is_initialized()
    with pytest.raises(ClusterError, match=r"cannot reach the Ray cluster at '127.0.0.1:1'"):
        RayExecutor(address="127.0.0.1:1")


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """One local Ray for the module (the executors join it and leave it running)."""
    faults = tmp_path_factory.mktemp("faults")
    ray.cloudpickle.register_pickle_by_value(ldsnn_ray_faults)
    ray.init(num_cpus=3, include_dashboard=False, logging_level="warning",
             runtime_env={"env_vars": {"LDSNN_FAULT_DIR": str(faults)}})
    yield faults
    ray.shutdown()


def _without_time(result) -> dict:
    data = result.to_dict()
    data.pop("seconds")
    return data


@pytest.mark.parametrize(("name", "workers", "samples", "kinds"), [
    ("mlp_digits", 3, 300, ("rate",)),
    ("lenet_mnist5k", 2, 200, ("rate",)),
    ("mlp_digits", 3, 300, ("rate", "graded")),
])
def test_ray_search_equals_in_process_search(local_ray, name, workers, samples, kinds):
    """Bit for bit the same result (every field but time), also when the search switches gaps
    between rate and graded buffers (the workers' caches keyed by buffer kinds too)."""
    model = zoo.load(name)
    x, y = load_dataset(model.dataset).split("validation")
    kwargs = dict(base_T=model.base_T, val=(model.preprocess(x[:samples]), y[:samples]),
                  max_drop=1.0, restarts=1, work_budget=4, precision=model.precision,
                  progress=False, buffer_kinds=kinds)
    single = optimize(model.network, **kwargs)
    with RayExecutor(workers) as executor:
        spread = optimize(model.network, executor=executor, **kwargs)
    assert len(single.visited) > 5 and single.work > 1
    if "graded" in kinds:  # the search did evaluate schedules with graded gaps
        assert any("graded" in p.schedule.buffers for p in single.visited)
    assert _without_time(spread) == _without_time(single)


def test_a_worker_lost_mid_call_is_restarted_and_its_call_retried(local_ray):
    net, val = digits_snn((32, 16), 0), [a[:200] for a in digits_splits()[2:4]]
    kwargs = dict(base_T=6, val=tuple(val), max_drop=2.0, restarts=0, progress=False)
    single = optimize(net, **kwargs)
    with RayExecutor(2, worker_class=ldsnn_ray_faults.DiesOnce) as executor:
        spread = optimize(net, executor=executor, **kwargs)
    died = local_ray / "died"
    assert died.exists()  # a worker process did die mid-search
    with pytest.raises(ProcessLookupError):
        os.kill(int(died.read_text()), 0)
    assert _without_time(spread) == _without_time(single)


def test_a_worker_lost_too_often_is_an_error_naming_its_shard(local_ray):
    net, val = digits_snn((32, 16), 0), tuple(a[:100] for a in digits_splits()[2:4])
    with RayExecutor(2, max_restarts=0, worker_class=ldsnn_ray_faults.AlwaysDies) as executor:
        lost = r"Ray worker \d \(samples \d+\.\.\d+\) was lost for good"
        with pytest.raises(ClusterError, match=lost):
            optimize(net, base_T=4, val=val, restarts=0, progress=False, executor=executor)


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _worker_processes(marker: str) -> list[int]:
    found = []
    for pid in _processes_with(marker):
        try:
            if b"ShardWorker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the job's processes in /proc")
def test_ctrl_c_stops_the_whole_job(tmp_path):
    """``ldsnn optimize --workers 2`` starting its own local Ray; Ctrl-C (SIGINT to the
    terminal's process group) once its workers run: exit status 130, and no process of the
    job (driver, Ray's own processes, workers) is left."""
    marker = f"LDSNN_TEST_JOB={uuid.uuid4().hex}"
    env = dict(os.environ, LDSNN_TEST_JOB=marker.split("=")[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "ldsnn_lava.cli", "optimize", "lenet_mnist5k", "--workers", "2",
         "--limit", "400", "--work-budget", "0", "--out", str(tmp_path / "s.json")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        # as started from a terminal, even when this test runs in a background job (whose
        # children inherit an ignored SIGINT)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 180
        while len(_worker_processes(marker)) < 2 and proc.poll() is None:
            assert time.monotonic() < deadline, "the Ray workers did not start"
            time.sleep(0.5)
        assert proc.poll() is None, proc.stdout.read().decode()
        time.sleep(2)  # let them work
        os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, output.decode()[-2000:]
    assert "interrupted" in output.decode()
    deadline = time.monotonic() + 20
    while _processes_with(marker):
        assert time.monotonic() < deadline, f"left running: {_processes_with(marker)}"
        time.sleep(0.5)
