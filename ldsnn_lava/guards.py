"""Resource guards: estimate the memory and time of an evaluation or a search before anything
is allocated, and refuse work beyond the limits with the estimate and the knob to change.

Limits (defaults, and how to change them):

- **memory**: the most bytes one batch may hold at once: its input and output spike rasters,
  currents and buffers over the stage's window. Default: half this machine's physical memory.
  Environment variable ``LDSNN_MEMORY_LIMIT`` (bytes, or with a unit: ``512MB``, ``8GB``) or
  :func:`set_limits`.
- **time**: the most seconds an evaluation, or the uniform sweep plus the search's work
  budget, may be estimated to take. Default one hour. ``LDSNN_TIME_LIMIT`` (seconds, or
  ``90s``, ``10m``, ``2h``) or :func:`set_limits`.

Timesteps have a hard upper bound, :data:`ldsnn_lava.schedule.MAX_TIMESTEPS`, checked when a
schedule is made.

The time estimate is a model of the torch engine on one CPU core, deliberately on the slow side
(:data:`STEP_SECONDS` per step of each stage's loop, :data:`VALUE_SECONDS` per neuron or buffer
value and step, :data:`MAC_SECONDS` per multiply-accumulate): it is meant to catch requests
that would take hours, not to predict run times.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from ldsnn_lava.errors import InvalidOption, ResourceLimitError
from ldsnn_lava.network import Network
from ldsnn_lava.options import InputEncoding

STEP_SECONDS = 20e-6
LAVA_STEP_SECONDS = 1e-4
"""Lava 0.10's cost of one process for one step, whatever the process does (the Lava
backend's time estimate: processes x steps)."""
VALUE_SECONDS = 20e-9
POINT_SECONDS = 1e-3
"""The optimizer's uniform sweep: Python work per uniform point (its schedule, counters and
cost), whatever the batch (deliberately slow, as the other constants)."""
MAC_SECONDS = 1e-9
DEFAULT_TIME_LIMIT = 3600.0
_UNITS = {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10,
          "mib": 2**20, "gib": 2**30, "tib": 2**40}
_TIME_UNITS = {"": 1, "s": 1, "m": 60, "min": 60, "h": 3600}


@dataclass(frozen=True)
class Limits:
    """The resource limits in force: ``memory`` in bytes per batch, ``seconds`` per call."""

    memory: float
    seconds: float


def _physical_memory() -> float:
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError):
        return 8e9


def _parse(text: str, units: dict[str, float], variable: str) -> float:
    match = re.fullmatch(r"\s*([0-9.]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*", text.lower())
    if not match or match.group(2) not in units:
        raise InvalidOption(f"{variable}={text!r}: expected a number with an optional unit "
                            f"({', '.join(u for u in units if u)})")
    value = float(match.group(1)) * units[match.group(2)]
    if not value > 0 or not math.isfinite(value):
        raise InvalidOption(f"{variable}={text!r}: must be a positive number")
    return value


_override: dict[str, float] = {}


def limits() -> Limits:
    """The limits in force: :func:`set_limits` values, else the environment, else defaults.

    Raises
    ------
    InvalidOption
        For a malformed ``LDSNN_MEMORY_LIMIT`` or ``LDSNN_TIME_LIMIT``.
    """
    memory = _override.get("memory")
    if memory is None:
        text = os.environ.get("LDSNN_MEMORY_LIMIT")
        memory = (_parse(text, _UNITS, "LDSNN_MEMORY_LIMIT") if text
                  else _physical_memory() / 2)
    seconds = _override.get("seconds")
    if seconds is None:
        text = os.environ.get("LDSNN_TIME_LIMIT")
        seconds = _parse(text, _TIME_UNITS, "LDSNN_TIME_LIMIT") if text else DEFAULT_TIME_LIMIT
    return Limits(memory, seconds)


@contextmanager
def set_limits(memory: float | None = None, seconds: float | None = None):
    """Use these limits inside a ``with`` block (``None`` keeps the current one).

    Examples
    --------
    >>> with set_limits(seconds=4 * 3600):  # doctest: +SKIP
    ...     result = optimize(net, base_T=200, val=(x, y))
    """
    saved = dict(_override)
    for name, value in (("memory", memory), ("seconds", seconds)):
        if value is not None:
            if not (isinstance(value, int | float) and value > 0 and math.isfinite(value)):
                raise InvalidOption(f"{name} limit must be a positive number, got {value!r}")
            _override[name] = float(value)
    try:
        yield limits()
    finally:
        _override.clear()
        _override.update(saved)


@dataclass(frozen=True)
class Estimate:
    """An evaluation's estimated peak bytes (per batch at the batch size used, per sample, and
    the fixed part: the network's compiled fan-outs) and its estimated seconds."""

    batch_bytes: float
    sample_bytes: float
    fixed_bytes: float
    seconds: float


