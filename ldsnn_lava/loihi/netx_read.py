"""Read a lava-dl netx HDF5 file into a :class:`~ldsnn_lava.network.Network`.

This is the reader behind :func:`ldsnn_lava.loihi.export.load_netx_with_schedule` and the
PilotNet trace check. It covers the netx layer types a feed-forward LD-SNN uses: ``input``
(with or without a neuron), ``conv`` (stride, padding; dilation 1, groups 1), ``flatten`` and
``dense``. The mapping, layer by layer (netx follows lava-dl 0.6 ``netx/hdf5.py``):

- neuron ``CUBA``/``LOIHI`` -> :class:`~ldsnn_lava.neurons.CubaLIF` with
  ``threshold = vThMant``, ``current_decay = iDecay / 4096``, ``voltage_decay = vDecay / 4096``
  (lava-dl passes ``du = iDecay - 1`` to Lava's LIF, whose bit-accurate model adds one back).
  ``refDelay`` is ignored, as lava-dl's LIF has no refractory period.
- a netx layer ``bias`` is added to the voltage every step (Lava's ``bias_mant``). With
  ``iDecay = 4096`` the current does not persist, so a bias in the current (our op bias) is
  the same thing and the reader puts it there; otherwise a uniform bias becomes
  ``CubaLIF.bias`` and a per-neuron one is an error.
- the ``input`` layer with a neuron is driven through its bias by ``weight * x + bias``: a
  :class:`~ldsnn_lava.ops.Scale` stage, exact only with ``iDecay = 4096`` (checked).
- a last layer without neuron is the readout. With ``readout_integrator=True`` a last layer
  whose neuron never leaks (``vDecay = 0``, ``iDecay = 4096``) is read as the readout too (its
  voltage is the running sum of its input until it reaches threshold or saturates at 2**23).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ldsnn_lava.network import Network, Stage
from ldsnn_lava.neurons import DECAY_BITS, CubaLIF
from ldsnn_lava.ops import Conv2d, Dense, Flatten, Op, Scale

UNITY = 1 << DECAY_BITS
NEURON_TYPES = ("CUBA", "LOIHI")


def _text(value) -> str:
    value = value[()]
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0]
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def _scalar(group: h5py.Group, key: str) -> float:
    return float(np.asarray(group[key][()]).reshape(-1)[0])


def _pair(group: h5py.Group, key: str, default: int) -> tuple[int, int]:
    if key not in group:
        return default, default
    value = np.asarray(group[key][()]).reshape(-1)
    return (int(value[0]), int(value[0])) if value.size == 1 else (int(value[0]), int(value[1]))


def _neuron(group: h5py.Group, where: str) -> CubaLIF:
    kind = _text(group["type"])
    if kind not in NEURON_TYPES:
        raise ValueError(f"{where}: neuron type {kind!r} is not supported "
                         f"(only {NEURON_TYPES}, Lava's LIF)")
    return CubaLIF(threshold=_scalar(group, "vThMant"),
                   current_decay=_scalar(group, "iDecay") / UNITY,
                   voltage_decay=_scalar(group, "vDecay") / UNITY)


def _with_bias(neuron: CubaLIF | None, bias: np.ndarray | None, out_shape, where: str
               ) -> tuple[np.ndarray | None, CubaLIF | None]:
    """Place a netx voltage bias: in the op (current) when that is exact, else in the neuron."""
    if bias is None or neuron is None or neuron.current_decay == 1.0:
        return bias, neuron
    if np.all(bias == bias.reshape(-1)[0]):
        params = {k: getattr(neuron, k) for k in ("threshold", "current_decay", "voltage_decay")}
        return None, CubaLIF(**params, bias=float(bias.reshape(-1)[0]))
    raise ValueError(f"{where}: a per-neuron bias with iDecay < 4096 has no form in this "
                     f"library's network model (bias would have to enter the voltage)")


def _dense(group: h5py.Group, in_shape, pending: list[Op], where: str
           ) -> tuple[list[Op], CubaLIF | None]:
    out = int(np.prod(group["shape"][()]))
    weight = np.asarray(group["weight"][()], dtype=np.float64).reshape(out, -1)
    bias = np.asarray(group["bias"][()], dtype=np.float64).reshape(-1) if "bias" in group else None
    if bias is not None and bias.size == 1 and out > 1:
        bias = np.full(out, bias[0])
    neuron = _neuron(group["neuron"], where) if "neuron" in group else None
    bias, neuron = _with_bias(neuron, bias, (out,), where)
    ops = list(pending)
    if len(in_shape) > 1 and not any(isinstance(op, Flatten) for op in ops):
        ops.append(Flatten())
    return ops + [Dense(weight, bias)], neuron


def _conv(group: h5py.Group, pending: list[Op], where: str) -> tuple[list[Op], CubaLIF]:
    if pending:
        raise ValueError(f"{where}: a conv layer after a flatten layer is not supported")
    if _pair(group, "dilation", 1) != (1, 1) or int(np.asarray(group.get("groups", 1)[()])) != 1:
        raise ValueError(f"{where}: conv dilation and groups other than 1 are not supported")
    if "neuron" not in group:
        raise ValueError(f"{where}: a conv layer needs a neuron (lava-dl requires one)")
    weight = np.asarray(group["weight"][()], dtype=np.float64)
    weight = weight.reshape(weight.shape[:4])
    out_c = weight.shape[0]
    bias = np.asarray(group["bias"][()], dtype=np.float64).reshape(-1) if "bias" in group else None
    neuron, shape = _neuron(group["neuron"], where), tuple(group["shape"][()])
    bias, neuron = _with_bias(neuron, bias, shape, where)
    if bias is not None and bias.size != out_c:
        raise ValueError(f"{where}: conv bias must have one value per output channel "
                         f"({out_c}), got {bias.size}")
    conv = Conv2d(weight, bias, stride=_pair(group, "stride", 1),
                  padding=_pair(group, "padding", 0))
    return [conv], neuron


def read_netx(path: str | Path, *, readout_integrator: bool = False,
              name: str | None = None) -> Network:
    """Read the layers of a netx HDF5 file as a network (see the module docstring).

    Parameters
    ----------
    path : str or Path
    readout_integrator : bool
        Read a never-leaking last layer with a neuron as the readout.
    name : str, optional
        Network name; default: the file's stem.

    Returns
    -------
    Network
        ``direct`` input encoding; integer parameters as stored.

    Raises
    ------
    ValueError
        On an unreadable file or a layer this reader cannot represent; the message names
        the layer.
    """
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{path}: not a readable netx HDF5 file ({err})") from None
    with handle:
        if "layer" not in handle:
            raise ValueError(f"{path}: not a netx file (no 'layer' group)")
        layers = handle["layer"]
        count = len(layers)
        stages, pending, input_shape, shape = [], [], None, None
        for index in range(count):
            group, where = layers[str(index)], f"{path}: layer {index}"
            kind = _text(group["type"])
            if kind == "input":
                if index != 0:
                    raise ValueError(f"{where}: an input layer must come first")
                input_shape = shape = tuple(int(d) for d in group["shape"][()])
                if "neuron" in group:
                    neuron = _neuron(group["neuron"], where)
                    if neuron.current_decay != 1.0:
                        raise ValueError(f"{where}: an input layer is driven through its bias; "
                                         f"that equals a current input only with iDecay=4096")
                    scale = Scale(_scalar(group, "weight") if "weight" in group else 64.0,
                                  _scalar(group, "bias") if "bias" in group else 0.0)
                    stages.append(Stage([scale], neuron, f"layer{index}"))
                continue
            if input_shape is None:
                raise ValueError(f"{where}: the first layer must be an input layer "
                                 f"giving the input shape")
            if kind == "flatten":
                pending.append(Flatten())
                shape = (int(np.prod(shape)),)
                continue
            if kind == "dense":
                ops, neuron = _dense(group, shape, pending, where)
            elif kind == "conv":
                ops, neuron = _conv(group, pending, where)
                stored = tuple(int(d) for d in group["shape"][()])
                try:
                    computed = ops[0].output_shape(shape)
                except ValueError as err:
                    raise ValueError(f"{where}: {err}") from None
                if computed != stored:
                    raise ValueError(f"{where}: conv output shape {computed} does not match the "
                                     f"stored shape {stored}")
            else:
                raise ValueError(f"{where}: layer type {kind!r} is not supported "
                                 f"(input, conv, flatten, dense)")
            last = index == count - 1
            if last and neuron is not None and readout_integrator:
                if neuron.voltage_decay != 0.0 or neuron.current_decay != 1.0:
                    raise ValueError(f"{where}: the last layer leaks, so it is not a readout "
                                     f"integrator")
                neuron = None
            if last and neuron is not None:
                raise ValueError(f"{where}: the last layer has a spiking neuron; this library's "
                                 f"networks end with a readout (pass readout_integrator=True "
                                 f"for a non-leaking integrator)")
            stages.append(Stage(ops, neuron, f"layer{index}"))
            pending = []
            shape = tuple(int(d) for d in np.atleast_1d(group["shape"][()]))
            if kind == "dense":
                shape = (int(np.prod(shape)),)
        if not stages:
            raise ValueError(f"{path}: the file has no layers")
    try:
        return Network(input_shape, stages, "direct", name or Path(path).stem)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
