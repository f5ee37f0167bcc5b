"""Atomic writes: a failure or a kill at any point leaves the old files or the new ones, never a
mix, and no temporary file survives the next write or read."""

import os
import resource
import signal

import pytest

from ldsnn_lava._io import (
    atomic_write,
    atomic_write_set,
    atomic_write_text,
    check_readable,
    check_writable,
    recover,
)
from ldsnn_lava.errors import FileAccessError


def _hidden(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _set_writers(targets, content):
    return {path: (lambda tmp, text=f"{content} {path.name}": tmp.write_text(text))
            for path in targets}


def _state(targets):
    return {path.read_text().split()[0] if path.exists() else None for path in targets}


def test_single_write_replaces_and_cleans(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and _hidden(tmp_path) == []


def test_failing_writer_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_text(target, "old")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("writer failed")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_text() == "old" and _hidden(tmp_path) == []


def test_disk_full_is_a_named_error_and_keeps_the_old_set(tmp_path):
    """A real EFBIG from the kernel (file size limit), as a full disk would give ENOSPC."""
    targets = [tmp_path / "s.json", tmp_path / "r" / "r.json"]
    atomic_write_set(_set_writers(targets, "old"))
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100, hard))
    try:
        with pytest.raises(FileAccessError, match="r.json"):
            atomic_write_set({targets[0]: lambda tmp: tmp.write_text("new"),
                              targets[1]: lambda tmp: tmp.write_text("new" + "x" * 1000)})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert _state(targets) == {"old"}
    assert _hidden(tmp_path) == [] and _hidden(tmp_path / "r") == []


def _count_renames(targets, tmp_path):
    """How many os.replace calls one set write makes (files, journals and commits)."""
    calls = []
    real = os.replace

    def counting(a, b):
        calls.append((a, b))
        real(a, b)

    os.replace = counting
    try:
        atomic_write_set(_set_writers(targets, "probe"))
    finally:
        os.replace = real
    return len(calls)


def _killed_write(targets, kill_at: int) -> None:
    """In a child process: write the set ``new`` and die by SIGKILL just before its
    ``kill_at``-th rename (or in the middle of writing the second file, for ``-1``)."""
    pid = os.fork()
    if pid == 0:  # child: no pytest machinery, exit hard
        calls = [0]
        real = os.replace

        def dying(a, b):
            if calls[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            calls[0] += 1
            real(a, b)

        os.replace = dying
        writers = _set_writers(targets, "new")
        if kill_at == -1:
            second = targets[1]

            def half(tmp):
                tmp.write_text("ne")
                os.kill(os.getpid(), signal.SIGKILL)

            writers[second] = half
        atomic_write_set(writers)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) or os.WEXITSTATUS(status) == 0


@pytest.mark.parametrize("report_first", [False, True])
def test_a_kill_at_any_point_leaves_the_old_set_or_the_new_one(tmp_path, report_first):
    targets = [tmp_path / "schedule.json", tmp_path / "schedule.result.json",
               tmp_path / "report" / "report.md", tmp_path / "report" / "result.json"]
    renames = _count_renames(targets, tmp_path)
    assert renames == 2 + len(targets)  # one journal per folder, then the targets
    folders = [tmp_path, tmp_path / "report"]
    for kill_at in range(-1, renames + 1):
        atomic_write_set(_set_writers(targets, "old"))
        _killed_write(targets, kill_at)
        # what any reader sees after the next recover (our readers and writers run it), in
        # either order of the folders
        for folder in reversed(folders) if report_first else folders:
            recover(folder)
        assert _state(targets) in ({"old"}, {"new"}), (kill_at, _state(targets))
        assert _hidden(tmp_path) == [] and _hidden(tmp_path / "report") == [], kill_at
        if kill_at >= 2:  # the journals were complete: the commit is finished
            assert _state(targets) == {"new"}, kill_at
        if kill_at in (-1, 0):
            assert _state(targets) == {"old"}, kill_at


def test_recover_leaves_a_running_writer_alone(tmp_path):
    own = tmp_path / f".x.json.{os.getpid()}-0123abcd.tmp"
    dead_pid = _dead_pid()
    stale = tmp_path / f".x.json.{dead_pid}-0123abcd.tmp"
    foreign = tmp_path / ".x.json.unrelated.tmp"
    for path in (own, stale, foreign):
        path.write_text("x")
    recover(tmp_path)
    assert own.exists() and foreign.exists() and not stale.exists()


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


@pytest.mark.parametrize("name", ["a_dir", "a_file/child.json", "", "nul\0.json",
                                  "n" * 300 + ".json", "fifo"])
def test_check_writable_refuses_bad_outputs(tmp_path, name):
    (tmp_path / "a_dir").mkdir()
    (tmp_path / "a_file").write_text("x")
    os.mkfifo(tmp_path / "fifo")
    path = str(tmp_path / name) if name else ""
    with pytest.raises(FileAccessError):
        check_writable(path)
    assert (tmp_path / "fifo").exists()


def test_check_writable_refuses_a_read_only_file_system():
    with pytest.raises(FileAccessError, match="/sys"):
        check_writable("/sys/ldsnn-test/out.json")


def test_check_writable_accepts_new_folders(tmp_path):
    path = check_writable(tmp_path / "new" / "deeper" / "out.json")
    assert path.parent.is_dir() and _hidden(path.parent) == []


def test_writers_refuse_to_replace_a_fifo(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(FileAccessError, match="not a regular file"):
        atomic_write_text(tmp_path / "fifo", "x")
    assert not (tmp_path / "fifo").is_file()


@pytest.mark.parametrize("name", ["missing.json", "a_dir", "fifo"])
def test_check_readable(tmp_path, name):
    (tmp_path / "a_dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(FileAccessError):
        check_readable(tmp_path / name)
