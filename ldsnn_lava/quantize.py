"""Map a float LD-SNN to the integer (Loihi-style) network that ``precision="fixed"`` runs.

Each weighted op (Dense, Conv2d, Scale) gets a power-of-two exponent ``e`` chosen so that
its largest weight fills a signed ``weight_bits`` mantissa: ``w_q = round(w * 2**e)`` in
``[-2**(b-1), 2**(b-1) - 1]``. ``AvgPool2d`` becomes ``SumPool2d``, whose factor ``k_h * k_w``
is folded into the stage's scale. The stage's currents then approximate ``S * I`` for the
product ``S`` of these factors, and every quantity added to or compared with them is scaled
by the same ``S`` and rounded: biases (by the factor reached at their op), IF thresholds,
``v_init`` and ``v_reset``, CubaLIF thresholds, biases, ``v_reset`` and ``v_init``. IF spikes
are invariant to that common scaling, so the only change is rounding. CubaLIF decays are rounded
to multiples of 1/4096.

Stage 0 under ``direct`` input needs integer currents, so its input is quantized too:
``x_q = round(x * 2**input_exponent)`` (:meth:`QuantizedNetwork.encode_input`), and the
factor ``2**input_exponent`` is part of stage 0's scale. ``rate`` input is spikes already.
The readout sums of the fixed network are ``scales[-1]`` times the float ones (argmax is
unchanged). Rounding uses numpy's round-half-to-even.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import singledispatch

import numpy as np
import torch

from ldsnn_lava.engine import evaluate
from ldsnn_lava.errors import InvalidNetwork, InvalidOption
from ldsnn_lava.network import Network, Stage
from ldsnn_lava.neurons import DECAY_BITS, IF, CubaLIF
from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Flatten, Op, Scale, SumPool2d
from ldsnn_lava.options import InputEncoding
from ldsnn_lava.schedule import Schedule


@dataclass(frozen=True)
class QuantizedNetwork:
    """What :func:`quantize` returns.

    Attributes
    ----------
    network : Network
        Integer weights, biases and neuron parameters; SumPool2d instead of AvgPool2d.
    input_exponent : int or None
        Direct input is fed as ``round(x * 2**input_exponent)``; None for rate input.
    weight_exponents : tuple of tuple of int
        Per stage, the exponent of each weighted op, in order.
    scales : tuple of float
        Per stage, the factor S between fixed and float currents.
    weight_bits : int
    """

    network: Network
    input_exponent: int | None
    weight_exponents: tuple[tuple[int, ...], ...]
    scales: tuple[float, ...]
    weight_bits: int

    def encode_input(self, x) -> np.ndarray:
        """The input the fixed network takes for float input ``x`` (float64, integer-valued
        for direct input; unchanged for rate input)."""
        x = np.asarray(x, dtype=np.float64)
        if self.input_exponent is None:
            return x
        return np.round(x * 2.0**self.input_exponent)


def weight_exponent(weight: np.ndarray, weight_bits: int) -> int:
    """The largest ``e`` with ``max|weight| * 2**e <= 2**(weight_bits - 1) - 1`` (0 for an
    all-zero weight)."""
    peak = float(np.max(np.abs(weight))) if np.size(weight) else 0.0
    if peak == 0.0:
        return 0
    e = math.floor(math.log2(((1 << (weight_bits - 1)) - 1) / peak))
    while peak * 2.0**e > (1 << (weight_bits - 1)) - 1:  # guard log2 rounding
        e -= 1
    return e


def _mantissa(weight: np.ndarray, e: int, weight_bits: int) -> np.ndarray:
    limit = 1 << (weight_bits - 1)
    return np.clip(np.round(weight * 2.0**e), -limit, limit - 1)


def _bias(bias, factor: float):
    return None if bias is None else np.round(np.asarray(bias) * factor)


@singledispatch
def quantize_op(op: Op, factor: float, weight_bits: int) -> tuple[Op, float, int | None]:
    """The integer form of ``op`` given the cumulative scale ``factor`` of its input.

    Returns the integer op, the cumulative factor after it, and its weight exponent (``None``
    for ops without weights).
    """
    raise TypeError(f"no quantization rule for op type {type(op).__name__}")


@quantize_op.register
def _(op: Dense, factor: float, weight_bits: int) -> tuple[Op, float, int | None]:
    e = weight_exponent(op.weight, weight_bits)
    factor *= 2.0**e
    return Dense(_mantissa(op.weight, e, weight_bits), _bias(op.bias, factor)), factor, e


@quantize_op.register
def _(op: Conv2d, factor: float, weight_bits: int) -> tuple[Op, float, int | None]:
    e = weight_exponent(op.weight, weight_bits)
    factor *= 2.0**e
    return (Conv2d(_mantissa(op.weight, e, weight_bits), _bias(op.bias, factor), op.stride,
                   op.padding), factor, e)


@quantize_op.register
def _(op: Scale, factor: float, weight_bits: int) -> tuple[Op, float, int | None]:
    e = weight_exponent(op.weight, weight_bits)
    factor *= 2.0**e
    return Scale(_mantissa(op.weight, e, weight_bits), _bias(op.bias, factor)), factor, e


@quantize_op.register
def _(op: AvgPool2d, factor: float, weight_bits: int) -> tuple[Op, float, int | None]:
    return SumPool2d(op.kernel, op.stride), factor * op.area, None


@quantize_op.register(SumPool2d)
@quantize_op.register(Flatten)
def _(op: Op, factor: float, weight_bits: int) -> tuple[Op, float, int | None]:
    return op, factor, None


def _quantize_neuron(neuron, factor: float):
    def scaled(value: float) -> float:
        return float(np.round(value * factor))

    if isinstance(neuron, IF):
        return dataclasses.replace(neuron, threshold=max(1.0, scaled(neuron.threshold)),
                                   v_init=scaled(neuron.initial_v),
                                   v_reset=scaled(neuron.v_reset))
    if isinstance(neuron, CubaLIF):
        unit = 1 << DECAY_BITS
        return dataclasses.replace(
            neuron, threshold=scaled(neuron.threshold),
            current_decay=round(neuron.current_decay * unit) / unit,
            voltage_decay=round(neuron.voltage_decay * unit) / unit,
            bias=scaled(neuron.bias), v_reset=scaled(neuron.v_reset),
            v_init=scaled(neuron.v_init))
    return None


def quantize(net: Network, weight_bits: int = 8, input_exponent: int = 8) -> QuantizedNetwork:
    """Quantize ``net`` for ``precision="fixed"`` (see the module docstring).

    Parameters
    ----------
    net : Network
    weight_bits : int
        Signed mantissa bits of every weight, 2..24 (default 8).
    input_exponent : int
        Direct input is quantized to multiples of ``2**-input_exponent`` (default 8);
        ignored for rate input.

    Returns
    -------
    QuantizedNetwork

    Raises
    ------
    ValueError
        On ``weight_bits`` outside 2..24, a negative ``input_exponent``, or a non-Network.
    """
    if not isinstance(net, Network):
        raise InvalidNetwork(f"quantize needs a Network, got {type(net).__name__}")
    if isinstance(weight_bits, bool) or not isinstance(weight_bits, int) \
            or not 2 <= weight_bits <= 24:
        raise InvalidOption(f"weight_bits must be an int in [2, 24], got {weight_bits!r}")
    if isinstance(input_exponent, bool) or not isinstance(input_exponent, int) \
            or input_exponent < 0:
        raise InvalidOption(f"input_exponent must be an int >= 0, got {input_exponent!r}")
    direct = net.input_encoding == InputEncoding.DIRECT
    stages, exponents, scales = [], [], []
    for index, stage in enumerate(net.stages):
        factor = 2.0**input_exponent if index == 0 and direct else 1.0
        ops, stage_exponents = [], []
        for op in stage.ops:
            op, factor, e = quantize_op(op, factor, weight_bits)
            ops.append(op)
            if e is not None:
                stage_exponents.append(e)
        stages.append(Stage(ops, _quantize_neuron(stage.neuron, factor), stage.name))
        exponents.append(tuple(stage_exponents))
        scales.append(factor)
    network = Network(net.input_shape, stages, net.input_encoding,
                      None if net.name is None else f"{net.name} (fixed)")
    return QuantizedNetwork(network, input_exponent if direct else None, tuple(exponents),
                            tuple(scales), weight_bits)


@dataclass(frozen=True)
class QuantizationReport:
    """What quantization costs on some data (see :func:`quantization_report`).

    Attributes
    ----------
    num_samples : int
    agreement : float
        Fraction of samples whose fixed prediction equals the float one.
    float_accuracy, fixed_accuracy : float or None
        Top-1 accuracies, when labels were given.
    """

    num_samples: int
    agreement: float
    float_accuracy: float | None
    fixed_accuracy: float | None

    @property
    def accuracy_cost(self) -> float | None:
        """Float minus fixed accuracy (positive: quantization lost accuracy)."""
        if self.float_accuracy is None:
            return None
        return self.float_accuracy - self.fixed_accuracy


def quantization_report(net: Network, schedule: Schedule, x, labels=None,
                        quantized: QuantizedNetwork | None = None,
                        device: str = "cpu") -> QuantizationReport:
    """Evaluate ``net`` in float64 and its quantized form in fixed point on the same data.

    Parameters
    ----------
    net : Network
        The float network.
    schedule : Schedule
    x : array-like
        (N, *input_shape) float inputs.
    labels : array-like, optional
        (N,) integer labels, for accuracies.
    quantized : QuantizedNetwork, optional
        Default: ``quantize(net)``.
    device : str
        Torch device of both evaluations.
    """
    quantized = quantize(net) if quantized is None else quantized
    x = np.asarray(x, dtype=np.float64)
    ref = evaluate(net, schedule, x, device=device, dtype=torch.float64, record_spikes=False)
    fixed = evaluate(quantized.network, schedule, quantized.encode_input(x), device=device,
                     precision="fixed", record_spikes=False)
    float_acc = fixed_acc = None
    if labels is not None:
        float_acc, fixed_acc = ref.accuracy(labels), fixed.accuracy(labels)
    return QuantizationReport(len(x), float(np.mean(ref.predictions == fixed.predictions)),
                              float_acc, fixed_acc)