def estimate_evaluation(net: Network, timesteps: Sequence[int], samples: int, batch_size: int,
                        value_bytes: int = 4, windows: int = 1) -> Estimate:
    """Estimate memory and time of evaluating ``samples`` inputs in batches of
    ``batch_size`` under per-stage ``timesteps`` (computed from shapes only).

    ``value_bytes`` is the size of a current (4 for float32; 24 covers fixed point's float64
    sums, their rounding and the int64 currents); ``windows`` is the number of windows per
    sample (the chunks of sequence input; memory is per window, time is for all of them).
    """
    per_sample = 0.0
    seconds_per_batch = 0.0
    stages = net.num_stages
    for index, stage in enumerate(net.stages):
        steps = timesteps[index]
        after = timesteps[index + 1] if index + 1 < stages else 0
        inputs = math.prod(net.input_shape_of(index))
        outputs = math.prod(net.output_shape_of(index))
        direct = index == 0 and net.input_encoding in (InputEncoding.DIRECT,
                                                       InputEncoding.FRAMES)
        shape, widest = net.input_shape_of(index), 0
        for op in stage.ops:
            shape = op.output_shape(shape)
            widest = max(widest, math.prod(shape))
        raster_in = inputs * (value_bytes if direct else steps)
        values = steps * widest * value_bytes + steps * outputs + after * outputs
        per_sample = max(per_sample, raster_in + values)
        macs = sum(op.max_fan_in for op in stage.ops if not op.is_reshape) * widest
        seconds_per_batch += (steps + after) * STEP_SECONDS
        seconds_per_batch += batch_size * ((steps + after) * outputs * VALUE_SECONDS
                                           + steps * macs * MAC_SECONDS)
    batches = math.ceil(samples / batch_size)
    fixed = 16.0 * sum(math.prod(net.input_shape_of(i)) for i in range(stages))
    return Estimate(fixed + per_sample * batch_size, per_sample, fixed,
                    batches * windows * seconds_per_batch)


def _bytes(value: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:.0f} bytes"


def _seconds(value: float) -> str:
    if value >= 7200:
        return f"{value / 3600:.3g} h"
    return f"{value / 60:.3g} min" if value >= 120 else f"{value:.3g} s"


def check_memory(estimate: Estimate, what: str, batch_given: bool) -> None:
    """Refuse a batch whose estimated memory exceeds the limit.

    Raises
    ------
    ResourceLimitError
    """
    limit = limits().memory
    if estimate.batch_bytes <= limit:
        return
    room = limit - estimate.fixed_bytes
    if batch_given and estimate.sample_bytes <= room:
        raise ResourceLimitError(
            f"{what}: a batch would need about {_bytes(estimate.batch_bytes)}, more than the "
            f"memory limit of {_bytes(limit)}; use batch_size <= "
            f"{int(room // estimate.sample_bytes)} (or raise LDSNN_MEMORY_LIMIT)")
    raise ResourceLimitError(
        f"{what}: one sample would need about "
        f"{_bytes(estimate.sample_bytes + estimate.fixed_bytes)} (its largest stage over its "
        f"window), more than the memory limit of {_bytes(limit)}; use fewer "
        f"timesteps or a smaller network, or raise the limit (LDSNN_MEMORY_LIMIT, or "
        f"ldsnn_lava.guards.set_limits(memory=...))")


def check_time(seconds: float, what: str) -> None:
    """Refuse work whose estimated time exceeds the limit.

    Raises
    ------
    ResourceLimitError
    """
    limit = limits().seconds
    if seconds > limit:
        raise ResourceLimitError(
            f"{what}: estimated to take about {_seconds(seconds)}, more than the time limit of "
            f"{_seconds(limit)}; use fewer timesteps, samples or search work, or raise the "
            f"limit (LDSNN_TIME_LIMIT, or ldsnn_lava.guards.set_limits(seconds=...))")


def fitting_batch(net: Network, timesteps: Sequence[int], batch_size: int,
                  value_bytes: int = 4) -> int:
    """The default batch ``batch_size`` made smaller, where needed, so that its estimate
    (:func:`estimate_evaluation`) fits the memory limit; at least 1 (one sample too large is
    refused by :func:`check_memory`)."""
    estimate = estimate_evaluation(net, timesteps, 1, 1, value_bytes)
    room = limits().memory - estimate.fixed_bytes
    return int(max(1, min(batch_size, room // max(estimate.sample_bytes, 1.0))))


def check_evaluation(net: Network, timesteps: Sequence[int], samples: int, batch_size: int,
                     *, batch_given: bool, value_bytes: int = 4, windows: int = 1,
                     what: str = "evaluation") -> Estimate:
    """:func:`estimate_evaluation`, then refuse it if it exceeds the memory or time limit.

    Raises
    ------
    ResourceLimitError
    """
    estimate = estimate_evaluation(net, timesteps, samples, batch_size, value_bytes, windows)
    check_memory(estimate, what, batch_given)
    check_time(estimate.seconds, what)
    return estimate


__all__ = ["DEFAULT_TIME_LIMIT", "Estimate", "Limits", "check_evaluation", "check_memory",
           "check_time", "estimate_evaluation", "fitting_batch", "limits", "set_limits"]
