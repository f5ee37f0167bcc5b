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
from ldsnn_lava.options import Reset

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
    """``v += I``; spike where ``v >= threshold`` (or ``>``); ``v -= threshold`` (or
    ``v = v_reset``)."""
    threshold, v_init, v_reset = neuron.threshold, neuron.initial_v, neuron.v_reset
    if fixed:
        threshold = integer_parameter("IF threshold", threshold)
        v_init = integer_parameter("IF v_init", v_init)
        v_reset = integer_parameter("IF v_reset", v_reset)
    reset = ("v = v - threshold * int(fired)" if neuron.reset == Reset.SUBTRACT
             else "v = v * (1 - int(fired)) + v_reset * int(fired)")
    return NeuronCode(
        state=("v",),
        parameters={"threshold": threshold, "v_init": v_init, "v_reset": v_reset},
        start="v = v * (1 - first) + v_init * first",
        step="v = v + I",
        fire=f"v {neuron.compare.value} threshold",
        reset=reset,
    )


def _truncating_decay(name: str, keep: str) -> str:
    """``name = name * keep / 4096``, truncated toward zero, in integers."""
    unit = 1 << DECAY_BITS
    return (f"product = {name} * {keep}\n"
            f"{name} = (product + int(product < 0) * {unit - 1}) // {unit}")


@neuron_code.register
def _(neuron: CubaLIF, fixed: bool) -> NeuronCode:
    """``u = u * (1 - du) + I``; ``v = v * (1 - dv) + u + bias``; spike where
    ``v > threshold`` (or ``>=``); ``v = v_reset`` (or the subtracting resets). Fixed: Lava's
    bit-accurate LIF (state 6 bits finer than currents, decays truncated toward zero, ``u``
    wraps and ``v`` saturates at 24 bits). With ``refractory = r > 0`` (Lava's
    ``LIFRefractory``) ``v`` is held for the r steps after a spike, counted down in the state
    ``waiting``."""
    unity, scale = 1 << DECAY_BITS, 1 << FIXED_SHIFT
    compare = neuron.compare.value
    # v's update goes to a new temporary, v_next: Brian2's numpy target updates a variable in
    # place (v = v * k becomes v *= k), which would change a temporary copy of v as well
    if fixed:
        p = neuron.fixed_parameters()
        parameters = {"theta": p["threshold"] << FIXED_SHIFT, "keep_u": unity - p["du"],
                      "keep_v": unity - p["dv"], "bias": p["bias"],
                      "v_reset": p["v_reset"] << FIXED_SHIFT, "v_init": p["v_init"] << FIXED_SHIFT}
        step = [
            _truncating_decay("u", "keep_u"),
            f"u = u + I * {scale}",
            f"u = u - int(u > {_STATE_MAX}) * {2 * _STATE_MAX}",
            f"u = u + int(u <= -{_STATE_MAX}) * {2 * _STATE_MAX}",
            "product = v * keep_v",
            f"v_next = (product + int(product < 0) * {unity - 1}) // {unity}",
            "v_next = v_next + u",
            f"v_next = v_next + bias * {scale}",
        ]
        saturate = f"clip(v, -{_STATE_MAX - 1}, {_STATE_MAX - 1})"
    else:
        parameters = {"theta": neuron.threshold, "keep_u": 1.0 - neuron.current_decay,
                      "keep_v": 1.0 - neuron.voltage_decay, "bias": neuron.bias,
                      "v_reset": neuron.v_reset, "v_init": neuron.v_init}
        step = ["u = u * keep_u", "u = u + I", "v_next = v * keep_v", "v_next = v_next + u",
                "v_next = v_next + bias"]
        saturate = None
    if neuron.reset == Reset.DELAYED_SUBTRACT:  # v still holds the previous step's potential
        step.append(f"v_next = v_next - theta * int(v {compare} theta)")
    if saturate:
        step.append(f"v_next = {saturate.replace('(v,', '(v_next,')}")
    state = ("u", "v")
    start = "u = u * (1 - first)\nv = v * (1 - first) + v_init * first"
    if neuron.reset == Reset.HARD:
        reset = "v = v * (1 - int(fired))"
        if neuron.v_reset != 0:
            reset += "\nv = v + v_reset * int(fired)"
    elif neuron.reset == Reset.SUBTRACT:
        reset = "v = v - theta * int(fired)" + (f"\nv = {saturate}" if saturate else "")
    else:
        reset = ""
    if neuron.refractory:
        state += ("waiting",)
        parameters["refractory_steps"] = neuron.refractory
        start += "\nwaiting = waiting * (1 - first)"
        step += ["held = int(waiting > 0)", "v = v_next * (1 - held) + v * held"]
        reset += "\nwaiting = (waiting - held) * (1 - int(fired)) + refractory_steps * int(fired)"
    else:
        step.append("v = v_next")
    return NeuronCode(state=state, parameters=parameters, start=start, step="\n".join(step),
                      fire=f"v {compare} theta", reset=reset.strip("\n"))
