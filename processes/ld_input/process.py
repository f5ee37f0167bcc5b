"""The input process of an LD-SNN: streams numpy samples into stage 0."""

from __future__ import annotations

import ldsnn_lava  # noqa: F401  (Lava compatibility fixes before importing lava)

# isort: split
import numpy as np
from lava.magma.core.process.ports.ports import OutPort
from lava.magma.core.process.process import AbstractProcess

from ldsnn_lava.clock import Window
from ldsnn_lava.network import ENCODINGS


class LDInput(AbstractProcess):
    """Sends sample k to stage 0 in every step of stage 0's window in period k.

    ``direct``: ``data[k]`` itself, every step (stage 0 turns it into a current each step).
    ``rate``: ``data[k]`` holds integer spike counts ``c`` in ``[0, T]`` (from
    :func:`ldsnn_lava.buffers.quantize_rate_input`, which the builder applies on the host), sent
    as spikes with the buffer's integer rule :func:`ldsnn_lava.buffers.rate_step` over the
    window of ``T`` steps. After the last sample (while a pipeline drains) it sends zeros.

    Parameters
    ----------
    data : numpy.ndarray
        ``(N, *input_shape)`` samples (``rate``: integer counts).
    window : Window
        Stage 0's window.
    encoding : {"direct", "rate"}
    """

    def __init__(self, *, data: np.ndarray, window: Window, encoding: str = "direct",
                 name: str | None = None):
        data = np.asarray(data)
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
        if data.ndim < 2 or len(data) == 0:
            raise ValueError(f"data must be (N, *input_shape) with N >= 1, got {data.shape}")
        if encoding == "rate" and (not np.array_equal(data, np.round(data))
                                   or data.min() < 0 or data.max() > window.length):
            raise ValueError(f"rate input data must be integer counts in [0, {window.length}] "
                             f"(use ldsnn_lava.buffers.quantize_rate_input)")
        super().__init__(data=data, window=window, encoding=encoding, name=name)
        self.s_out = OutPort(shape=data.shape[1:])
