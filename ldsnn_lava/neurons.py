"""Neuron models: the one definition every backend follows (``docs/design.md``, semantics).

Each model is a frozen dataclass of parameters with two pure functions:

- ``initial_state(current, fixed=False)`` makes the per-sample state, shaped like a current;
- ``step(state, current, fixed=False)`` advances one active step, returning ``(state, spikes)``.

The functions use only arithmetic, comparisons, shifts and ``clip``, so the same code runs on
numpy arrays (the Lava process models) and torch tensors (the engine). Spikes are booleans.

``fixed=True`` selects the Loihi-style integer definition: integer currents and state, integer
parameters (a non-integer one is an error). For IF the rule is the same, in integers. For
CubaLIF it is Lava's bit-accurate ``LIF`` model (``PyLifModelBitAcc``): state is kept 6 bits
finer than currents (``I << 6``, ``threshold << 6``, ``bias << 6``, and ``v_reset << 6``,
``v_init << 6`` for the variants), decays are 12-bit integers applied with a right shift that
truncates toward zero, ``u`` wraps and ``v`` saturates at 24 bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ldsnn_lava import validate
from ldsnn_lava.errors import InvalidNetwork, InvalidOption
from ldsnn_lava.options import Comparison, Reset, parse_option

Array = Any  # numpy.ndarray or torch.Tensor


def _zeros_like(current: Array) -> Array:
    return current * 0


STATE_BITS = 24
_STATE_MAX = 1 << (STATE_BITS - 1)
DECAY_BITS = 12
FIXED_SHIFT = 6


def integer_parameter(name: str, value: float) -> int:
    """``value`` as an int, or an :class:`~ldsnn_lava.errors.InvalidNetwork` if the fixed-point
    definition cannot use it."""
    if value != int(value):
        raise InvalidNetwork(f"fixed precision needs an integer {name}, got {value}; "
                             f"quantize the network first (ldsnn_lava.quantize)")
    return int(value)


def _decay(x: Array, keep: int) -> Array:
    """``x * keep / 4096`` with the product truncated toward zero (Loihi's sign-magnitude shift)."""
    product = x * keep
    return (product + (product < 0) * ((1 << DECAY_BITS) - 1)) >> DECAY_BITS


def _parameter(name: str, value, **bounds) -> float:
    """A neuron parameter as a finite float within ``bounds`` (see
    :func:`ldsnn_lava.validate.number`), or an :class:`~ldsnn_lava.errors.InvalidNetwork`."""
    try:
        return validate.number(value, name, **bounds)
    except InvalidOption as err:
        raise InvalidNetwork(str(err)) from None


def _fires(v: Array, threshold, compare: Comparison) -> Array:
    return v >= threshold if compare == Comparison.AT_OR_ABOVE else v > threshold


def _variant(kind: str, reset, v_reset: float, compare, allowed: tuple[Reset, ...]
             ) -> tuple[Reset, Comparison]:
    """The checked reset and comparison of a neuron (``v_reset``, already checked by
    :func:`_parameter`, only with a hard reset)."""
    reset = parse_option(Reset, reset, f"{kind} reset")
    if reset not in allowed:
        raise InvalidNetwork(f"{kind} reset must be one of "
                             f"{', '.join(repr(r.value) for r in allowed)}, got {reset.value!r}")
    if reset != Reset.HARD and v_reset != 0:
        raise InvalidNetwork(f"{kind} v_reset = {v_reset} needs reset='hard', got "
                             f"reset={reset.value!r}")
    return reset, parse_option(Comparison, compare, f"{kind} compare")


@dataclass(frozen=True)
class IF:
    """Integrate-and-fire: ``v += I`` each active step, then fire and reset.

    The default is the usual ANN-to-SNN neuron: spike where ``v >= threshold``, reset by
    subtraction (``v -= threshold``), ``v`` starting at ``0.5 * threshold``. The variants are the
    integrate-and-fire neurons of NIR graphs and other tools: ``reset="hard"`` sets ``v`` to
    ``v_reset`` where it spiked; ``compare=">"`` fires only above the threshold.

    Parameters
    ----------
    threshold : float
        Firing threshold, > 0.
    v_init : float, optional
        Membrane potential at the start of each sample; default ``0.5 * threshold``.
    reset : {"subtract", "hard"}
        ``v -= threshold``, or ``v = v_reset``, where spiked.
    v_reset : float
        The potential of a hard reset (0 for ``reset="subtract"``).
    compare : {">=", ">"}
        Spike where ``v >= threshold``, or where ``v > threshold``.
    """

    threshold: float = 1.0
    v_init: float | None = None
    reset: Reset = Reset.SUBTRACT
    v_reset: float = 0.0
    compare: Comparison = Comparison.AT_OR_ABOVE

    def __post_init__(self):
        object.__setattr__(self, "threshold",
                           _parameter("IF threshold", self.threshold, low=0.0, low_open=True))
        if self.v_init is not None:
            object.__setattr__(self, "v_init", _parameter("IF v_init", self.v_init))
        object.__setattr__(self, "v_reset", _parameter("IF v_reset", self.v_reset))
        reset, compare = _variant("IF", self.reset, self.v_reset, self.compare,
                                  (Reset.SUBTRACT, Reset.HARD))
        object.__setattr__(self, "reset", reset)
        object.__setattr__(self, "compare", compare)

    @property
    def initial_v(self) -> float:
        return 0.5 * self.threshold if self.v_init is None else self.v_init

    @property
    def is_default_variant(self) -> bool:
        """True for reset by subtraction and ``>=`` (the rule the engine fuses)."""
        return self.reset == Reset.SUBTRACT and self.compare == Comparison.AT_OR_ABOVE

    def initial_state(self, current: Array, fixed: bool = False) -> tuple[Array]:
        v_init = integer_parameter("IF v_init", self.initial_v) if fixed else self.initial_v
        return (_zeros_like(current) + v_init,)

    def step(self, state: tuple[Array], current: Array, fixed: bool = False
             ) -> tuple[tuple[Array], Array]:
        threshold = integer_parameter("IF threshold", self.threshold) if fixed else self.threshold
        (v,) = state
        v = v + current
        spikes = _fires(v, threshold, self.compare)
        if self.reset == Reset.SUBTRACT:
            v = v - (v * 0 + spikes) * threshold  # the reset in v's own dtype
        else:
            v_reset = integer_parameter("IF v_reset", self.v_reset) if fixed else self.v_reset
            v = v * ~spikes + (v * 0 + spikes) * v_reset
        return (v,), spikes


@dataclass(frozen=True)
class CubaLIF:
    """Current-based LIF: Loihi's CUBA-LIF (Lava's ``LIF`` process, lava-dl netx CUBA layers) by
    default, with Lava's refractory period, and the reset, comparison and initial-potential
    variants of NIR graphs and other tools.

    Each active step::

        u = u * (1 - current_decay) + I
        v = v * (1 - voltage_decay) + u + bias
        spike where v > threshold          (compare=">="): where v >= threshold)
        reset="hard":     v = v_reset where spiked     (Loihi: v_reset = 0)
        reset="subtract": v = v - threshold where spiked

    ``reset="delayed_subtract"`` is snnTorch's default (``reset_delay=True``): ``v`` keeps its
    value after a spike, and the threshold is subtracted at the next step after the decay,
    ``v = v * (1 - voltage_decay) + u + bias - threshold * fired(previous v)``.
    ``current_decay = 1`` makes ``u`` the step's input (a LIF without synaptic current);
    ``voltage_decay = 1`` makes the neuron a stateless threshold. ``u`` starts at 0, ``v`` at
    ``v_init``. With ``refractory = r > 0`` it is Lava's ``LIFRefractory``: for the r steps after
    a spike u still integrates, but v is held (at its value after the reset) and the state gains a
    third array, the steps each neuron has left to wait.

    Parameters
    ----------
    threshold : float
        Firing threshold, >= 0.
    current_decay, voltage_decay : float
        Fractions in [0, 1] lost per step (Loihi's du/4096 and dv/4096).
    bias : float
        Constant added to v every step.
    refractory : int
        Steps after each spike during which v is held, >= 0 (default 0: Lava's ``LIF``).
    reset : {"hard", "subtract", "delayed_subtract"}
    v_reset : float
        The potential of a hard reset (0 for the other resets).
    compare : {">", ">="}
    v_init : float
        ``v`` at the start of each sample.
    """

    threshold: float
    current_decay: float = 0.0
    voltage_decay: float = 0.0
    bias: float = 0.0
    refractory: int = 0
    reset: Reset = Reset.HARD
    v_reset: float = 0.0
    compare: Comparison = Comparison.ABOVE
    v_init: float = 0.0

    def __post_init__(self):
        bounds = {"threshold": {"low": 0.0}, "current_decay": {"low": 0.0, "high": 1.0},
                  "voltage_decay": {"low": 0.0, "high": 1.0}, "bias": {}, "v_reset": {},
                  "v_init": {}}
        for name, bound in bounds.items():
            object.__setattr__(self, name,
                               _parameter(f"CubaLIF {name}", getattr(self, name), **bound))
        refractory = self.refractory
        if isinstance(refractory, bool) or not isinstance(refractory, int | float) \
                or not math.isfinite(refractory) or int(refractory) != refractory \
                or refractory < 0:
            raise InvalidNetwork(f"CubaLIF refractory must be an int >= 0, got {refractory!r}")
        object.__setattr__(self, "refractory", int(refractory))
        reset, compare = _variant("CubaLIF", self.reset, self.v_reset, self.compare, tuple(Reset))
        object.__setattr__(self, "reset", reset)
        object.__setattr__(self, "compare", compare)

    @property
    def is_loihi(self) -> bool:
        """True for Loihi's own CUBA-LIF: hard reset to 0, ``v > threshold``, ``v`` from 0."""
        return (self.reset == Reset.HARD and self.v_reset == 0
                and self.compare == Comparison.ABOVE and self.v_init == 0)

    def initial_state(self, current: Array, fixed: bool = False) -> tuple[Array, ...]:
        zeros = _zeros_like(current)
        v_init = self.fixed_parameters()["v_init"] << FIXED_SHIFT if fixed else self.v_init
        return (zeros, zeros + v_init, zeros) if self.refractory else (zeros, zeros + v_init)

    def fixed_parameters(self) -> dict[str, int]:
        """The integer parameters of the fixed-point definition (decays in 1/4096 units)."""
        return {
            "threshold": integer_parameter("CubaLIF threshold", self.threshold),
            "bias": integer_parameter("CubaLIF bias", self.bias),
            "du": integer_parameter("CubaLIF current_decay * 4096",
                                    self.current_decay * (1 << DECAY_BITS)),
            "dv": integer_parameter("CubaLIF voltage_decay * 4096",
                                    self.voltage_decay * (1 << DECAY_BITS)),
            "v_reset": integer_parameter("CubaLIF v_reset", self.v_reset),
            "v_init": integer_parameter("CubaLIF v_init", self.v_init),
        }

    def step(self, state: tuple[Array, ...], current: Array, fixed: bool = False
             ) -> tuple[tuple[Array, ...], Array]:
        u, v_old = state[:2]
        if not fixed:
            u = u * (1.0 - self.current_decay) + current
            charged = v_old * (1.0 - self.voltage_decay) + u + self.bias
            threshold, v_reset = self.threshold, self.v_reset
        else:
            p = self.fixed_parameters()
            unity = 1 << DECAY_BITS
            u = _decay(u, unity - p["du"]) + (current << FIXED_SHIFT)
            u = u - (u > _STATE_MAX) * (2 * _STATE_MAX)
            u = u + (u <= -_STATE_MAX) * (2 * _STATE_MAX)
            charged = _decay(v_old, unity - p["dv"]) + u + (p["bias"] << FIXED_SHIFT)
            threshold, v_reset = p["threshold"] << FIXED_SHIFT, p["v_reset"] << FIXED_SHIFT
        held = state[2] > 0 if self.refractory else None
        v, spikes = self._fire_and_reset(v_old, charged, threshold, v_reset, fixed, held)
        if not self.refractory:
            return (u, v), spikes
        waiting = (state[2] - held * 1) * ~spikes + spikes * self.refractory
        return (u, v, waiting), spikes

    def _fire_and_reset(self, v: Array, charged: Array, threshold, v_reset, saturate: bool,
                        held) -> tuple[Array, Array]:
        """The spikes of the charged potential, and the potential after the reset. ``v`` is the
        previous step's potential (a delayed subtraction looks at it; neurons ``held`` in their
        refractory period keep it). Fixed point saturates ``v`` at 24 bits before the
        comparison and after a subtraction."""
        if self.reset == Reset.DELAYED_SUBTRACT:
            charged = charged - (v * 0 + _fires(v, threshold, self.compare)) * threshold
        if saturate:
            charged = charged.clip(-_STATE_MAX + 1, _STATE_MAX - 1)
        if held is not None:
            charged = charged * ~held + v * held
        spikes = _fires(charged, threshold, self.compare)
        if self.reset == Reset.HARD:
            v = charged * ~spikes
            if v_reset != 0:
                v = v + (v * 0 + spikes) * v_reset
        elif self.reset == Reset.SUBTRACT:
            v = charged - (charged * 0 + spikes) * threshold
            if saturate:
                v = v.clip(-_STATE_MAX + 1, _STATE_MAX - 1)
        else:
            v = charged
        return v, spikes


Neuron = IF | CubaLIF
NEURON_TYPES: dict[str, type] = {"IF": IF, "CubaLIF": CubaLIF}
