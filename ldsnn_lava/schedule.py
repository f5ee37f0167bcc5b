"""Schedules: per-stage timesteps T_l and a buffer kind per gap (``docs/design.md``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ldsnn_lava._io import atomic_write_text
from ldsnn_lava.errors import FileFormatError, InvalidSchedule
from ldsnn_lava.options import BufferKind, Mode, parse_option

if TYPE_CHECKING:
    from ldsnn_lava.network import Network

SCHEDULE_FORMAT = "ldsnn-schedule"
SCHEDULE_VERSION = 1
NOTATION = ("Schedules read [T_0 -r- T_1 -=- T_2 ...] (mode): the timesteps of each stage in "
            "order; between two stages -r- is a rate buffer (the spike counts of one window "
            "re-emitted evenly over the next) and -=- a replay buffer (equal windows, spikes "
            "replayed unchanged); the mode is how a clocked runtime such as Lava interleaves "
            "the stages (sequential or pipelined; the same results per sample).")
"""How to read :meth:`Schedule.__str__`; printed wherever schedules are printed for users."""


def _check_timestep(value, index: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidSchedule(f"stage {index}: timesteps must be an int >= 1, got {value!r}")
    return value


@dataclass(frozen=True)
class Schedule:
    """Per-stage timesteps and buffer modes of an LD-SNN.

    Parameters
    ----------
    timesteps : sequence of int
        T_l >= 1 for every stage.
    buffers : BufferKind, str or a sequence of them
        ``"rate"`` or ``"replay"`` for each of the ``len(timesteps) - 1`` gaps; a single value
        applies to all gaps. ``"replay"`` needs equal timesteps on both sides.
    mode : Mode or str
        ``"sequential"`` or ``"pipelined"``:
        How a clocked runtime interleaves stages; results per sample are identical.
    chunk : int, optional
        For networks with sequence input (``events``/``frames``) only, and required there: the
        input steps per chunk, C >= 1. The sample's S input steps (S a multiple of C) are cut into
        S / C chunks and every stage runs its T_l steps per chunk (``docs/design.md``, temporal
        input); ``Schedule.uniform(net, C)`` is the given SNN at the input's own resolution.

    Examples
    --------
    >>> Schedule([8, 4, 4], buffers=["rate", "replay"]).period
    16
    """

    timesteps: tuple[int, ...]
    buffers: tuple[BufferKind, ...] | BufferKind | str = BufferKind.RATE
    mode: Mode | str = Mode.SEQUENTIAL
    chunk: int | None = None

    def __post_init__(self):
        if isinstance(self.timesteps, int | str) or not isinstance(self.timesteps, Sequence):
            raise InvalidSchedule(f"timesteps must be a sequence of ints, got {self.timesteps!r}")
        steps = tuple(_check_timestep(t, i) for i, t in enumerate(self.timesteps))
        if not steps:
            raise InvalidSchedule("a schedule needs at least one stage")
        gaps = len(steps) - 1
        buffers = (self.buffers,) * gaps if isinstance(self.buffers, str) else tuple(self.buffers)
        if len(buffers) != gaps:
            raise InvalidSchedule(f"{len(steps)} stages have {gaps} buffers, got {len(buffers)}")
        buffers = tuple(parse_option(BufferKind, kind, f"buffer {gap}")
                        for gap, kind in enumerate(buffers))
        for gap, kind in enumerate(buffers):
            if kind == BufferKind.REPLAY and steps[gap] != steps[gap + 1]:
                raise InvalidSchedule(
                    f"buffer {gap}: 'replay' needs equal timesteps on both sides, got "
                    f"T_{gap}={steps[gap]} and T_{gap + 1}={steps[gap + 1]}; use 'rate'"
                )
        if self.chunk is not None:
            if isinstance(self.chunk, bool) or not isinstance(self.chunk, int) or self.chunk < 1:
                raise InvalidSchedule(f"chunk must be an int >= 1 (input steps per chunk), got "
                                      f"{self.chunk!r}")
        object.__setattr__(self, "mode", parse_option(Mode, self.mode, "mode"))
        object.__setattr__(self, "timesteps", steps)
        object.__setattr__(self, "buffers", buffers)

    @classmethod
    def uniform(cls, net: Network | int, T: int, mode: Mode | str = Mode.SEQUENTIAL,
                chunk: int | None = None) -> Schedule:
        """Every stage runs T steps, every buffer replays: the given SNN itself.

        For a network with sequence input, ``chunk`` defaults to T: T steps per T input steps,
        the given SNN at the input's resolution. A ``chunk`` other than T gives the uniform
        schedule that runs T steps per chunk of ``chunk`` input steps.
        """
        stages = net if isinstance(net, int) else len(net.stages)
        if chunk is None and not isinstance(net, int) and net.input_encoding.is_sequence:
            chunk = T
        return cls((T,) * stages, buffers=BufferKind.REPLAY, mode=mode, chunk=chunk)

    @property
    def num_stages(self) -> int:
        return len(self.timesteps)

    @property
    def is_uniform(self) -> bool:
        return len(set(self.timesteps)) == 1 and all(b == BufferKind.REPLAY for b in self.buffers)

    @property
    def period(self) -> int:
        """Clock steps per sample (per chunk, for sequence input), before runtime delays: sum of
        windows (sequential) or the longest window (pipelined)."""
        return sum(self.timesteps) if self.mode == Mode.SEQUENTIAL else max(self.timesteps)

    def check(self, net: Network) -> None:
        """Raise :class:`~ldsnn_lava.errors.InvalidSchedule` unless this schedule fits ``net``."""
        if self.num_stages != len(net.stages):
            raise InvalidSchedule(
                f"schedule has {self.num_stages} stages but the network has {len(net.stages)}"
            )
        if net.input_encoding.is_sequence and self.chunk is None:
            raise InvalidSchedule(
                f"the network takes {net.input_encoding} sequences, so the schedule needs a chunk "
                f"(input steps per chunk); the given SNN is Schedule.uniform(net, T) with chunk T")
        if not net.input_encoding.is_sequence and self.chunk is not None:
            raise InvalidSchedule(f"chunk={self.chunk} applies to sequence input only; the "
                                  f"network's input encoding is {net.input_encoding!r}")

    def with_timestep(self, stage: int, T: int) -> Schedule:
        """A copy with stage ``stage`` at ``T`` steps; gaps whose sides now differ turn ``rate``."""
        steps = list(self.timesteps)
        steps[stage] = T
        buffers = [
            BufferKind.RATE if kind == BufferKind.REPLAY and steps[g] != steps[g + 1] else kind
            for g, kind in enumerate(self.buffers)
        ]
        return Schedule(steps, buffers, self.mode, self.chunk)

    # --- JSON -------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "format": SCHEDULE_FORMAT,
            "version": SCHEDULE_VERSION,
            "timesteps": list(self.timesteps),
            "buffers": [str(kind) for kind in self.buffers],
            "mode": str(self.mode),
            **({} if self.chunk is None else {"chunk": self.chunk}),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> Schedule:
        if not isinstance(data, dict) or data.get("format") != SCHEDULE_FORMAT:
            raise FileFormatError(f"not an ldsnn schedule (expected format "
                                  f"{SCHEDULE_FORMAT!r})")
        if data.get("version") != SCHEDULE_VERSION:
            raise FileFormatError(
                f"unsupported schedule version {data.get('version')!r} "
                f"(this ldsnn-lava reads version {SCHEDULE_VERSION})"
            )
        missing = {"timesteps", "buffers", "mode"} - set(data)
        if missing:
            raise FileFormatError(f"schedule is missing fields: {sorted(missing)}")
        return cls(data["timesteps"], data["buffers"], data["mode"], data.get("chunk"))

    @classmethod
    def from_json(cls, text: str) -> Schedule:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise FileFormatError(f"schedule is not valid JSON: {err}") from None
        return cls.from_dict(data)

    def save(self, path: str | Path) -> None:
        """Write the schedule as JSON, atomically."""
        atomic_write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path, net: Network | None = None) -> Schedule:
        """Read a schedule; with ``net``, also check that it fits that network."""
        schedule = cls.from_json(Path(path).read_text())
        if net is not None:
            schedule.check(net)
        return schedule

    def __str__(self) -> str:
        """``[T_0 -r- T_1 -=- T_2] (mode)``: see :data:`NOTATION`."""
        gaps = zip(self.buffers, self.timesteps[1:], strict=True)
        arrows = "".join(f" -{'r' if b == BufferKind.RATE else '='}- {t}" for b, t in gaps)
        chunk = "" if self.chunk is None else f", chunk {self.chunk}"
        return f"[{self.timesteps[0]}{arrows}] ({self.mode}{chunk})"
