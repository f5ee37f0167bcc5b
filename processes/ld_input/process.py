"""The input process of an LD-SNN: streams numpy samples into stage 0."""

from __future__ import annotations

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
import numpy as np
from lava.magma.core.process.ports.ports import OutPort
from lava.magma.core.process.variable import Var
from ldsnn_lava.processes.base import LDProcess

from ldsnn_lava.clock import Window
from ldsnn_lava.errors import InvalidInput
from ldsnn_lava.options import InputEncoding, Precision, parse_option


class LDInput(LDProcess):
    """Sends sample k to stage 0 in every step of stage 0's window in period k.

    ``direct``: ``data[k]`` itself, every step (stage 0 turns it into a current each step).
    ``events``/``frames``: ``data[k]`` is one chunk of a sequence already at stage 0's
    resolution, ``(T, *input_shape)`` (the builder applies the input gap on the host); step t of
    the window sends row t.
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
    precision : {"float", "fixed"}
        The models it will run with (``fixed`` sends int64 and needs integer data).
    window_steps : int, optional
        For the ``window`` process models: stage 0's timesteps T. One clock step then carries
        a whole window (``window`` is on the window clock,
        ``ldsnn_lava.clock.stage_windows(schedule, "window")``) and ``s_out`` sends
        ``(1, *input_shape)`` (direct: the one current row stage 0 sees every step) or
        ``(T, *input_shape)`` (rate: the spike raster). ``None``: one clock step is one
        timestep (the step-faithful ``floating_pt``/``fixed_pt`` models).
    name : str, optional

    Vars: ``window`` ``[offset, length, period, lag]`` and ``timesteps`` (T), as a stage's.
    """

    def __init__(self, *, data: np.ndarray, window: Window,
                 encoding: InputEncoding | str = InputEncoding.DIRECT,
                 precision: Precision | str = Precision.FLOAT, window_steps: int | None = None,
                 name: str | None = None):
        data = np.asarray(data)
        encoding = parse_option(InputEncoding, encoding, "encoding")
        precision = parse_option(Precision, precision, "precision")
        if data.ndim < 2 or len(data) == 0:
            raise InvalidInput(f"data must be (N, *input_shape) with N >= 1, got {data.shape}")
        steps = window.length if window_steps is None else int(window_steps)
        if encoding == InputEncoding.RATE and (not np.array_equal(data, np.round(data))
                                   or data.min() < 0 or data.max() > steps):
            raise InvalidInput(f"rate input data must be integer counts in [0, {steps}] "
                               f"(use ldsnn_lava.buffers.quantize_rate_input)")
        if precision == Precision.FIXED and not np.array_equal(data, np.round(data)):
            raise InvalidInput("fixed precision needs integer-valued input data; quantize it "
                               "(QuantizedNetwork.encode_input)")
        if encoding.is_sequence and (window_steps is not None or data.ndim < 3
                                     or data.shape[1] != steps):
            raise InvalidInput(f"{encoding} input data must be (chunks, T, *input_shape) rows "
                               f"for the step models, T = {steps}; got {data.shape}")
        super().__init__(data=data, encoding=encoding, precision=precision,
                         window_steps=window_steps, name=name or "LDInput")
        shape = data.shape[2:] if encoding.is_sequence else data.shape[1:]
        if window_steps is not None:
            shape = (1 if encoding == InputEncoding.DIRECT else steps, *shape)
        self.s_out = OutPort(shape=shape)
        self.window = Var(shape=(4,), init=np.array([window.offset, window.length,
                                                     window.period, window.lag]))
        self.timesteps = Var(shape=(1,), init=steps)
