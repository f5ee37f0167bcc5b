"""Loihi 2 hardware limits as data: one frozen dataclass, each field with its source.

Public Loihi 2 figures are few; where a figure is Loihi 1's, or derived, or assumed, the field
says so. Pass your own :class:`Loihi2Limits` where you know better ones.
"""

from __future__ import annotations

from dataclasses import dataclass


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
