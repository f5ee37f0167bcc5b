"""Import lava-dl netx HDF5 networks (the feed-forward subset) as :class:`Network`.

This is the library's one netx reader: :meth:`Network.from_netx`, the zoo's
``lava_dl_mnist``, :func:`ldsnn_lava.loihi.export.load_netx_with_schedule` and the PilotNet
Loihi 2 trace check (:mod:`ldsnn_lava.loihi.traces`) all use it.

Mapping, following what ``lava.lib.dl.netx.hdf5.Network`` builds in lava-dl 0.6 (Lava 0.10):

- ``input`` layer with a neuron: a stage ``Scale(weight, bias, truncate=True)`` then
  :class:`~ldsnn_lava.neurons.CubaLIF`. lava-dl drives the input neurons through their
  ``bias_mant`` = ``int32(weight * x + bias)`` (truncation toward zero, as lava-dl's data
  loaders do) with ``bias_exp = 6``; our Scale output enters as current (``I << 6``), which is
  the same as a bias when ``iDecay = 4096`` (the current does not persist), the only case
  accepted. An ``input`` layer without neuron only gives the input shape.
- ``dense``: :class:`~ldsnn_lava.ops.Dense` (weight reshaped to (outputs, -1));
  ``conv``: :class:`~ldsnn_lava.ops.Conv2d` (netx stores (C, H, W) shapes and
  (out, in, kH, kW, 1) kernels, as we do; groups and dilation 1; a neuron is required, as in
  lava-dl; the stored output shape is checked); ``pool``: :class:`~ldsnn_lava.ops.SumPool2d`
  scaled by the pool weight (an extension: lava-dl 0.6 has no pool loader); ``flatten``: a
  reshape in C order of (C, H, W), which is lava-dl's ``transpose([2, 1, 0]).flatten()`` of
  its (W, H, C).
- ``CUBA``/``LOIHI`` neurons: Lava ``LIF`` with ``du = iDecay - 1``, ``dv = vDecay``,
  ``vth = vThMant`` and Lava's built-in ``+1`` on du, i.e. ``CubaLIF(threshold=vThMant,
  current_decay=iDecay/4096, voltage_decay=vDecay/4096)``. ``refDelay`` has no effect in
  Lava's LIF and is ignored.
- a layer ``bias`` is lava-dl's ``bias_mant``, added to the voltage every step. A uniform
  bias becomes the CubaLIF bias (exact for any decay). A per-neuron (dense) or per-channel
  (conv, pool) bias becomes the op's bias, i.e. enters the current: the same thing when
  ``iDecay = 4096`` (the current does not persist), the only case accepted.
- the last layer without neuron: the readout. lava-dl gives it a non-leaky integrator
  (iDecay 0, vDecay 4096, vThMant 2**17, so it never spikes and its current accumulates the
  input): our readout sums the same input. Its voltage is that sum plus the bias once, not
  once per step, so a readout bias is refused.
- with ``readout_integrator=True``, a last layer whose neuron never leaks (``vDecay = 0``,
  ``iDecay = 4096``, as PilotNet's output) is read as the readout too: its voltage is the
  running sum of its input and bias (until it reaches threshold or saturates at 2**23), so
  its bias goes into the op.

Weights: lava-dl rescales integer weights to Loihi's 8-bit synapse and shifts the sums back
(``optimize_weight_bits``), which is exact for integer weights in [-256, 254]; other weights
are refused. Unsupported features (delays, recurrent or complex dense, concat, average,
sigma-delta or resonate-and-fire neurons, graded spikes, message bits) raise a ValueError
naming the layer and the feature.

Timing: Lava adds one step of delay per hop, so a netx network of L layers run for N steps in
Lava gives the readout of the first ``N - (L - 1)`` steps of our delay-free semantics, and
stage l's spikes at Lava step t are our spikes at step ``t - l``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ldsnn_lava.network import Network, Stage
from ldsnn_lava.neurons import DECAY_BITS, CubaLIF
from ldsnn_lava.ops import Conv2d, Dense, Flatten, Op, Scale, SumPool2d

SUPPORTED_LAYERS = ("input", "dense", "conv", "pool", "flatten")
UNSUPPORTED_LAYERS = {
    "dense_rec": "recurrent dense layers", "dense_comp": "complex dense layers",
    "concat": "concat layers", "average": "average layers", "convT": "transposed convolutions",
    "unpool": "unpool layers",
}
DECAY_UNITY = 1 << DECAY_BITS


def _raw(group, key):
    if key not in group:
        raise ValueError(f"missing field {key!r}")
    return group[key][()]


def _value(group, key):
    value = _raw(group, key)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.dtype.kind == "S":
        return value.item().decode() if value.size == 1 else value
    return value


def _scalar(group, key) -> float:
    return float(np.asarray(_value(group, key)).reshape(-1)[0])


def _shape(group) -> tuple[int, ...]:
    return tuple(int(d) for d in np.asarray(_raw(group, "shape")).reshape(-1))


def _pair(group, key) -> tuple[int, int]:
    value = np.asarray(_value(group, key)).reshape(-1)
    return (int(value[0]), int(value[0])) if value.size == 1 else (int(value[0]), int(value[1]))


def _neuron(group) -> CubaLIF:
    config = group["neuron"]
    kind = _value(config, "type")
    if kind not in ("CUBA", "LOIHI"):
        raise ValueError(f"neuron type {kind!r} is not supported (only CUBA/LOIHI; "
                         f"sigma-delta and resonate-and-fire neurons are not)")
    if "gradedSpike" in config and bool(_value(config, "gradedSpike")):
        raise ValueError("graded spikes are not supported")
    if "messageBits" in config and int(_scalar(config, "messageBits")) != 0:
        raise ValueError("message bits (graded spikes) are not supported")
    return CubaLIF(threshold=_scalar(config, "vThMant"),
                   current_decay=_scalar(config, "iDecay") / DECAY_UNITY,
                   voltage_decay=_scalar(config, "vDecay") / DECAY_UNITY)


def _weights(group) -> np.ndarray:
    weight = np.asarray(_raw(group, "weight"), dtype=np.float64)
    if not np.array_equal(weight, np.round(weight)):
        raise ValueError("netx weights must be integers")
    if weight.min() < -256 or weight.max() > 254:
        raise ValueError("weights outside Loihi's [-256, 254] (lava-dl would clip "
                         "them) are not supported")
    return weight


def _per_output(bias: np.ndarray | None, outputs: int) -> np.ndarray | None:
    """An op bias of one value per output neuron (dense) or channel (conv): a single stored
    value is broadcast."""
    if bias is None or bias.size != 1:
        return bias
    return np.full(outputs, bias[0])


def _layer_ops(group, kind: str, bias: np.ndarray | None) -> list[Op]:
    """The synaptic ops of a dense, conv or pool layer; ``bias`` enters the current."""
    if kind == "dense":
        weight = _weights(group)
        outputs = int(np.prod(_shape(group)))
        return [Dense(weight.reshape(outputs, -1), _per_output(bias, outputs))]
    if kind == "conv":
        weight = _weights(group)
        weight = weight.reshape(weight.shape[:4])
        if int(_scalar(group, "groups")) != 1 or _pair(group, "dilation") != (1, 1):
            raise ValueError("grouped or dilated convolutions are not supported")
        return [Conv2d(weight, _per_output(bias, weight.shape[0]), stride=_pair(group, "stride"),
                       padding=_pair(group, "padding"))]
    # pool
    if _pair(group, "padding") != (0, 0):
        raise ValueError("padded pooling is not supported")
    pool = SumPool2d(_pair(group, "kernel"), _pair(group, "stride"))
    scale = _scalar(group, "weight") if "weight" in group else 1.0
    if bias is None:
        return [pool] if scale == 1.0 else [pool, Scale(weight=scale)]
    return [pool, Scale(weight=scale, bias=bias.reshape(-1, 1, 1) if bias.size > 1 else bias[0])]


def _input_stage(group) -> Stage:
    neuron = _neuron(group)
    if neuron.current_decay != 1.0:
        raise ValueError("an input layer with iDecay != 4096 is not supported (its "
                         "image drives v through the bias)")
    weight = _scalar(group, "weight") if "weight" in group else 64.0
    bias = _scalar(group, "bias") if "bias" in group else 0.0
    return Stage([Scale(weight, bias, truncate=True)], neuron, "input")


def _synaptic_stage(group, kind: str, index: int, last: bool, pending: list[Op],
                    readout_integrator: bool) -> Stage:
    """The stage of a dense, conv or pool layer (after any pending flatten)."""
    if "delay" in group:
        raise ValueError("synaptic delays are not supported")
    neuron = _neuron(group) if "neuron" in group else None
    integrator = False
    if neuron is None and not last:
        raise ValueError("only the last layer may have no neuron")
    if neuron is None and kind == "conv":
        raise ValueError("a conv layer needs a neuron (lava-dl requires one)")
    if neuron is not None and last:
        if not readout_integrator:
            raise ValueError("the last layer must be a readout without neuron (pass "
                             "readout_integrator=True for a never-leaking integrator)")
        if neuron.voltage_decay != 0.0 or neuron.current_decay != 1.0:
            raise ValueError("the last layer leaks (vDecay != 0 or iDecay != 4096), "
                             "so it is not a readout integrator")
        neuron, integrator = None, True
    bias = np.asarray(group["bias"][()] if "bias" in group else 0.0, dtype=np.float64)
    bias = bias.reshape(-1) if bias.any() else None
    if bias is not None and neuron is not None and np.all(bias == bias[0]):
        neuron, bias = dataclasses.replace(neuron, bias=float(bias[0])), None
    elif bias is not None and neuron is not None and neuron.current_decay != 1.0:
        raise ValueError("per-neuron bias with iDecay != 4096 is not supported")
    elif bias is not None and neuron is None and not integrator:
        raise ValueError("a readout bias is not supported (lava-dl adds it once to "
                         "the readout's sum, not once per step)")
    ops = list(pending) + _layer_ops(group, kind, bias)
    name = "readout" if neuron is None else f"layer{index}"
    return Stage(ops, neuron, name)


def _read_layer(group, kind: str, index: int, count: int, shape: tuple[int, ...] | None,
                pending: list[Op], readout_integrator: bool
                ) -> tuple[Stage | None, tuple[int, ...]]:
    """One layer: its stage (None for a flatten or a neuron-less input layer) and the shape
    after it. A flatten is appended to ``pending``, which the next synaptic layer takes."""
    if kind in UNSUPPORTED_LAYERS:
        raise ValueError(f"{UNSUPPORTED_LAYERS[kind]} are not supported")
    if kind not in SUPPORTED_LAYERS:
        raise ValueError("unknown layer type")
    if kind == "input":
        if index != 0:
            raise ValueError("an input layer must come first")
        shape = _shape(group)
        return (_input_stage(group), shape) if "neuron" in group else (None, shape)
    if shape is None:
        raise ValueError("the file has no input layer giving the input shape")
    if kind == "flatten":
        pending.append(Flatten())
        return None, shape
    stage = _synaptic_stage(group, kind, index, index == count - 1, pending, readout_integrator)
    pending.clear()
    for op in stage.ops:
        shape = op.output_shape(shape)
    if kind in ("conv", "pool") and "shape" in group and shape != _shape(group):
        raise ValueError(f"computed output shape {shape} does not match the stored shape "
                         f"{_shape(group)}")
    return stage, shape


def from_netx(path: str | Path, name: str | None = None, *,
              readout_integrator: bool = False) -> Network:
    """Read a lava-dl netx HDF5 file (feed-forward subset) into a :class:`Network`.

    Parameters
    ----------
    path : str or Path
        The ``.net`` file.
    name : str, optional
        The network's name (default: the file's stem).
    readout_integrator : bool
        Also accept, as the readout, a last layer whose neuron never leaks (``vDecay = 0``,
        ``iDecay = 4096``), such as lava-dl's PilotNet output layer; its bias goes into the
        readout op.

    Returns
    -------
    Network
        Direct input encoding; meant for ``precision="fixed"``, which reproduces Lava's
        bit-accurate LIF (see the module docstring for the mapping and the Lava step offset).

    Raises
    ------
    ValueError
        If the file cannot be read or uses a feature outside the supported subset; the
        message names the layer and the feature.
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
        count = len(layers)
        stages: list[Stage] = []
        pending: list[Op] = []
        shape: tuple[int, ...] | None = None
        input_shape = None
        for index in range(count):
            group = layers[str(index)]
            kind = _value(group, "type") if "type" in group else "no type"
            try:
                stage, shape = _read_layer(group, kind, index, count, shape, pending,
                                           readout_integrator)
            except ValueError as err:
                raise ValueError(f"{path.name}: layer {index} ({kind}): {err}") from None
            if index == 0:
                input_shape = shape
            if stage is not None:
                stages.append(stage)
        if not stages or stages[-1].neuron is not None:
            raise ValueError(f"{path.name}: the last layer must be a readout without neuron")
    return Network(input_shape, stages, name=name or path.stem)
