"""ANN-to-SNN conversion of sequential torch models, with data-based threshold balancing.

A model is read as a flat sequence of modules (nested ``nn.Sequential`` are flattened):

- ``Conv2d`` and ``Linear`` become :class:`~ldsnn_lava.ops.Conv2d` / :class:`~ldsnn_lava.ops.Dense`
  ops; a ``BatchNorm1d``/``BatchNorm2d`` right after one is folded into it (running statistics);
- ``AvgPool2d`` becomes :class:`~ldsnn_lava.ops.AvgPool2d`, ``Flatten`` a free reshape;
- every ``ReLU`` closes a stage: the ops since the previous ``ReLU`` feed a population of
  :class:`~ldsnn_lava.neurons.IF` neurons (reset by subtraction, threshold 1, ``v_init`` 0.5);
- the ops after the last ``ReLU`` form the readout (the model must end with a linear layer);
- ``Dropout`` and ``Identity`` are skipped (identities at inference).

Anything else raises a ValueError naming the module.

Threshold balancing (Rueckauer et al. 2017, "robust normalisation"): the ANN runs in eval mode
on ``calibration_x``; ``lambda_l`` is the ``percentile``-th percentile of stage l's ReLU output
(all values, zeros included; at most ``max_values`` per stage, drawn with a fixed seed). A spike
of stage l then stands for an activation of ``lambda_l``: the first weighted op of stage l has
its weights multiplied by ``lambda_{l-1}`` (``lambda_0 = 1``: the input is given directly), the
last weighted op of a spiking stage has its weights and bias divided by ``lambda_l``, so
threshold 1 fires at the rate ``a_l / lambda_l`` (clipped to one spike per step). A stage without
weights (e.g. only a pool) gets threshold ``lambda_l / lambda_{l-1}`` instead. A stage whose
activations are all zero on the calibration data keeps ``lambda_l = 1``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from ldsnn_lava.errors import InvalidInput, InvalidNetwork, InvalidOption
from ldsnn_lava.network import Network, Stage, register_format
from ldsnn_lava.neurons import IF
from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Flatten, Op

SKIPPED = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Identity)


def _leaves(model: nn.Module) -> list[nn.Module]:
    if isinstance(model, nn.Sequential):
        return [leaf for child in model for leaf in _leaves(child)]
    return [model]


def _fold_batch_norm(weight: np.ndarray, bias: np.ndarray, bn: nn.Module
                     ) -> tuple[np.ndarray, np.ndarray]:
    if bn.running_mean is None or bn.running_var is None:
        raise InvalidNetwork(f"{bn}: batch norm without running statistics cannot be folded")
    scale = 1.0 / np.sqrt(bn.running_var.detach().double().numpy() + bn.eps)
    shift = -bn.running_mean.detach().double().numpy() * scale
    if bn.affine:
        gamma = bn.weight.detach().double().numpy()
        scale, shift = scale * gamma, shift * gamma + bn.bias.detach().double().numpy()
    shape = (-1,) + (1,) * (weight.ndim - 1)
    return weight * scale.reshape(shape), bias * scale + shift


def _weights(module: nn.Module) -> tuple[np.ndarray, np.ndarray]:
    weight = module.weight.detach().double().numpy().copy()
    bias = (np.zeros(weight.shape[0]) if module.bias is None
            else module.bias.detach().double().numpy().copy())
    return weight, bias


def _check_conv(module: nn.Conv2d) -> None:
    if isinstance(module.padding, str):
        raise InvalidNetwork(f"{module}: string padding {module.padding!r} is not supported; "
                             f"give explicit integer padding")
    if module.groups != 1 or tuple(module.dilation) != (1, 1):
        raise InvalidNetwork(f"{module}: grouped or dilated convolutions are not supported")
    if module.padding_mode != "zeros":
        raise InvalidNetwork(f"{module}: padding_mode {module.padding_mode!r} is not supported")


def _check_pool(module: nn.AvgPool2d) -> None:
    padding = module.padding if isinstance(module.padding, int) else max(module.padding)
    if padding or module.ceil_mode or module.divisor_override is not None:
        raise InvalidNetwork(f"{module}: only AvgPool2d without padding, ceil_mode or "
                             f"divisor_override is supported")


def _check_flatten(module: nn.Flatten) -> None:
    if module.start_dim != 1 or module.end_dim != -1:
        raise InvalidNetwork(f"{module}: only Flatten(start_dim=1, end_dim=-1) is supported")


def parse(model: nn.Module) -> list[list[nn.Module]]:
    """Split a sequential model into stages: lists of (possibly folded) modules, each stage but
    the last ended by a ReLU. Raises ValueError on anything unsupported."""
    stages: list[list[nn.Module]] = [[]]
    for module in _leaves(model):
        if isinstance(module, SKIPPED):
            continue
        if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            previous = stages[-1][-1] if stages[-1] else None
            if not isinstance(previous, nn.Conv2d | nn.Linear):
                raise InvalidNetwork(f"{module}: batch norm must directly follow a Conv2d or "
                                     f"Linear to be folded")
        elif isinstance(module, nn.Conv2d):
            _check_conv(module)
        elif isinstance(module, nn.AvgPool2d):
            _check_pool(module)
        elif isinstance(module, nn.Flatten):
            _check_flatten(module)
        elif isinstance(module, nn.ReLU):
            if not any(isinstance(m, nn.Conv2d | nn.Linear | nn.AvgPool2d) for m in stages[-1]):
                raise InvalidNetwork(f"ReLU #{len(stages)} has no Conv2d, Linear or AvgPool2d "
                                     f"before it in its stage")
            stages[-1].append(module)
            stages.append([])
            continue
        elif not isinstance(module, nn.Linear):
            raise InvalidNetwork(f"unsupported module {type(module).__name__} ({module}); "
                                 f"supported: Conv2d, Linear, ReLU, AvgPool2d, Flatten, "
                                 f"BatchNorm1d/2d, Dropout, Identity")
        stages[-1].append(module)
    if not any(isinstance(m, nn.Conv2d | nn.Linear | nn.AvgPool2d) for m in stages[-1]):
        raise InvalidNetwork("the model must end with a linear layer (the readout) after its last "
                             "ReLU; drop a final ReLU or softmax")
    return stages


def _percentiles(stages: list[list[nn.Module]], x: torch.Tensor, percentile: float,
                 max_values: int, batch_size: int) -> list[float]:
    """lambda_l of every spiking stage, from the ANN's activations on ``x``."""
    rng = np.random.default_rng(0)
    samples: list[list[np.ndarray]] = [[] for _ in stages[:-1]]
    with torch.no_grad():
        for begin in range(0, len(x), batch_size):
            a = x[begin:begin + batch_size]
            for index, modules in enumerate(stages[:-1]):
                for module in modules:
                    a = module(a)
                samples[index].append(a.flatten().numpy())
    scales = []
    for chunks in samples:
        values = np.concatenate(chunks)
        if values.size > max_values:
            values = rng.choice(values, max_values, replace=False)
        scale = float(np.percentile(values, percentile))
        scales.append(scale if scale > 0 else 1.0)
    return scales


