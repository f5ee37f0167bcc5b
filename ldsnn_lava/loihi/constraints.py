"""Validate a fixed-point LD-SNN against the Loihi 2 limits that matter for a feed-forward net.

Each limit below says where its value comes from. Public Loihi 2 figures are few; where a
figure is Loihi 1's, or derived, or assumed, :class:`Loihi2Limits` says so. Pass your own
limits when you know better ones (e.g. from Intel's NxSDK/Lava-Loihi documentation under NDA).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ldsnn_lava.network import Network
from ldsnn_lava.neurons import IF, CubaLIF
from ldsnn_lava.ops import Conv2d, Dense, Scale


@dataclass(frozen=True)
class Loihi2Limits:
    """Hardware limits used by :func:`check_loihi2` and the estimate.

    Attributes
    ----------
    weight_min, weight_max : int
        Integer weight range: -256..254, the 8-bit signed mantissa range that lava-dl 0.6's
        netx loader accepts (``lava/lib/dl/netx/utils.py``, ``optimize_weight_bits`` clips to
        [-256, 254]) and Lava's bit-accurate Dense uses (weights ``precision=8``,
        ``lava/proc/dense/models.py``).
    weight_exp_min, weight_exp_max : int
        Shared per-layer weight exponent range, -8..7: Loihi 1's ``wgtExp`` (Davies et al.,
        IEEE Micro 2018; NxSDK documentation); assumed unchanged on Loihi 2. A weight matrix
        fits if ``w = m * 2**e`` with m in the mantissa range and e in this range; netx export
        itself needs ``e = 0`` (lava-dl clips otherwise).
    threshold_max : int
        ``vThMant`` range 0..131071 (unsigned 17 bits): Lava's ``PyLifModelBitAcc``
        (``lava/proc/lif/models.py`` docstring, stated for Loihi 1; assumed for Loihi 2).
    decay_max : int
        ``iDecay``/``vDecay`` range 0..4096 in 1/4096 units (12-bit ``du``/``dv`` plus Lava's
        1-bit offsets, same source).
    bias_min, bias_max : int
        ``bias_mant`` signed 13 bits, -4096..4095, with ``bias_exp = 6`` as netx sets it
        (same source).
    neurons_per_core : int
        8192: Loihi 2's up to 1 million neurons per chip over 128 neuro cores (Intel, "Taking
        Neuromorphic Computing to the Next Level with Loihi 2", technology brief, 2021);
        derived, an upper bound that depends on the neuron model's state size.
    synaptic_memory_bits : int
        128 KiB of synaptic memory per core, in bits. Loihi 1 has 128 KB per core (Davies et
        al. 2018); Loihi 2's per-core SRAM is flexibly partitioned (the 2021 brief); 128 KiB
        for synapses is an assumption.
    fan_in_axons : int
        4096 input axons per core: Loihi 1's figure (Davies et al. 2018), assumed for Loihi 2.
        A neuron's fan-in cannot exceed it without splitting its input.
    cores_per_chip : int
        128 neuro cores per Loihi 2 chip (2021 brief).
    """

    weight_min: int = -256
    weight_max: int = 254
    weight_exp_min: int = -8
    weight_exp_max: int = 7
    threshold_max: int = (1 << 17) - 1
    decay_max: int = 4096
    bias_min: int = -4096
    bias_max: int = 4095
    neurons_per_core: int = 8192
    synaptic_memory_bits: int = 128 * 1024 * 8
    fan_in_axons: int = 4096
    cores_per_chip: int = 128


LOIHI2 = Loihi2Limits()


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


def fan_in(net: Network, index: int) -> int:
    """Largest structural fan-in of a neuron of stage ``index`` (synapses into it)."""
    synaptic = [op for op in net.stages[index].ops if not op.is_reshape]
    op = synaptic[0]
    if isinstance(op, Dense):
        return int(op.weight.shape[1])
    if isinstance(op, Conv2d):
        return int(np.prod(op.weight.shape[1:]))
    if isinstance(op, Scale):
        return 1
    return int(np.prod(getattr(op, "kernel", (1,))))


def _weights(net: Network, index: int) -> list[np.ndarray]:
    return [op.weight for op in net.stages[index].ops if isinstance(op, Dense | Conv2d)]


def _check_neuron(index: int, neuron, limits: Loihi2Limits) -> list[Violation]:
    if neuron is None:
        return []
    if isinstance(neuron, IF):
        return [Violation(index, "IF neuron (reset by subtraction) is not a built-in Loihi "
                          "neuron", "use CubaLIF, or implement IF as a Loihi 2 microcoded "
                          "neuron model (not exportable through netx)")]
    out: list[Violation] = []
    if not isinstance(neuron, CubaLIF):
        return out
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
    more is split over cores (see :func:`ldsnn_lava.loihi.estimate.cores_needed`).

    Parameters
    ----------
    net : Network
    limits : Loihi2Limits

    Returns
    -------
    list of Violation
    """
    from ldsnn_lava.loihi.estimate import cores_needed

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


def cores_for(neurons: int, synapse_bits: int, limits: Loihi2Limits) -> int:
    """Cores one population needs: bound by neurons and by synaptic memory per core."""
    return max(1, math.ceil(neurons / limits.neurons_per_core),
               math.ceil(synapse_bits / limits.synaptic_memory_bits))
