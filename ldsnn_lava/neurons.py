"""Neuron models: the one definition every backend follows (``docs/design.md``, semantics).

Each model is a frozen dataclass of parameters with two pure functions:

- ``initial_state(current, fixed=False)`` makes the per-sample state, shaped like a current;
- ``step(state, current, fixed=False)`` advances one active step, returning ``(state, spikes)``.

The functions use only arithmetic, comparisons, shifts and ``clip``, so the same code runs on
numpy arrays (the Lava process models) and torch tensors (the engine). Spikes are booleans.

``fixed=True`` selects the Loihi-style integer definition: integer currents and state, integer
parameters (a non-integer one is an error). For IF the rule is the same, in integers. For
CubaLIF it is Lava's bit-accurate ``LIF`` model (``PyLifModelBitAcc``): state is kept 6 bits
finer than currents (``I << 6``, ``threshold << 6``, ``bias << 6``), decays are 12-bit
integers applied with a right shift that truncates toward zero, ``u`` wraps and ``v``
saturates at 24 bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Array = Any  # numpy.ndarray or torch.Tensor


def _zeros_like(current: Array) -> Array:
    return current * 0


STATE_BITS = 24
_STATE_MAX = 1 << (STATE_BITS - 1)
DECAY_BITS = 12
FIXED_SHIFT = 6


def integer_parameter(name: str, value: float) -> int:
    """``value`` as an int, or a ValueError if the fixed-point definition cannot use it."""
    if value != int(value):
        raise ValueError(f"fixed precision needs an integer {name}, got {value}; "
                         f"quantize the network first (ldsnn_lava.quantize)")
    return int(value)


def _decay(x: Array, keep: int) -> Array:
    """``x * keep / 4096`` with the product truncated toward zero (Loihi's sign-magnitude shift)."""
    product = x * keep
    return (product + (product < 0) * ((1 << DECAY_BITS) - 1)) >> DECAY_BITS


def _check_finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")


@dataclass(frozen=True)
class IF:
    """Integrate-and-fire with reset by subtraction (the usual ANN-to-SNN neuron).

    Each active step: ``v += I``; if ``v >= threshold``: spike and ``v -= threshold``.

    Parameters
    ----------
    threshold : float
        Firing threshold, > 0.
    v_init : float, optional
        Membrane potential at the start of each sample; default ``0.5 * threshold``.
    """

    threshold: float = 1.0
    v_init: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "threshold", float(self.threshold))
        _check_finite("IF threshold", self.threshold)
        if self.threshold <= 0:
            raise ValueError(f"IF threshold must be > 0, got {self.threshold}")
        if self.v_init is not None:
            object.__setattr__(self, "v_init", float(self.v_init))
            _check_finite("IF v_init", self.v_init)

    @property
    def initial_v(self) -> float:
        return 0.5 * self.threshold if self.v_init is None else self.v_init

    def initial_state(self, current: Array, fixed: bool = False) -> tuple[Array]:
        v_init = integer_parameter("IF v_init", self.initial_v) if fixed else self.initial_v
        return (_zeros_like(current) + v_init,)

    def step(self, state: tuple[Array], current: Array, fixed: bool = False
             ) -> tuple[tuple[Array], Array]:
        threshold = integer_parameter("IF threshold", self.threshold) if fixed else self.threshold
        (v,) = state
        v = v + current
        spikes = v >= threshold
        v = v - (v * 0 + spikes) * threshold  # the reset in v's own dtype
        return (v,), spikes


@dataclass(frozen=True)
class CubaLIF:
    """Loihi current-based LIF, as Lava's ``LIF`` process and lava-dl netx CUBA layers define it.

    Each active step::

        u = u * (1 - current_decay) + I
        v = v * (1 - voltage_decay) + u + bias
        spike where v > threshold;  v = 0 where spiked   (hard reset)

    Note the strict ``>``, as in Lava. With ``refractory = r > 0`` it is Lava's
    ``LIFRefractory``: for the r steps after a spike u still integrates, but v is held (at 0,
    from the reset) and the state gains a third array, the steps each neuron has left to wait.

    Parameters
    ----------
    threshold : float
        Firing threshold.
    current_decay, voltage_decay : float
        Fractions in [0, 1] lost per step (Loihi's du/4096 and dv/4096).
    bias : float
        Constant added to v every step.
    refractory : int
        Steps after each spike during which v is held, >= 0 (default 0: Lava's ``LIF``).
    """

    threshold: float
    current_decay: float = 0.0
    voltage_decay: float = 0.0
    bias: float = 0.0
    refractory: int = 0

    def __post_init__(self):
        for name in ("threshold", "current_decay", "voltage_decay", "bias"):
            value = float(getattr(self, name))
            _check_finite(f"CubaLIF {name}", value)
            object.__setattr__(self, name, value)
        for name in ("current_decay", "voltage_decay"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"CubaLIF {name} must be in [0, 1], got {getattr(self, name)}")
        if (isinstance(self.refractory, bool) or int(self.refractory) != self.refractory
                or self.refractory < 0):
            raise ValueError(f"CubaLIF refractory must be an int >= 0, got {self.refractory!r}")
        object.__setattr__(self, "refractory", int(self.refractory))

    def initial_state(self, current: Array, fixed: bool = False) -> tuple[Array, ...]:
        zeros = _zeros_like(current)
        return (zeros, zeros, zeros) if self.refractory else (zeros, zeros)

    def fixed_parameters(self) -> dict[str, int]:
        """The integer parameters of the fixed-point definition (decays in 1/4096 units)."""
        return {
            "threshold": integer_parameter("CubaLIF threshold", self.threshold),
            "bias": integer_parameter("CubaLIF bias", self.bias),
            "du": integer_parameter("CubaLIF current_decay * 4096",
                                    self.current_decay * (1 << DECAY_BITS)),
            "dv": integer_parameter("CubaLIF voltage_decay * 4096",
                                    self.voltage_decay * (1 << DECAY_BITS)),
        }

    def step(self, state: tuple[Array, ...], current: Array, fixed: bool = False
             ) -> tuple[tuple[Array, ...], Array]:
        u, v_old = state[:2]
        if not fixed:
            u = u * (1.0 - self.current_decay) + current
            v = v_old * (1.0 - self.voltage_decay) + u + self.bias
            threshold = self.threshold
        else:
            p = self.fixed_parameters()
            unity = 1 << DECAY_BITS
            u = _decay(u, unity - p["du"]) + (current << FIXED_SHIFT)
            u = u - (u > _STATE_MAX) * (2 * _STATE_MAX)
            u = u + (u <= -_STATE_MAX) * (2 * _STATE_MAX)
            v = _decay(v_old, unity - p["dv"]) + u + (p["bias"] << FIXED_SHIFT)
            v = v.clip(-_STATE_MAX + 1, _STATE_MAX - 1)
            threshold = p["threshold"] << FIXED_SHIFT
        if not self.refractory:
            spikes = v > threshold
            return (u, v * ~spikes), spikes
        waiting = state[2]
        held = waiting > 0
        v = v * ~held + v_old * held
        spikes = v > threshold
        waiting = (waiting - held * 1) * ~spikes + spikes * self.refractory
        return (u, v * ~spikes, waiting), spikes


Neuron = IF | CubaLIF
NEURON_TYPES: dict[str, type] = {"IF": IF, "CubaLIF": CubaLIF}
