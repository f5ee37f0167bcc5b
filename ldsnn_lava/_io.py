"""Atomic file writes: neither a failure nor a kill leaves a half-written file or a mixed set.

- :func:`atomic_write` / :func:`atomic_write_text`: one file, written to a temporary file beside
  it, flushed to disk, then renamed over the target (a rename within a folder is atomic).
- :func:`atomic_write_set`: several files that belong together (a schedule, its optimization
  result and a report) are committed as one. Every file is first written to its temporary file;
  then a *commit journal* listing the renames is put in every folder involved, the one of the
  first folder (the *primary*) last: its appearance is the commit. Then the renames are done and
  the journals removed, the primary last.
- :func:`recover`: what the next write or read does in a folder. A journal of a killed writer
  whose primary exists is rolled forward (the renames finished: the new set); one whose primary
  does not exist was never committed and is rolled back (its temporary files removed: the old
  set). Temporary files of a killed writer with no journal beside them were never committed
  and are removed. A writer still running is recognized by its process id in the file names and
  left alone.
- :func:`check_writable`: whether an output path can be written, checked before a long run.

Temporary files are named ``.{name}.{pid}-{token}.tmp`` and journals
``.ldsnn-commit.{pid}-{token}.json``. Operating-system errors become
:class:`~ldsnn_lava.errors.FileAccessError` naming the target path.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
from collections.abc import Callable, Mapping
from contextlib import suppress
from pathlib import Path

from ldsnn_lava.errors import FileAccessError

JOURNAL_FORMAT = "ldsnn-commit"
_TEMP = re.compile(r"^\..*\.(\d+)-[0-9a-f]{8}\.tmp$")
_JOURNAL = re.compile(r"^\.ldsnn-commit\.(\d+)-[0-9a-f]{8}\.json$")
_NAME_KEPT = 80
"""Characters of the target's name kept in its temporary file's name (a long name could
otherwise exceed the file system's limit only in its temporary form)."""


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (this process counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


def _temp_path(path: Path, token: str) -> Path:
    return path.parent / f".{path.name[:_NAME_KEPT]}.{os.getpid()}-{token}.tmp"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _target(path: str | Path, what: str) -> Path:
    """``path`` as a Path after the checks that need no file system access."""
    text = os.fspath(path)
    if not text:
        raise FileAccessError(f"{what}: empty path")
    if "\0" in text:
        raise FileAccessError(f"{what} {text!r}: the path contains a NUL byte")
    return Path(text)


def _refuse_non_file(path: Path, what: str) -> None:
    """Refuse an existing target that is not a regular file (replacing a folder fails late;
    replacing a device or FIFO would silently remove it)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as err:
        raise FileAccessError(f"{what} {path}: cannot be written ({_reason(err)})") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise FileAccessError(f"{what} {path}: is {kind}; give a file name")


def check_writable(path: str | Path, what: str = "output file") -> Path:
    """Check that a file can be written at ``path`` (before a long run produces it).

    The folder is created if needed and a probe file is created and removed in it, so that a
    read-only or special file system is found now rather than after the work.

    Raises
    ------
    FileAccessError
        If the path is empty, names a folder or a non-regular file (a device, a FIFO), lies
        under something that is not a folder, has a name too long for its file system, or
        its folder cannot be created or written; the message names the path.
    """
    path = _target(path, what)
    _refuse_non_file(path, what)
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FileAccessError(f"{what} {path}: cannot create its folder {parent} "
                              f"({_reason(err)})") from None
    try:
        limit = os.pathconf(parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(os.fsencode(path.name)) > limit:
        raise FileAccessError(f"{what} {path}: the file name is longer than the {limit} bytes "
                              f"its file system allows")
    probe = _temp_path(path, secrets.token_hex(4))
    try:
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as err:
        raise FileAccessError(f"{what} {path}: cannot write in {parent} ({_reason(err)})"
                              ) from None
    return path


def check_readable(path: str | Path, what: str = "file") -> Path:
    """Check that ``path`` is an existing regular file (a FIFO or device would block or
    mislead a reader), before opening it.

    Raises
    ------
    FileAccessError
        If it is missing, a folder or not a regular file.
    """
    path = _target(path, what)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileAccessError(f"{what} not found: {path}") from None
    except OSError as err:
        raise FileAccessError(f"{what} {path}: cannot be read ({_reason(err)})") from None
    if stat.S_ISDIR(mode):
        raise FileAccessError(f"{what} {path}: is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise FileAccessError(f"{what} {path}: is not a regular file")
    return path


def recover(folder: str | Path) -> None:
    """Finish the commits of killed writers in ``folder`` and remove their temporary files.

    A journal whose writer is still running is left alone; so are temporary files of a
    running writer. Missing or unreadable folders are ignored.
    """
    folder = Path(folder)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    pending: set[str] = set()
    for name in names:
        match = _JOURNAL.match(name)
        if not match:
            continue
        journal = folder / name
        if _alive(int(match.group(1))):
            with suppress(OSError, ValueError):
                pending.update(tmp for tmp, _ in json.loads(journal.read_text())["moves"])
            continue
        _roll_forward(journal)
    for name in names:
        match = _TEMP.match(name)
        if match and not _alive(int(match.group(1))) and str(folder / name) not in pending:
            with suppress(OSError):
                (folder / name).unlink()


def _roll_forward(journal: Path) -> None:
    """Finish (primary present) or undo (primary absent) the commit a journal describes."""
    try:
        record = json.loads(journal.read_text())
        moves, copies, primary = record["moves"], record["journals"], record["primary"]
    except (OSError, ValueError, KeyError, TypeError):
        with suppress(OSError):
            journal.unlink()  # journals are written by rename, so this one is not ours
        return
    committed = os.path.exists(primary)
    for tmp, target in moves:
        with suppress(OSError):  # already renamed or removed
            if committed:
                os.replace(tmp, target)
            else:
                os.unlink(tmp)
    for copy in [c for c in copies if c != primary] + [primary]:
        with suppress(OSError):
            os.unlink(copy)


def atomic_write_set(writers: Mapping[str | Path, Callable[[Path], None]]) -> None:
    """Write several files as one commit: afterwards (or after a kill and the next
    :func:`recover`) either all of them are new or none is.

    Parameters
    ----------
    writers : mapping of path to callable
        For each target path, ``writer(tmp_path)`` writes the file's content to ``tmp_path``.

    Raises
    ------
    FileAccessError
        On an operating-system error (no permission, disk full, a folder in the way); no
        temporary file is left and the old files are untouched.
    """
    token = secrets.token_hex(4)
    targets = [_target(path, "output file") for path in writers]
    folders = sorted({target.parent for target in targets}, key=str)
    moves: list[tuple[Path, Path]] = []
    journals: list[Path] = []
    try:
        for target in targets:
            _refuse_non_file(target, "output file")
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
            recover(folder)
        for target, writer in zip(targets, writers.values(), strict=True):
            tmp = _temp_path(target, token)
            moves.append((tmp, target))
            writer(tmp)
            _fsync(tmp)
        if len(moves) > 1:
            # the secondaries first, the primary (first folder) last: it is the commit
            journals = [folder / f".ldsnn-commit.{os.getpid()}-{token}.json"
                        for folder in folders[1:] + folders[:1]]
            record = json.dumps({"format": JOURNAL_FORMAT, "version": 1,
                                 "moves": [[str(t), str(p)] for t, p in moves],
                                 "journals": [str(j) for j in journals],
                                 "primary": str(journals[-1])})
            for journal in journals:
                written = _temp_path(journal, token)
                written.write_text(record)
                _fsync(written)
                os.replace(written, journal)
    except BaseException as err:
        for journal in reversed(journals):  # the primary first: undo the commit, if any
            with suppress(OSError):
                journal.unlink()
        for tmp, _ in moves:
            with suppress(OSError):
                tmp.unlink()
        if isinstance(err, OSError) and not isinstance(err, FileAccessError):
            where = moves[-1][1] if moves else (targets[0] if targets else "output")
            raise FileAccessError(f"cannot write {where}: {_reason(err)}") from err
        raise
    try:
        for tmp, target in moves:
            os.replace(tmp, target)
    except OSError as err:
        # a target turned into a folder meanwhile, or similar: finish what can be finished
        if journals:
            _roll_forward(journals[-1])
        raise FileAccessError(f"cannot write {target}: {_reason(err)}") from err
    for journal in journals:  # the secondaries, then the primary
        with suppress(OSError):
            journal.unlink()


def atomic_write(path: str | Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` and move the result to ``path`` atomically."""
    atomic_write_set({path: writer})


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text))
