"""Per-sample result rows that leave the Lava runtime through a memory-mapped ``.npy`` file.

``Var.get()`` in Lava 0.10 sends array items one by one (seconds for a few thousand samples),
so the stage and readout process models write each sample's row into a file the host created
beforehand with :func:`create_record`; the host reads the whole file once after the run.
The runtime's processes are forked children: a shared file mapping is visible to the host
without any message.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def create_record(path: str | Path, num_samples: int, shape: tuple[int, ...], dtype) -> str:
    """Create a zero-filled ``(num_samples, *shape)`` record file; returns its path."""
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    array = np.lib.format.open_memmap(str(path), mode="w+", dtype=dtype,
                                      shape=(num_samples, *shape))
    array.flush()
    del array
    return str(path)


class RecordWriter:
    """Writes rows of a ``num_samples``-row record file from a process model, mapping the file
    on first write (in the runtime's own child process, not when the model is built)."""

    def __init__(self, path: str | Path, num_samples: int):
        self._path, self._num_samples, self._rows = str(path), num_samples, None

    def write(self, sample: int, row: np.ndarray) -> None:
        """Store ``row`` as sample ``sample``'s; periods that carry no sample (a pipeline's
        fill and drain, ``sample`` outside the record) write nothing."""
        if not 0 <= sample < self._num_samples:
            return
        if self._rows is None:
            self._rows = np.load(self._path, mmap_mode="r+")
        self._rows[sample] = row


def read_record(path: str | Path) -> np.ndarray:
    """Read a whole record file into memory (on the host, after the run)."""
    return np.array(np.load(str(path), mmap_mode="r"))