def _ops(modules: Iterable[nn.Module]) -> list[tuple[Op, bool]]:
    """Our ops for a stage's modules (ReLU dropped, batch norm folded), each with a flag
    telling whether it carries weights."""
    ops: list[tuple[Op, bool]] = []
    pending: tuple[nn.Module, np.ndarray, np.ndarray] | None = None

    def flush():
        nonlocal pending
        if pending is not None:
            module, weight, bias = pending
            if isinstance(module, nn.Conv2d):
                ops.append((Conv2d(weight, bias, stride=tuple(module.stride),
                                   padding=tuple(module.padding)), True))
            else:
                ops.append((Dense(weight, bias), True))
            pending = None

    for module in modules:
        if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            pending = (pending[0], *_fold_batch_norm(pending[1], pending[2], module))
            continue
        flush()
        if isinstance(module, nn.Conv2d | nn.Linear):
            pending = (module, *_weights(module))
        elif isinstance(module, nn.AvgPool2d):
            stride = module.kernel_size if module.stride is None else module.stride
            ops.append((AvgPool2d(module.kernel_size, stride), False))
        elif isinstance(module, nn.Flatten):
            ops.append((Flatten(), False))
    flush()
    return ops


def _scaled(op: Op, weight_factor: float, bias_factor: float) -> Op:
    bias = None if op.bias is None else op.bias * bias_factor
    if isinstance(op, Conv2d):
        return Conv2d(op.weight * weight_factor, bias, stride=op.stride, padding=op.padding)
    return Dense(op.weight * weight_factor, bias)


