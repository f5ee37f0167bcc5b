"""Schedules: per-stage timesteps T_l and a buffer kind per gap (``docs/design.md``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ldsnn_lava._io import atomic_write_text, check_readable, recover
from ldsnn_lava.buffers import MAX_GRADED_PAYLOAD
from ldsnn_lava.errors import FileFormatError, InvalidSchedule, LDSNNError
from ldsnn_lava.options import BufferKind, Mode, parse_option

if TYPE_CHECKING:
    from ldsnn_lava.network import Network

SCHEDULE_FORMAT = "ldsnn-schedule"
SCHEDULE_VERSION = 1
NOTATION = ("Schedules read [T_0 -r- T_1 -=- T_2 ...] (mode): the timesteps of each stage in "
            "order; between two stages -r- is a rate buffer (the spike counts of one window "
            "re-emitted evenly over the next), -=- a replay buffer (equal windows, spikes "
            "replayed unchanged) and -g- a graded buffer (each count sent as one graded spike "
            "at the start of the next window); the mode is how a clocked runtime such as Lava "
            "interleaves the stages (sequential or pipelined; the same results per sample).")
"""How to read :meth:`Schedule.__str__`; printed wherever schedules are printed for users."""


MAX_TIMESTEPS = 2**24
"""The most timesteps a stage may have (16,777,216): spike counts and rate-buffer accumulators
stay exact in 32-bit integers, and a request beyond it is surely a mistake."""


def _check_timestep(value, index: int) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer) \
            or not 1 <= value <= MAX_TIMESTEPS:
        raise InvalidSchedule(f"stage {index}: timesteps must be an int >= 1 (at most "
                              f"{MAX_TIMESTEPS}), got {value!r}")
    return int(value)


def _as_sequence(value, what: str) -> tuple:
    """A list, tuple or 1-D numpy array as a tuple (strings, sets, generators refused)."""
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return tuple(value.tolist() if value.dtype.kind in "iu" else value)
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidSchedule(f"{what} must be a sequence (a list), got {value!r:.80}")
    return tuple(value)


@dataclass(frozen=True)
class Schedule:
    """Per-stage timesteps and buffer modes of an LD-SNN.

    Parameters
    ----------
    timesteps : sequence of int
        T_l for every stage, in ``[1, MAX_TIMESTEPS]``.
    buffers : BufferKind, str or a sequence of them
        ``"rate"``, ``"replay"`` or ``"graded"`` for each of the ``len(timesteps) - 1`` gaps; a
        single value applies to all gaps. ``"replay"`` needs equal timesteps on both sides;
        ``"graded"`` an upstream T_l of at most 2**24 - 1 (its 24-bit payload).
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
        steps = tuple(_check_timestep(t, i) for i, t in
                      enumerate(_as_sequence(self.timesteps, "timesteps")))
        if not steps:
            raise InvalidSchedule("a schedule needs at least one stage")
        gaps = len(steps) - 1
        if isinstance(self.buffers, str):
            if not gaps:  # nothing to apply it to, but still a kind that exists
                parse_option(BufferKind, self.buffers, "buffers")
            buffers = (self.buffers,) * gaps
        else:
            buffers = _as_sequence(self.buffers, "buffers")
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
            if kind == BufferKind.GRADED and steps[gap] > MAX_GRADED_PAYLOAD:
                raise InvalidSchedule(
                    f"buffer {gap}: a 'graded' spike carries a count of at most "
                    f"{MAX_GRADED_PAYLOAD} (24 bits), but T_{gap}={steps[gap]}")
        if self.chunk is not None:
            if isinstance(self.chunk, bool) or not isinstance(self.chunk, int) \
                    or not 1 <= self.chunk <= MAX_TIMESTEPS:
                raise InvalidSchedule(f"chunk must be an int >= 1 (input steps per chunk; at "
                                      f"most {MAX_TIMESTEPS}), got {self.chunk!r}")
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
    def from_dict(cls, data: dict, where: str = "schedule") -> Schedule:
        """A schedule from its JSON object (:meth:`to_dict`); ``where`` names it in errors.

        Raises
        ------
        FileFormatError
            If it is not a schedule object of this version, or a field is malformed.
        """
        if not isinstance(data, dict) or data.get("format") != SCHEDULE_FORMAT:
            raise FileFormatError(f"{where}: not an ldsnn schedule (expected an object with "
                                  f"format {SCHEDULE_FORMAT!r})")
        version = data.get("version")
        if type(version) is not int or version != SCHEDULE_VERSION:
            raise FileFormatError(
                f"{where}: unsupported schedule version {version!r} (this ldsnn-lava reads "
                f"version {SCHEDULE_VERSION})")
        missing = {"timesteps", "buffers", "mode"} - set(data)
        if missing:
            raise FileFormatError(f"{where}: missing fields {sorted(missing)}")
        try:
            return cls(data["timesteps"], data["buffers"], data["mode"], data.get("chunk"))
        except LDSNNError as err:
            raise FileFormatError(f"{where}: {err}") from None

    @classmethod
    def from_json(cls, text: str, where: str = "schedule") -> Schedule:
        """A schedule from JSON text (see :meth:`from_dict`)."""
        if not isinstance(text, str):
            raise FileFormatError(f"{where}: expected JSON text, got {type(text).__name__}")
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise FileFormatError(f"{where}: not valid JSON ({err})") from None
        return cls.from_dict(data, where)

    def save(self, path: str | Path) -> None:
        """Write the schedule as JSON, atomically."""
        atomic_write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path, net: Network | None = None) -> Schedule:
        """Read a schedule; with ``net``, also check that it fits that network.

        Raises
        ------
        FileAccessError
            If the path is missing, a folder or not a regular file.
        FileFormatError
            If the file is not a schedule (the message names the file and the field).
        InvalidSchedule
            If it does not fit ``net``.
        """
        path = check_readable(path, "schedule file")
        recover(path.parent)  # finish or undo a set of files a killed writer left
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise FileFormatError(f"{path}: not UTF-8 text ({err.reason})") from None
        schedule = cls.from_json(text, str(path))
        if net is not None:
            schedule.check(net)
        return schedule

    def __str__(self) -> str:
        """``[T_0 -r- T_1 -=- T_2] (mode)``: see :data:`NOTATION`."""
        gaps = zip(self.buffers, self.timesteps[1:], strict=True)
        marks = {BufferKind.RATE: "r", BufferKind.REPLAY: "=", BufferKind.GRADED: "g"}
        arrows = "".join(f" -{marks[b]}- {t}" for b, t in gaps)
        chunk = "" if self.chunk is None else f", chunk {self.chunk}"
        return f"[{self.timesteps[0]}{arrows}] ({self.mode}{chunk})"
