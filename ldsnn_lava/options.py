"""Typed options: each choice the library offers is one ``StrEnum``, validated once.

The members are strings (``Precision.FIXED == "fixed"``), so plain strings keep working in every
call, in JSON files and on the command line; :func:`parse_option` turns a user's value into a
member or raises :class:`~ldsnn_lava.errors.InvalidOption` naming the allowed values. Code
inside the library compares with the members, never with bare string literals.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from ldsnn_lava.errors import InvalidOption


class Precision(StrEnum):
    """Arithmetic of an evaluation: floating point, or Loihi-style fixed point (integers)."""

    FLOAT = "float"
    FIXED = "fixed"


class BufferKind(StrEnum):
    """What a buffer between two stages does (see ``docs/design.md``, buffers)."""

    REPLAY = "replay"
    """Replays the upstream spike raster unchanged (equal windows only)."""
    RATE = "rate"
    """Counts upstream spikes and re-emits them evenly over the downstream window."""
    GRADED = "graded"
    """Counts upstream spikes and sends each neuron's count as one graded spike (an integer
    payload, Loihi 2) in the first step of the downstream window; the next stage scales its
    current by T_out / T_in."""

    @property
    def from_counts(self) -> bool:
        """Whether the buffer emits from the window's spike counts alone (``rate``,
        ``graded``), rather than from the raster (``replay``)."""
        return self != BufferKind.REPLAY


class InputEncoding(StrEnum):
    """How stage 0 receives the input."""

    DIRECT = "direct"
    """The input is stage 0's input current on every step of its window."""
    RATE = "rate"
    """An input in [0, 1] becomes a spike train by the rate buffer's integer rule."""
    EVENTS = "events"
    """A sequence ``(S, *shape)`` of spike events (0 or 1) per input step (event data, spike
    trains); stage 0 counts synaptic updates per event."""
    FRAMES = "frames"
    """A sequence ``(S, *shape)`` of analog frames, one per input step (time series); stage 0's
    ops multiply-accumulate every frame, counted as input MACs."""

    @property
    def is_sequence(self) -> bool:
        """Whether the input arrives over time, one value per input step (``events``,
        ``frames``), rather than as one static sample."""
        return self in (InputEncoding.EVENTS, InputEncoding.FRAMES)


class Mode(StrEnum):
    """How a clocked runtime interleaves stages (results per sample are the same)."""

    SEQUENTIAL = "sequential"
    PIPELINED = "pipelined"


class ModelKind(StrEnum):
    """How the Lava process models map time onto Lava steps."""

    STEP = "step"
    """One Lava step per timestep: the timing a Loihi mapping has."""
    WINDOW = "window"
    """One Lava step per window (a stage computes its T_l timesteps inside it): the same
    results, fewer Lava steps, for simulation speed."""


class Reset(StrEnum):
    """What a neuron's membrane potential does where it spiked (``docs/design.md``, neurons)."""

    SUBTRACT = "subtract"
    """``v -= threshold`` right after the spike."""
    HARD = "hard"
    """``v = v_reset``."""
    DELAYED_SUBTRACT = "delayed_subtract"
    """``v`` is kept; the threshold is subtracted at the next step, after the decay (snnTorch's
    default ``reset_delay``)."""

    def __repr__(self) -> str:  # neurons print as IF(..., reset='subtract', ...)
        return repr(self.value)


class Comparison(StrEnum):
    """Where a neuron fires."""

    AT_OR_ABOVE = ">="
    """``v >= threshold``."""
    ABOVE = ">"
    """``v > threshold`` (Loihi, NIR)."""

    def __repr__(self) -> str:
        return repr(self.value)


class NIRConvention(StrEnum):
    """How a NIR graph's neuron nodes are read (see :mod:`ldsnn_lava.formats.nir_neurons`)."""

    NIR = "nir"
    """NIR's own definitions, forward Euler at the time step."""
    LDSNN = "ldsnn"
    """Graphs ldsnn-lava wrote: each neuron's exact parameters from node metadata."""
    SNNTORCH = "snntorch"
    """As snnTorch 1.0 simulates what its exporter writes."""
    SINABS = "sinabs"
    """As sinabs 3.1 simulates its defaults: refuses neurons, whose default ``MultiSpike`` (several
    spikes per step) no ldsnn neuron has."""
    SINABS_SINGLE_SPIKE = "sinabs_single_spike"
    """As sinabs 3.1 simulates what its exporter writes for ``spike_fn=SingleSpike``."""
    NORSE = "norse"
    """As Norse 1.1 simulates what its exporter writes."""
    SPIKINGJELLY = "spikingjelly"
    """As SpikingJelly 2.0 simulates what its exporter writes."""


Option = TypeVar("Option", bound=StrEnum)


def parse_option(kind: type[Option], value: object, what: str | None = None) -> Option:
    """``value`` as a member of ``kind``, or an :class:`InvalidOption` naming the choices.

    Parameters
    ----------
    kind : StrEnum subclass
        E.g. :class:`Precision`.
    value : object
        A member or its string value.
    what : str, optional
        The option's name in the message (default: the class name in lower case).
    """
    try:
        return kind(value)
    except (ValueError, TypeError):  # TypeError: an unhashable value such as a list
        choices = ", ".join(repr(member.value) for member in kind)
        raise InvalidOption(f"{what or kind.__name__.lower()} must be one of {choices}, "
                            f"got {value!r}") from None


__all__ = ["BufferKind", "Comparison", "InputEncoding", "Mode", "ModelKind", "NIRConvention",
           "Precision", "Reset", "parse_option"]
