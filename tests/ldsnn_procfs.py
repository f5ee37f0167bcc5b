"""What a process left behind, read from Linux's /proc and /dev/shm (for the Lava runtime tests).

Lava's runtime is a tree of forked processes that share memory through ``/dev/shm/psm_*``
segments. These helpers find a process's descendants, the segments they map, and which of them
still exist, without any help from the code under test.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
SHM = Path("/dev/shm")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state, ppid, pgid, ...)."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def alive(pids) -> list[int]:
    """The pids of ``pids`` that are still running (zombies count as gone)."""
    return [pid for pid in pids if (fields := _stat_fields(pid)) and fields[0] != "Z"]


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` in the process tree."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))):
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def command_line(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def shm_segments(pids) -> set[str]:
    """Names of the ``/dev/shm/psm_*`` segments (Lava's channels) the processes map."""
    names = set()
    for pid in pids:
        try:
            maps = (PROC / str(pid) / "maps").read_text()
        except OSError:
            continue
        for line in maps.splitlines():
            if "/dev/shm/psm_" in line:
                names.add(line.split("/dev/shm/")[1].split()[0])
    return names


def existing(segments) -> list[str]:
    """The segments of ``segments`` that still exist in /dev/shm."""
    return sorted(name for name in segments if (SHM / name).exists())


def children_of_this_process() -> set[int]:
    """This process's live children, except Python's resource tracker (it serves the whole
    interpreter session, not one run)."""
    me = os.getpid()
    return {pid for pid in descendants(me)
            if (fields := _stat_fields(pid)) and fields[1] == str(me)
            and "resource_tracker" not in command_line(pid)}
