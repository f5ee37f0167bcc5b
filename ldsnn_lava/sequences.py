"""Sequence input and delays: the rules every backend follows (``docs/design.md``, temporal input).

A network with ``events`` or ``frames`` input takes samples ``(S, *input_shape)``, one entry per
input step. A schedule cuts the S steps into ``S / chunk`` chunks and runs stage l for T_l steps
per chunk. This module holds the pieces of that definition that do not depend on a backend:

- :func:`check_sequence`: the checks on an input batch, with errors naming the problem;
- :func:`hold_steps`: which frame of a chunk each stage-0 step sees under ``frames``;
- :func:`scaled_delays` and :func:`check_delays`: a stage's delays in its own time base.

The ``events`` input gap re-emits a chunk's counts by the rate rule of :mod:`ldsnn_lava.buffers`
with ``t_in = chunk``.
"""

from __future__ import annotations

import numpy as np

from ldsnn_lava.errors import InvalidInput, InvalidSchedule
from ldsnn_lava.network import Network
from ldsnn_lava.options import InputEncoding
from ldsnn_lava.schedule import Schedule


def num_chunks(schedule: Schedule, steps: int) -> int:
    """Chunks in a sample of ``steps`` input steps (1 for static input)."""
    return 1 if schedule.chunk is None else steps // schedule.chunk


def check_sequence(net: Network, schedule: Schedule, x: np.ndarray) -> None:
    """Raise :class:`InvalidInput` unless ``x`` is a batch of sequences ``net`` can take.

    Checks: the shape ``(N, S, *input_shape)`` (naming a wrong channel count), S a positive
    multiple of the schedule's chunk, finite values, and for ``events`` only 0 and 1.
    """
    expected = net.input_shape
    if x.ndim != len(expected) + 2 or tuple(x.shape[2:]) != expected:
        shape = tuple(x.shape)
        hint = ""
        if x.ndim == len(expected) + 2 and len(expected) >= 1:
            hint = (f": each step has {shape[2]} channels where the network has {expected[0]}"
                    if shape[3:] == expected[1:] else f": each step has shape {shape[2:]}")
        raise InvalidInput(f"{net.input_encoding} input must have shape (N, S, *{expected}) "
                           f"(samples, input steps, input shape), got {shape}{hint}")
    steps, chunk = x.shape[1], schedule.chunk
    if steps == 0 or steps % chunk:
        raise InvalidInput(f"the sequences have S = {steps} input steps, which the schedule's "
                           f"chunk of {chunk} steps does not divide; pick a chunk that divides "
                           f"{steps} or pad the sequences")
    finite = np.isfinite(x)
    if not finite.all():
        sample, step = np.argwhere(~finite)[0][:2]
        raise InvalidInput(f"input contains NaN or inf (first in sample {sample}, step {step})")
    if net.input_encoding == InputEncoding.EVENTS and not np.isin(x, (0, 1)).all():
        bad = x[~np.isin(x, (0, 1))][0]
        raise InvalidInput(f"events input must hold spikes 0 or 1, found {bad}; use the 'frames' "
                           f"encoding for analog values")


def hold_steps(chunk: int, T: int) -> np.ndarray:
    """For ``frames``: the frame of a chunk each of stage 0's T steps sees, ``floor(j C / T)``."""
    return (np.arange(T) * chunk) // T


def scaled_delays(delays: np.ndarray, T: int, chunk: int | None) -> np.ndarray:
    """A stage's delays in its own steps: ``round(d * T / chunk)`` with halves up, in integers;
    unchanged for static input (``chunk`` None) and when ``T == chunk``."""
    delays = np.asarray(delays, dtype=np.int64)
    if chunk is None:
        return delays
    return (2 * delays * T + chunk) // (2 * chunk)


def check_delays(net: Network, schedule: Schedule, steps: int | None = None) -> None:
    """Raise :class:`InvalidSchedule` if a stage's (scaled) delay reaches its whole run: K * T_l
    steps for a sequence of ``steps`` input steps (K chunks), T_l for static input; such a
    delay would deliver nothing."""
    chunks = 1 if schedule.chunk is None or steps is None else steps // schedule.chunk
    for index, stage in enumerate(net.stages):
        if stage.delay is None or not stage.delay.any():
            continue
        T = schedule.timesteps[index]
        longest = int(scaled_delays(stage.delay, T, schedule.chunk).max())
        window = chunks * T
        if longest >= window:
            name = f" ({stage.name})" if stage.name else ""
            raise InvalidSchedule(
                f"stage {index}{name}: delay of {longest} steps (at T = {T}"
                + (f" per chunk of {schedule.chunk}" if schedule.chunk else "")
                + f") is not shorter than the stage's window of {window} steps, so its input "
                f"would never arrive")
