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
"""

from __future__ import annotations

from dataclasses import dataclass

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


def _clock_schedule(schedule: Schedule, unit: ModelKind | str) -> Schedule:
    """The schedule whose windows the clock of ``unit`` follows."""
    if parse_option(ModelKind, unit, "unit") == ModelKind.STEP:
        return schedule
    return Schedule.uniform(schedule.num_stages, 1, schedule.mode)


def stage_windows(schedule: Schedule, unit: ModelKind | str = ModelKind.STEP) -> list[Window]:
    """One window per stage of ``schedule``, on the clock of ``unit`` ("step" or "window")."""
    schedule = _clock_schedule(schedule, unit)
    steps = schedule.timesteps
    period = schedule.period
    if schedule.mode == Mode.SEQUENTIAL:
        offsets = [sum(steps[:i]) for i in range(len(steps))]
        return [Window(o, t, period) for o, t in zip(offsets, steps, strict=True)]
    return [Window(0, t, period, lag) for lag, t in enumerate(steps)]


def total_steps(schedule: Schedule, num_samples: int,
                unit: ModelKind | str = ModelKind.STEP) -> int:
    """Clock steps needed to stream ``num_samples`` samples through all stages."""
    schedule = _clock_schedule(schedule, unit)
    periods = num_samples + (schedule.num_stages - 1 if schedule.mode == Mode.PIPELINED else 0)
    return periods * schedule.period
