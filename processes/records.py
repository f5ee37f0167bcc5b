"""Per-sample result rows that leave the Lava runtime through shared memory, with no file.

``Var.get()`` in Lava 0.10 sends array items one by one (seconds for a few thousand samples), so
the stage and readout process models of the fast path write each sample's row into a
:class:`Record` the host created before the run, and the host reads it once afterwards.

A record is an anonymous shared mapping (``mmap(-1, ...)``: ``MAP_SHARED | MAP_ANONYMOUS``).
Lava forks its runtime's processes after the record exists, so every child maps the same pages
and the host sees their writes without any message. There is no file and no ``/dev/shm`` name:
nothing is left behind when a run is interrupted or its process killed. (Lava forks on every
platform but Windows, where it cannot run our models anyway.)
"""

from __future__ import annotations

import mmap
from collections.abc import Sequence

import numpy as np

from ldsnn_lava.errors import InvalidInput


class Record:
    """A zero-filled ``(num_samples, *shape)`` array in memory shared with Lava's children.

    Parameters
    ----------
    num_samples : int
        Rows, one per sample (>= 1).
    shape : tuple of int
        Shape of one row.
    dtype : numpy dtype
    """

    def __init__(self, num_samples: int, shape: Sequence[int], dtype):
        if num_samples < 1:
            raise InvalidInput(f"a record needs num_samples >= 1, got {num_samples}")
        self.shape = (int(num_samples), *(int(d) for d in shape))
        self.dtype = np.dtype(dtype)
        size = max(1, int(np.prod(self.shape)) * self.dtype.itemsize)
        self._memory = mmap.mmap(-1, size)
        self._rows = np.frombuffer(self._memory, dtype=self.dtype,
                                   count=int(np.prod(self.shape))).reshape(self.shape)

    @property
    def num_samples(self) -> int:
        return self.shape[0]

    def write(self, sample: int, row: np.ndarray) -> None:
        """Store ``row`` as sample ``sample``'s (in a process model); periods that carry no
        sample (a pipeline's fill and drain, ``sample`` outside the record) write nothing."""
        if 0 <= sample < self.num_samples:
            self._rows[sample] = row

    def read(self) -> np.ndarray:
        """A copy of all rows (on the host, after the run)."""
        return self._rows.copy()
