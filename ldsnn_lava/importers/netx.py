"""Import lava-dl netx HDF5 networks (the feed-forward subset) as :class:`Network`.

Mapping, following what ``lava.lib.dl.netx.hdf5.Network`` builds in lava-dl 0.6 (Lava 0.10):

- ``input`` layer with a neuron: a stage ``Scale(weight, bias, truncate=True)`` then
  :class:`~ldsnn_lava.neurons.CubaLIF`. lava-dl drives the input neurons through their
  ``bias_mant`` = ``int32(weight * x + bias)`` (truncation toward zero, as lava-dl's data
  loaders do) with ``bias_exp = 6``; our Scale output enters as current (``I << 6``), which is
  the same as a bias when ``iDecay = 4096`` (the current does not persist), the only case
  accepted. An ``input`` layer without neuron only gives the input shape.
- ``dense``: :class:`~ldsnn_lava.ops.Dense`; ``conv``: :class:`~ldsnn_lava.ops.Conv2d`
  (netx stores (C, H, W) shapes and (out, in, kH, kW, 1) kernels, as we do); ``pool``:
  :class:`~ldsnn_lava.ops.SumPool2d` scaled by the pool weight; ``flatten``: a reshape in C
  order of (C, H, W), which is lava-dl's ``transpose([2, 1, 0]).flatten()`` of its (W, H, C).
- ``CUBA``/``LOIHI`` neurons: Lava ``LIF`` with ``du = iDecay - 1``, ``dv = vDecay``,
  ``vth = vThMant`` and Lava's built-in ``+1`` on du, i.e. ``CubaLIF(threshold=vThMant,
  current_decay=iDecay/4096, voltage_decay=vDecay/4096)``; a neuron ``bias`` becomes the
  CubaLIF bias (a scalar) or, per neuron, an op bias (same effect when ``iDecay = 4096``).
  ``refDelay`` has no effect in Lava's LIF and is ignored.
- the last layer without neuron: the readout. lava-dl gives it a non-leaky integrator
  (iDecay 0, vDecay 4096, vThMant 2**17, so it never spikes and its current accumulates the
  input): our readout sums the same input.

Weights: lava-dl rescales integer weights to Loihi's 8-bit synapse and shifts the sums back
(``optimize_weight_bits``), which is exact for integer weights in [-256, 254]; other weights
are refused. Unsupported features (delays, recurrent or complex dense, concat, average,
sigma-delta or resonate-and-fire neurons, graded spikes, message bits) raise a ValueError
naming the feature.

Timing: Lava adds one step of delay per hop, so a netx network of L layers run for N steps in
Lava gives the readout of the first ``N - (L - 1)`` steps of our delay-free semantics, and
stage l's spikes at Lava step t are our spikes at step ``t - l``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ldsnn_lava.network import Network, Stage
from ldsnn_lava.neurons import CubaLIF
from ldsnn_lava.ops import Conv2d, Dense, Flatten, Op, Scale, SumPool2d

SUPPORTED_LAYERS = ("input", "dense", "conv", "pool", "flatten")
UNSUPPORTED_LAYERS = {
    "dense_rec": "recurrent dense layers", "dense_comp": "complex dense layers",
    "concat": "concat layers", "average": "average layers", "convT": "transposed convolutions",
    "unpool": "unpool layers",
}
DECAY_UNITY = 4096


def _value(group, key):
    value = group[key][()]
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.dtype.kind == "S":
        return value.item().decode() if value.size == 1 else value
    return value


def _scalar(group, key) -> float:
    return float(np.asarray(_value(group, key)).reshape(-1)[0])


def _neuron(group, where: str) -> CubaLIF:
    config = group["neuron"]
    kind = _value(config, "type")
    if kind not in ("CUBA", "LOIHI"):
        raise ValueError(f"{where}: neuron type {kind!r} is not supported (only CUBA/LOIHI; "
                         f"sigma-delta and resonate-and-fire neurons are not)")
    if "gradedSpike" in config and bool(_value(config, "gradedSpike")):
        raise ValueError(f"{where}: graded spikes are not supported")
    if "messageBits" in config and int(_scalar(config, "messageBits")) != 0:
        raise ValueError(f"{where}: message bits (graded spikes) are not supported")
    return CubaLIF(threshold=_scalar(config, "vThMant"),
                   current_decay=_scalar(config, "iDecay") / DECAY_UNITY,
                   voltage_decay=_scalar(config, "vDecay") / DECAY_UNITY)


def _weights(group, where: str) -> np.ndarray:
    weight = np.asarray(group["weight"][()], dtype=np.float64)
    if not np.array_equal(weight, np.round(weight)):
        raise ValueError(f"{where}: netx weights must be integers")
    if weight.min() < -256 or weight.max() > 254:
        raise ValueError(f"{where}: weights outside Loihi's [-256, 254] (lava-dl would clip "
                         f"them) are not supported")
    return weight


def _pair(group, key) -> tuple[int, int]:
    value = np.asarray(_value(group, key)).reshape(-1)
    return (int(value[0]), int(value[0])) if value.size == 1 else (int(value[0]), int(value[1]))


def _layer_ops(group, kind: str, where: str) -> list[Op]:
    if "delay" in group:
        raise ValueError(f"{where}: synaptic delays are not supported")
    if kind == "dense":
        weight = _weights(group, where)
        if weight.ndim != 2:
            weight = weight.reshape(weight.shape[0], -1)
        return [Dense(weight)]
    if kind == "conv":
        weight = _weights(group, where)
        weight = weight.reshape(weight.shape[:4])
        if int(_scalar(group, "groups")) != 1 or _pair(group, "dilation") != (1, 1):
            raise ValueError(f"{where}: grouped or dilated convolutions are not supported")
        return [Conv2d(weight, stride=_pair(group, "stride"), padding=_pair(group, "padding"))]
    # pool
    if _pair(group, "padding") != (0, 0):
        raise ValueError(f"{where}: padded pooling is not supported")
    pool = SumPool2d(_pair(group, "kernel"), _pair(group, "stride"))
    scale = _scalar(group, "weight") if "weight" in group else 1.0
    return [pool] if scale == 1.0 else [pool, Scale(weight=scale)]


def _bias(group, neuron: CubaLIF, ops: list[Op], where: str) -> CubaLIF:
    if "bias" not in group:
        return neuron
    bias = np.asarray(group["bias"][()], dtype=np.float64).reshape(-1)
    if np.all(bias == bias[0]):
        return CubaLIF(neuron.threshold, neuron.current_decay, neuron.voltage_decay, bias[0])
    if neuron.current_decay != 1.0:
        raise ValueError(f"{where}: per-neuron bias with iDecay != 4096 is not supported")
    ops.append(Scale(weight=1.0, bias=bias.reshape(-1, *([1] * 2)) if isinstance(
        ops[-1], Conv2d) else bias))
    return neuron


def from_netx(path: str | Path, name: str | None = None) -> Network:
    """Read a lava-dl netx HDF5 file (feed-forward subset) into a :class:`Network`.

    Parameters
    ----------
    path : str or Path
        The ``.net`` file.
    name : str, optional
        The network's name (default: the file's stem).

    Returns
    -------
    Network
        Direct input encoding; meant for ``precision="fixed"``, which reproduces Lava's
        bit-accurate LIF (see the module docstring for the mapping and the Lava step offset).

    Raises
    ------
    ValueError
        If the file cannot be read or uses a feature outside the supported subset (named).
    """
    import h5py

    path = Path(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{path}: not a readable netx HDF5 file ({err})") from None
    with handle:
        if "layer" not in handle:
            raise ValueError(f"{path}: not a netx file (no 'layer' group)")
        layers = handle["layer"]
        stages: list[Stage] = []
        pending: list[Op] = []
        input_shape: tuple[int, ...] | None = None
        count = len(layers)
        for index in range(count):
            group = layers[str(index)]
            kind = _value(group, "type")
            where = f"{path.name}: layer {index} ({kind})"
            if kind in UNSUPPORTED_LAYERS:
                raise ValueError(f"{where}: {UNSUPPORTED_LAYERS[kind]} are not supported")
            if kind not in SUPPORTED_LAYERS:
                raise ValueError(f"{where}: unknown layer type")
            if kind == "input":
                if index != 0:
                    raise ValueError(f"{where}: an input layer must come first")
                input_shape = tuple(int(d) for d in np.asarray(group["shape"][()]).reshape(-1))
                if "neuron" not in group:
                    continue
                neuron = _neuron(group, where)
                if neuron.current_decay != 1.0:
                    raise ValueError(f"{where}: an input layer with iDecay != 4096 is not "
                                     f"supported (its image drives v through the bias)")
                weight = _scalar(group, "weight") if "weight" in group else 64.0
                bias = _scalar(group, "bias") if "bias" in group else 0.0
                stages.append(Stage([Scale(weight, bias, truncate=True)], neuron, "input"))
                continue
            if kind == "flatten":
                pending.append(Flatten())
                continue
            if input_shape is None:
                raise ValueError(f"{where}: the file has no input layer giving the input shape")
            ops = pending + _layer_ops(group, kind, where)
            pending = []
            if "neuron" in group:
                neuron = _bias(group, _neuron(group, where), ops, where)
                stages.append(Stage(ops, neuron, f"layer{index}"))
            elif index == count - 1:
                if "bias" in group:
                    raise ValueError(f"{where}: a readout bias is not supported")
                stages.append(Stage(ops, None, "readout"))
            else:
                raise ValueError(f"{where}: only the last layer may have no neuron")
        if not stages or stages[-1].neuron is not None:
            raise ValueError(f"{path.name}: the last layer must be a readout without neuron")
    return Network(input_shape, stages, name=name or path.stem)
