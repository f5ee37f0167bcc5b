"""Validate a fixed-point LD-SNN against the Loihi 2 limits that matter for a feed-forward net
(the limits and their sources: :mod:`ldsnn_lava.loihi.limits`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ldsnn_lava.loihi.limits import LOIHI2, Loihi2Limits
from ldsnn_lava.loihi.resources import cores_needed, fan_in
from ldsnn_lava.network import Network
from ldsnn_lava.neurons import IF, CubaLIF
from ldsnn_lava.ops import Conv2d, Dense, Scale


@dataclass(frozen=True)
class Violation:
    """One broken limit: which stage, what, and how to fix it."""

    stage: int
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"stage {self.stage}: {self.problem} -> {self.fix}"


def _mantissa_fits(weight: np.ndarray, limits: Loihi2Limits) -> bool:
    """True if ``weight = m * 2**e`` with one shared e in range and every m in range."""
    for exp in range(limits.weight_exp_min, limits.weight_exp_max + 1):
        mantissa = weight / 2.0 ** exp
        if (np.all(mantissa == np.round(mantissa)) and mantissa.min() >= limits.weight_min
                and mantissa.max() <= limits.weight_max):
            return True
    return False


def _weights(net: Network, index: int) -> list[np.ndarray]:
    return [op.weight for op in net.stages[index].ops if isinstance(op, Dense | Conv2d)]


def _check_neuron(index: int, neuron, limits: Loihi2Limits) -> list[Violation]:
    if neuron is None:
        return []
    if isinstance(neuron, IF):
        return [Violation(index, "IF neuron is not a built-in Loihi "
                          "neuron", "use CubaLIF, or implement IF as a Loihi 2 microcoded "
                          "neuron model (not exportable through netx)")]
    out: list[Violation] = []
    if not isinstance(neuron, CubaLIF):
        return out
    if not neuron.is_loihi:
        out.append(Violation(index, f"reset={neuron.reset.value!r}, v_reset={neuron.v_reset:g}, "
                                    f"compare={neuron.compare.value!r}, v_init={neuron.v_init:g} "
                                    f"is not Loihi's built-in CUBA LIF (hard reset to 0, v > "
                                    f"threshold, v from 0)",
                             "implement it as a Loihi 2 microcoded neuron model"))
    checks = [("threshold", neuron.threshold, 0, limits.threshold_max),
              ("current_decay * 4096", neuron.current_decay * 4096, 0, limits.decay_max),
              ("voltage_decay * 4096", neuron.voltage_decay * 4096, 0, limits.decay_max),
              ("bias", neuron.bias, limits.bias_min, limits.bias_max)]
    for name, value, low, high in checks:
        if value != int(value):
            out.append(Violation(index, f"{name} = {value} is not an integer",
                                 "quantize the network (ldsnn_lava.quantize)"))
        elif not low <= value <= high:
            out.append(Violation(index, f"{name} = {value:g} outside [{low}, {high}]",
                                 "requantize with a smaller scale"))
    return out


def check_loihi2(net: Network, limits: Loihi2Limits = LOIHI2) -> list[Violation]:
    """Every Loihi 2 limit that ``net`` breaks, stage by stage (empty list: it fits).

    Checked per stage: integer weights within the mantissa range at one shared exponent,
    integer biases within the bias range, neuron parameter ranges, neuron fan-in against
    the per-core input axons, and over the network the core count against one chip.
    Neurons per core and synaptic memory per core are not violations: a layer that needs
    more is split over cores (see :func:`ldsnn_lava.loihi.resources.cores_needed`).

    Parameters
    ----------
    net : Network
    limits : Loihi2Limits

    Returns
    -------
    list of Violation
    """
    found: list[Violation] = []
    for index, stage in enumerate(net.stages):
        for weight in _weights(net, index):
            if not np.all(weight == np.round(weight)):
                found.append(Violation(index, "weights are not integers",
                                       "quantize the network (ldsnn_lava.quantize)"))
            elif not _mantissa_fits(weight, limits):
                found.append(Violation(
                    index, f"weights in [{weight.min():g}, {weight.max():g}] do not fit an "
                    f"8-bit mantissa [{limits.weight_min}, {limits.weight_max}] with a shared "
                    f"exponent in [{limits.weight_exp_min}, {limits.weight_exp_max}]",
                    "requantize to 8-bit weights"))
            elif weight.min() < limits.weight_min or weight.max() > limits.weight_max:
                found.append(Violation(
                    index, "weights need a weight exponent != 0, which lava-dl's netx loader "
                    "does not set (it clips to [-256, 254])",
                    "requantize to weights in [-256, 254] before netx export"))
        for op in stage.ops:
            bias = getattr(op, "bias", None)
            if bias is None or isinstance(op, Scale):
                continue
            if not np.all(bias == np.round(bias)):
                found.append(Violation(index, "biases are not integers",
                                       "quantize the network (ldsnn_lava.quantize)"))
            elif bias.min() < limits.bias_min or bias.max() > limits.bias_max:
                found.append(Violation(index, f"biases in [{bias.min():g}, {bias.max():g}] "
                                       f"exceed the 13-bit bias range",
                                       "requantize with a smaller scale"))
        found += _check_neuron(index, stage.neuron, limits)
        degree = fan_in(net, index)
        if degree > limits.fan_in_axons:
            found.append(Violation(index, f"fan-in {degree} exceeds {limits.fan_in_axons} input "
                                   f"axons per core", "split the layer's input (e.g. a "
                                   "smaller dense layer or a convolution)"))
    cores = sum(cores_needed(net, limits))
    if cores > limits.cores_per_chip:
        found.append(Violation(net.num_stages - 1, f"the network needs {cores} cores, more than "
                               f"the {limits.cores_per_chip} of one chip",
                               "use several chips or shrink the largest layers"))
    return found
