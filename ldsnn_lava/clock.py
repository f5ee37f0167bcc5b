"""When each stage of an LD-SNN is active in a clocked runtime (``docs/design.md``, timing).

A :class:`Window` is the run of steps in which one stage works, repeated every ``period``
steps. The Lava processes read their windows from it and nothing else, so a process graph
wired by hand behaves exactly like one built by :func:`ldsnn_lava.to_lava` when it
uses :func:`stage_windows`.

The Lava processes pass messages with no delay (a value sent in step t is received in step t),
so no window is shifted by runtime delays:

- ``sequential``: period ``P = sum(T_l)``; stage l is active in steps ``[o_l, o_l + T_l)`` of
  every period, ``o_l = T_0 + ... + T_{l-1}``; every stage works on sample k in period k.
- ``pipelined``: period ``P = max(T_l)``; every stage is active in steps ``[0, T_l)``; stage l
  works on sample ``k - l`` in period k (its buffer hands a sample on one period later), so N
  samples take ``N + L - 1`` periods.

Steps are counted from 0 here (Lava's ``time_step`` counts from 1).

With ``unit="window"`` (the ``window`` process models, for simulation speed) one clock step
carries a stage's whole window of T_l timesteps, so every window is one step long: the clock
of the same schedule with every T_l set to 1 (sequential period L, pipelined period 1).

A runtime hop that delays a stage's input (Lava's own ``Dense`` and ``Conv`` send at step t what
they received at t-1) is absorbed by ``delays``: ``delays[l]`` steps pass between the step stage
l's input arrives at its synapses (its *input window*, where the buffer before it emits) and
the step its neurons see it (its window). Sequential: ``o_l = sum_{j<l} (d_j + T_j) + d_l``,
``P = sum (d_l + T_l)``; pipelined: ``o_l = d_l``, ``P = max (d_l + T_l)``. Spikes and readouts
are unchanged, only shifted.
"""

from __future__ import annotations

from dataclasses import dataclass

from ldsnn_lava.errors import InvalidSchedule
from ldsnn_lava.options import Mode, ModelKind, parse_option
from ldsnn_lava.schedule import Schedule


@dataclass(frozen=True)
class Window:
    """Steps ``[offset, offset + length)`` of every period of ``period`` steps.

    ``lag`` is how many periods behind the input this stage's sample is: in period k the
    stage works on sample ``k - lag``.
    """

    offset: int
    length: int
    period: int
    lag: int = 0

    def __post_init__(self):
        if self.length < 1 or self.offset < 0 or self.offset + self.length > self.period:
            raise ValueError(f"window [{self.offset}, {self.offset + self.length}) does not fit "
                             f"a period of {self.period} steps")
        if self.lag < 0:
            raise ValueError(f"lag must be >= 0, got {self.lag}")

    def phase(self, step: int) -> int | None:
        """Index of ``step`` inside this window (0 at its first step), or None outside it."""
        phase = step % self.period - self.offset
        return phase if 0 <= phase < self.length else None

    def sample(self, step: int) -> int:
        """The sample this stage works on at ``step`` (negative while a pipeline fills)."""
        return step // self.period - self.lag


def _delays(schedule: Schedule, delays) -> list[int]:
    if delays is None:
        return [0] * schedule.num_stages
    delays = [int(d) for d in delays]
    if len(delays) != schedule.num_stages or min(delays) < 0:
        raise InvalidSchedule(f"delays must be {schedule.num_stages} integers >= 0, one per "
                              f"stage, got {delays}")
    return delays


def _clock_schedule(schedule: Schedule, unit: ModelKind | str) -> Schedule:
    """The schedule whose windows the clock of ``unit`` follows."""
    if parse_option(ModelKind, unit, "unit") == ModelKind.STEP:
        return schedule
    return Schedule.uniform(schedule.num_stages, 1, schedule.mode)


def period_of(schedule: Schedule, unit: ModelKind | str = ModelKind.STEP,
              delays=None) -> int:
    """Steps per period on the clock of ``unit``, with ``delays`` (step clock) per stage."""
    if delays is not None and any(delays) and parse_option(ModelKind, unit) != ModelKind.STEP:
        raise InvalidSchedule("runtime delays exist on the step clock only")
    schedule, delays = _clock_schedule(schedule, unit), _delays(schedule, delays)
    spans = [d + t for d, t in zip(delays, schedule.timesteps, strict=True)]
    return sum(spans) if schedule.mode == Mode.SEQUENTIAL else max(spans)


def stage_windows(schedule: Schedule, unit: ModelKind | str = ModelKind.STEP,
                  delays=None) -> list[Window]:
    """One window per stage of ``schedule``, on the clock of ``unit`` ("step" or "window"):
    where its neurons work, ``delays[l]`` steps after its input window (default: no delays)."""
    period = period_of(schedule, unit, delays)
    schedule, delays = _clock_schedule(schedule, unit), _delays(schedule, delays)
    steps = schedule.timesteps
    if schedule.mode == Mode.SEQUENTIAL:
        offsets = [sum(delays[:i + 1]) + sum(steps[:i]) for i in range(len(steps))]
        return [Window(o, t, period) for o, t in zip(offsets, steps, strict=True)]
    return [Window(d, t, period, lag)
            for lag, (d, t) in enumerate(zip(delays, steps, strict=True))]


def input_windows(schedule: Schedule, delays=None) -> list[Window]:
    """Each stage's input window (step clock): its window moved ``delays[l]`` steps earlier;
    the buffer before stage l emits there, and stage 0's input is read there."""
    delays = _delays(schedule, delays)
    return [Window(w.offset - d, w.length, w.period, w.lag)
            for w, d in zip(stage_windows(schedule, ModelKind.STEP, delays), delays, strict=True)]


def total_steps(schedule: Schedule, num_samples: int,
                unit: ModelKind | str = ModelKind.STEP, delays=None) -> int:
    """Clock steps needed to stream ``num_samples`` samples through all stages."""
    periods = num_samples + (schedule.num_stages - 1 if schedule.mode == Mode.PIPELINED else 0)
    return periods * period_of(schedule, unit, delays)
