"""The neuron models as Brian2 code: ``ldsnn_lava.neurons``' definitions, statement by statement.

A stage's neurons run one Brian2 code block per clock step (see
:mod:`ldsnn_lava.brian2_backend.network`). In that block ``first`` is 1 at the first step of the
stage's window and 0 elsewhere, ``active`` says whether the step lies in the window, and ``I`` is
the step's input current. A :class:`NeuronCode` gives one model's part of the block:

- ``start``: sets the state to its initial value where ``first`` is 1 (each sample starts fresh);
- ``step``: advances the state by one step with current ``I``;
- ``fire``: the spike condition (the network gates it with ``active``);
- ``reset``: applied after it, with the boolean ``fired``.

Each statement does at most one rounding float operation, in the definition's order, so that
Brian2's expression rewriting cannot reorder a float sum. ``fixed`` precision keeps state,
currents and parameters in int64 (Loihi's integer arithmetic, exact); ``float`` in float64.

:func:`neuron_code` is one ``functools.singledispatch`` function: a new neuron model plugs in by
registering its builder there (``tests/test_brian2_backend.py`` checks every model in
``ldsnn_lava.neurons.NEURON_TYPES`` has one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import singledispatch

from ldsnn_lava.errors import InvalidNetwork
from ldsnn_lava.neurons import DECAY_BITS, FIXED_SHIFT, IF, STATE_BITS, CubaLIF, integer_parameter

_STATE_MAX = 1 << (STATE_BITS - 1)


@dataclass(frozen=True)
class NeuronCode:
    """One neuron model's Brian2 code (see the module docstring).

    Attributes
    ----------
    state : tuple of str
        Per-neuron state variables.
    parameters : dict of str to int or float
        Constants shared by the population (ints in fixed point).
    start, step, reset : str
        Brian2 statements, one per line.
    fire : str
        Brian2 boolean expression.
    """

    state: tuple[str, ...]
    parameters: dict[str, float | int] = field(default_factory=dict)
    start: str = ""
    step: str = ""
    fire: str = ""
    reset: str = ""


@singledispatch
def neuron_code(neuron, fixed: bool) -> NeuronCode:
    """The Brian2 code of ``neuron`` in fixed (int64) or float (float64) arithmetic.

    Raises
    ------
    InvalidNetwork
        For a neuron model without Brian2 code, or (fixed) non-integer parameters.
    """
    known = ", ".join(cls.__name__ for cls in neuron_code.registry if cls is not object)
    raise InvalidNetwork(f"neuron model {type(neuron).__name__} has no Brian2 code (Brian2 runs "
                         f"{known}); register one with "
                         f"ldsnn_lava.brian2_backend.neurons.neuron_code")


@neuron_code.register
def _(neuron: IF, fixed: bool) -> NeuronCode:
    """``v += I``; spike where ``v >= threshold``; ``v -= threshold``."""
    threshold, v_init = neuron.threshold, neuron.initial_v
    if fixed:
        threshold = integer_parameter("IF threshold", threshold)
        v_init = integer_parameter("IF v_init", v_init)
    return NeuronCode(
        state=("v",),
        parameters={"threshold": threshold, "v_init": v_init},
        start="v = v * (1 - first) + v_init * first",
        step="v = v + I",
        fire="v >= threshold",
        reset="v = v - threshold * int(fired)",
    )


def _truncating_decay(name: str, keep: str) -> str:
    """``name = name * keep / 4096``, truncated toward zero, in integers."""
    unit = 1 << DECAY_BITS
    return (f"product = {name} * {keep}\n"
            f"{name} = (product + int(product < 0) * {unit - 1}) // {unit}")


@neuron_code.register
def _(neuron: CubaLIF, fixed: bool) -> NeuronCode:
    """``u = u * (1 - du) + I``; ``v = v * (1 - dv) + u + bias``; spike where
    ``v > threshold``; ``v = 0``. Fixed: Lava's bit-accurate LIF (state 6 bits finer than
    currents, decays truncated toward zero, ``u`` wraps and ``v`` saturates at 24 bits)."""
    start = "u = u * (1 - first)\nv = v * (1 - first)"
    reset = "v = v * (1 - int(fired))"
    if not fixed:
        return NeuronCode(
            state=("u", "v"),
            parameters={"threshold": neuron.threshold, "keep_u": 1.0 - neuron.current_decay,
                        "keep_v": 1.0 - neuron.voltage_decay, "bias": neuron.bias},
            start=start,
            step="u = u * keep_u\nu = u + I\nv = v * keep_v\nv = v + u\nv = v + bias",
            fire="v > threshold",
            reset=reset,
        )
    p = neuron.fixed_parameters()
    unity, scale = 1 << DECAY_BITS, 1 << FIXED_SHIFT
    step = "\n".join([
        _truncating_decay("u", "keep_u"),
        f"u = u + I * {scale}",
        f"u = u - int(u > {_STATE_MAX}) * {2 * _STATE_MAX}",
        f"u = u + int(u <= -{_STATE_MAX}) * {2 * _STATE_MAX}",
        _truncating_decay("v", "keep_v"),
        "v = v + u",
        f"v = v + bias * {scale}",
        f"v = clip(v, -{_STATE_MAX - 1}, {_STATE_MAX - 1})",
    ])
    return NeuronCode(
        state=("u", "v"),
        parameters={"threshold": p["threshold"], "keep_u": unity - p["du"],
                    "keep_v": unity - p["dv"], "bias": p["bias"]},
        start=start,
        step=step,
        fire=f"v > threshold * {scale}",
        reset=reset,
    )