def _calibration(calibration_x) -> torch.Tensor:
    """Calibration data as a float32 batch: real, finite numbers of shape (N, ...), N >= 1."""
    if isinstance(calibration_x, torch.Tensor):
        array = calibration_x.detach().cpu().numpy()
    else:
        try:
            array = np.asarray(calibration_x)
        except (TypeError, ValueError) as err:
            raise InvalidInput(f"calibration_x must be an array of numbers ({err})") from None
    if array.dtype.kind not in "biuf":
        raise InvalidInput(f"calibration_x must hold real numbers, got {array.dtype}")
    if array.ndim < 2 or len(array) == 0:
        raise InvalidInput(f"calibration_x must be (N, *input_shape) with N >= 1, got shape "
                           f"{array.shape}")
    if not np.all(np.isfinite(array)):
        raise InvalidInput("calibration_x contains NaN or inf values")
    return torch.as_tensor(array).float()


def from_torch(
    model: nn.Module,
    calibration_x,
    percentile: float = 99.9,
    *,
    input_encoding: str = "direct",
    max_values: int = 1 << 22,
    batch_size: int = 256,
    name: str | None = None,
) -> Network:
    """Convert a trained sequential torch ANN into an IF SNN with balanced thresholds.

    Parameters
    ----------
    model : torch.nn.Module
        An ``nn.Sequential`` (nesting allowed) of Conv2d, Linear, ReLU, AvgPool2d, Flatten,
        BatchNorm1d/2d (folded into the layer before), Dropout and Identity, ending with a
        linear layer. Its training mode is restored afterwards.
    calibration_x : array-like or torch.Tensor
        (N, *input_shape) inputs (typically training data) for the activation percentiles.
    percentile : float
        Percentile in (0, 100] of each stage's ReLU activations taken as its full-rate value;
        100 is the classic max-normalisation, 99.9 (default) the robust one.
    input_encoding : {"direct", "rate"}
        How the network is fed (see :class:`~ldsnn_lava.network.Network`).
    max_values : int
        At most this many activation values per stage enter the percentile (random subset,
        fixed seed).
    batch_size : int
        Calibration batch size.
    name : str, optional
        The network's name.

    Returns
    -------
    Network
        IF stages with threshold 1 (reset by subtraction) and a readout.

    Raises
    ------
    InvalidNetwork, InvalidOption, InvalidInput
        On an unsupported module (named in the message), a model not ending in a linear layer,
        a bad percentile, or calibration data of the wrong shape.
    """
    if isinstance(percentile, bool) or not isinstance(percentile, int | float) \
            or not 0 < percentile <= 100:
        raise InvalidOption(f"percentile must be in (0, 100], got {percentile!r}")
    if max_values < 1 or batch_size < 1:
        raise InvalidOption(f"max_values and batch_size must be >= 1, got {max_values}, "
                            f"{batch_size}")
    x = _calibration(calibration_x)
    stages = parse(model)
    was_training = model.training
    model.eval()
    try:
        try:
            scales = _percentiles(stages, x, percentile, max_values, batch_size)
        except RuntimeError as err:
            raise InvalidInput(f"the model does not accept calibration_x of shape "
                               f"{tuple(x.shape)}: {err}") from None
    finally:
        model.train(was_training)
    result, previous = [], 1.0
    for index, modules in enumerate(stages):
        ops = _ops(modules)
        readout = index == len(stages) - 1
        scale = 1.0 if readout else scales[index]
        weighted = [i for i, (_, has_weights) in enumerate(ops) if has_weights]
        final = [op for op, _ in ops]
        threshold = 1.0
        if weighted:
            first, last = weighted[0], weighted[-1]
            final[first] = _scaled(final[first], previous, 1.0)
            final[last] = _scaled(final[last], 1.0 / scale, 1.0 / scale)
        else:
            threshold = scale / previous
        neuron = None if readout else IF(threshold=threshold)
        result.append(Stage(final, neuron, name=f"{'readout' if readout else 'stage'}{index}"))
        previous = scale
    return Network(tuple(x.shape[1:]), result, input_encoding=input_encoding, name=name)


register_format("torch", reader=from_torch)
