"""How a neuron model's parameters and state appear as Lava ``Var``s of a stage process.

Each neuron type of :mod:`ldsnn_lava.neurons` has one :class:`NeuronVars` entry: the names of its
parameter Vars (each of shape ``(1,)``, like Lava's ``LIF.vth``), the names of its state Vars
(each shaped like the stage's output, in the order of the neuron's state tuple), and the two
translations between the neuron dataclass and those Var values.

Values are in the units of the precision the stage runs in, as Lava's own ``LIF`` does:
``float`` holds the dataclass's values (decays are fractions); ``fixed`` holds the integers of
the fixed-point definition (``CubaLIF.fixed_parameters()``: decays in 1/4096, and the state ``u``,
``v`` kept 6 bits finer than currents, as in Lava's bit-accurate ``LIF``).

The process models rebuild the neuron from the Var values with :meth:`NeuronVars.neuron`, so a
``Var.set()`` of a parameter takes effect (the neuron's own checks apply). The discrete choices of
the neuron variants (``reset``, ``compare``) are process parameters (:meth:`NeuronVars.options`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ldsnn_lava.neurons import DECAY_BITS, IF, CubaLIF, Neuron


@dataclass(frozen=True)
class NeuronVars:
    """The Vars of one neuron type (see the module docstring)."""

    parameters: tuple[str, ...]
    state: tuple[str, ...]
    to_values: Callable[[Neuron, bool], dict[str, float]]
    from_values: Callable[[Mapping[str, float], bool, Mapping[str, str]], Neuron]

    def values(self, neuron: Neuron, fixed: bool) -> dict[str, float]:
        """The parameter Var values of ``neuron`` (``fixed``: the integer definition's)."""
        return self.to_values(neuron, fixed)

    @staticmethod
    def options(neuron: Neuron) -> dict[str, str]:
        """The neuron's discrete choices (reset, comparison): process parameters, not Vars."""
        return {"reset": neuron.reset.value, "compare": neuron.compare.value}

    def neuron(self, values: Mapping[str, float], fixed: bool,
               options: Mapping[str, str]) -> Neuron:
        """The neuron whose parameter Vars hold ``values``, with the choices ``options``."""
        return self.from_values(values, fixed, options)


def _if_values(neuron: IF, fixed: bool) -> dict[str, float]:
    return {"vth": neuron.threshold, "v_init": neuron.initial_v, "v_reset": neuron.v_reset}


def _if_neuron(values: Mapping[str, float], fixed: bool, options: Mapping[str, str]) -> IF:
    return IF(threshold=values["vth"], v_init=values["v_init"], v_reset=values["v_reset"],
              **options)


def _cubalif_values(neuron: CubaLIF, fixed: bool) -> dict[str, float]:
    if fixed:
        p = neuron.fixed_parameters()
        return {"vth": p["threshold"], "du": p["du"], "dv": p["dv"], "neuron_bias": p["bias"],
                "v_reset": p["v_reset"], "v_init": p["v_init"]}
    return {"vth": neuron.threshold, "du": neuron.current_decay, "dv": neuron.voltage_decay,
            "neuron_bias": neuron.bias, "v_reset": neuron.v_reset, "v_init": neuron.v_init}


def _cubalif_neuron(values: Mapping[str, float], fixed: bool,
                    options: Mapping[str, str]) -> CubaLIF:
    unit = (1 << DECAY_BITS) if fixed else 1
    return CubaLIF(threshold=values["vth"], current_decay=values["du"] / unit,
                   voltage_decay=values["dv"] / unit, bias=values["neuron_bias"],
                   v_reset=values["v_reset"], v_init=values["v_init"], **options)


NEURON_VARS: dict[type, NeuronVars] = {
    IF: NeuronVars(("vth", "v_init", "v_reset"), ("v",), _if_values, _if_neuron),
    CubaLIF: NeuronVars(("vth", "du", "dv", "neuron_bias", "v_reset", "v_init"), ("u", "v"),
                        _cubalif_values, _cubalif_neuron),
}
"""Var layout of each neuron type; a stage process class per type declares these Vars."""
