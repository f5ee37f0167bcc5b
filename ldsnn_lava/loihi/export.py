"""Export a fixed-point LD-SNN as a lava-dl netx HDF5 file, with its LD schedule.

File layout
-----------
The network part follows lava-dl 0.6's netx format (``lava/lib/dl/netx/hdf5.py`` and the
``mnist.net`` it ships), so ``lava.lib.dl.netx.hdf5.Network`` loads it:

- ``layer/0``: ``type = [b"input"]``, ``shape`` (C, H, W order, as in torch). If stage 0 is a
  :class:`~ldsnn_lava.ops.Scale` input stage, the layer also has ``weight``/``bias`` (scalars:
  the input drives the neuron's bias with ``weight * x + bias``) and a ``neuron`` group.
- ``layer/i``: ``type`` ``[b"conv"]`` (``weight`` (out, in, kh, kw), ``stride``, ``padding``,
  ``dilation``, ``groups``, ``inChannels``, ``outChannels``, ``kernelSize``), ``[b"flatten"]``
  or ``[b"dense"]`` (``weight`` (out, in), ``inFeatures``, ``outFeatures``); ``shape`` is the
  output shape; ``bias`` holds per-neuron biases; ``neuron`` holds ``type = b"CUBA"``,
  ``iDecay``, ``vDecay`` (decays in 1/4096), ``vThMant``, ``refDelay = 1``,
  ``gradedSpike = False``. The readout is a last dense layer without ``neuron``.
- ``simulation``: ``Ts = 1``, ``tSample`` = the sequential period.

The LD schedule lives in an extra top-level group ``ldsnn`` that lava-dl never reads
(format :data:`LDSNN_FORMAT`, version :data:`LDSNN_VERSION`):

- attrs ``format``, ``version``, ``schedule`` (the :meth:`Schedule.to_json` text, the
  authoritative copy), ``input_encoding``, ``name``;
- datasets ``timesteps`` (int32, one per stage), ``buffers`` (bytes, one per gap:
  ``rate``/``replay``), ``stage_layers`` (the netx layer index of each stage),
  ``sequential/offsets`` and ``sequential/period`` (stage l is active in steps
  ``[offset_l, offset_l + T_l)`` of every period), ``pipelined/lags`` and
  ``pipelined/period`` (every stage active in ``[0, T_l)``, working on sample ``k - lag_l``
  in period k); see :mod:`ldsnn_lava.clock`. The offsets exclude runtime delays: lava-dl adds
  one step per hop, so on lava-dl stage l's window starts l steps later.

What cannot be exported
-----------------------
netx has one spiking neuron for this purpose, Loihi's CUBA LIF (hard reset to 0, strict
``v > threshold``). This library's default :class:`~ldsnn_lava.neurons.IF` neuron (reset by
subtraction, ``v >= threshold``, ``v_init``) has no netx equivalent, so a stage with an IF
neuron is an error naming the stage: we do not write a file lava-dl would load and run with a
different neuron. (Loihi 2 itself can run such a neuron as a microcoded custom model, outside
netx.) Also refused, naming the stage: pooling ops (lava-dl 0.6 has no pool loader), a stage
with more than one synaptic op, an op bias with ``current_decay < 1`` (netx biases enter the
voltage), non-integer parameters (quantize first), and a readout that is not a dense op or that
has a bias (lava-dl adds a readout bias once, ours adds it every step).
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ldsnn_lava._io import atomic_write
from ldsnn_lava.clock import stage_windows
from ldsnn_lava.importers.netx import from_netx
from ldsnn_lava.network import Network
from ldsnn_lava.neurons import IF, CubaLIF
from ldsnn_lava.ops import Conv2d, Dense, Flatten, Scale
from ldsnn_lava.schedule import Schedule

LDSNN_FORMAT = "ldsnn-netx-schedule"
LDSNN_VERSION = 1


def _where(net: Network, index: int) -> str:
    name = net.stages[index].name
    return f"stage {index}" + (f" ({name})" if name else "")


def _integer(values, what: str, where: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if not np.all(array == np.round(array)):
        raise ValueError(f"{where}: {what} must be integers for a fixed-point export; quantize "
                         f"the network first (ldsnn_lava.quantize)")
    if np.abs(array).max(initial=0) >= 2 ** 24:
        raise ValueError(f"{where}: {what} exceed 2**24 in magnitude and cannot be stored "
                         f"exactly; requantize with fewer bits")
    return array


def _neuron_group(group: h5py.Group, neuron: CubaLIF, where: str) -> None:
    try:
        params = neuron.fixed_parameters()
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    group["type"] = np.bytes_("CUBA")
    group["iDecay"] = np.int64(params["du"])
    group["vDecay"] = np.int64(params["dv"])
    group["vThMant"] = np.int64(params["threshold"])
    group["refDelay"] = np.int64(1)
    group["gradedSpike"] = np.bool_(False)


def _check_neuron(net: Network, index: int) -> CubaLIF | None:
    neuron, where = net.stages[index].neuron, _where(net, index)
    if isinstance(neuron, IF):
        raise ValueError(
            f"{where}: IF neurons (reset by subtraction) have no lava-dl netx equivalent; netx "
            f"only has Loihi's CUBA LIF (hard reset). Export networks whose spiking stages use "
            f"CubaLIF (e.g. imported from netx), or run IF networks with ldsnn_lava's Lava "
            f"processes instead")
    return neuron


def _voltage_bias(op, neuron: CubaLIF | None, size: int, where: str) -> np.ndarray | None:
    """The netx per-neuron voltage bias of a stage: op bias (exact only without current
    memory) plus the neuron's own bias."""
    bias = None if getattr(op, "bias", None) is None else np.asarray(op.bias, dtype=np.float64)
    if bias is not None and neuron is not None and neuron.current_decay != 1.0:
        raise ValueError(f"{where}: an op bias with current_decay < 1 has no netx form (netx "
                         f"adds biases to the voltage); set the bias on the neuron instead")
    if neuron is not None and neuron.bias != 0.0:
        bias = (0.0 if bias is None else bias) + neuron.bias
    if bias is None:
        return None
    return _integer(np.broadcast_to(np.asarray(bias), (size,)), "biases", where)


def _write_input(layers: h5py.Group, net: Network) -> bool:
    """Write ``layer/0``; return True when stage 0 is a Scale input stage."""
    group = layers.create_group("0")
    group["type"] = np.array([b"input"])
    group["shape"] = np.array(net.input_shape, dtype=np.int64)
    first = net.stages[0]
    if not any(isinstance(op, Scale) for op in first.ops):
        return False
    where = _where(net, 0)
    if len(first.ops) != 1 or first.neuron is None:
        raise ValueError(f"{where}: a Scale input stage must be a single Scale op feeding neurons")
    neuron = _check_neuron(net, 0)
    scale = first.ops[0]
    if scale.weight.size != 1 or scale.bias.size != 1:
        raise ValueError(f"{where}: netx input layers take a scalar weight and bias; this Scale "
                         f"has per-element values")
    if neuron.current_decay != 1.0 or neuron.bias != 0.0:
        raise ValueError(f"{where}: a netx input layer drives its neuron's bias, which equals "
                         f"this Scale current only with current_decay = 1 and no neuron bias")
    group["weight"] = np.float32(_integer(scale.weight, "Scale weight", where).item())
    group["bias"] = np.float32(_integer(scale.bias, "Scale bias", where).item())
    _neuron_group(group.create_group("neuron"), neuron, where)
    return True


def _write_stage(layers: h5py.Group, net: Network, index: int, next_layer: int) -> int:
    """Write one stage as netx layers starting at ``next_layer``; return its synaptic layer."""
    stage, where = net.stages[index], _where(net, index)
    neuron = _check_neuron(net, index)
    synaptic = [op for op in stage.ops if not isinstance(op, Flatten)]
    if len(synaptic) != 1 or not isinstance(synaptic[0], Dense | Conv2d):
        kinds = "+".join(type(op).__name__ for op in stage.ops)
        raise ValueError(f"{where}: only a single Dense or Conv2d op (optionally after Flatten) "
                         f"exports to netx, got {kinds}; lava-dl 0.6 has no pooling loader")
    op = synaptic[0]
    if any(isinstance(o, Flatten) for o in stage.ops):
        if not isinstance(stage.ops[0], Flatten) or isinstance(op, Conv2d):
            raise ValueError(f"{where}: Flatten must come first and feed a Dense op")
        flat = layers.create_group(str(next_layer))
        flat["type"] = np.array([b"flatten"])
        flat["shape"] = np.array([1, 1, int(np.prod(net.input_shape_of(index)))], dtype=np.int64)
        next_layer += 1
    out_shape = net.output_shape_of(index)
    group = layers.create_group(str(next_layer))
    group["shape"] = np.array(out_shape, dtype=np.int64)
    group["weight"] = _integer(op.weight, "weights", where).astype(np.float32)
    if isinstance(op, Dense):
        if neuron is None and index != net.num_stages - 1:
            raise ValueError(f"{where}: only the last stage may be a readout")
        if neuron is None and op.bias is not None and np.any(op.bias != 0):
            raise ValueError(f"{where}: a readout bias has no netx form (lava-dl adds it once, "
                             f"our readout every step); drop it or fold it into the argmax")
        group["type"] = np.array([b"dense"])
        group["inFeatures"] = np.int64(op.weight.shape[1])
        group["outFeatures"] = np.int64(op.weight.shape[0])
    else:
        if neuron is None:
            raise ValueError(f"{where}: a readout must be a Dense op for netx (lava-dl conv "
                             f"layers need a neuron)")
        group["type"] = np.array([b"conv"])
        group["inChannels"] = np.int64(op.weight.shape[1])
        group["outChannels"] = np.int64(op.weight.shape[0])
        group["kernelSize"] = np.array(op.kernel, dtype=np.int64)
        group["stride"] = np.array(op.stride, dtype=np.int64)
        group["padding"] = np.array(op.padding, dtype=np.int64)
        group["dilation"] = np.array([1, 1], dtype=np.int64)
        group["groups"] = np.int64(1)
    size = op.weight.shape[0]
    bias = _voltage_bias(op, neuron, size, where)
    if bias is not None:
        group["bias"] = bias.astype(np.float32)
    if neuron is not None:
        _neuron_group(group.create_group("neuron"), neuron, where)
    return next_layer


def _write_schedule(handle: h5py.File, net: Network, schedule: Schedule,
                    stage_layers: list[int]) -> None:
    group = handle.create_group("ldsnn")
    group.attrs["format"] = LDSNN_FORMAT
    group.attrs["version"] = LDSNN_VERSION
    group.attrs["schedule"] = schedule.to_json()
    group.attrs["input_encoding"] = net.input_encoding
    group.attrs["name"] = net.name or ""
    group["timesteps"] = np.array(schedule.timesteps, dtype=np.int32)
    group["buffers"] = np.array([b.encode() for b in schedule.buffers], dtype="S6")
    group["stage_layers"] = np.array(stage_layers, dtype=np.int32)
    for mode in ("sequential", "pipelined"):
        windows = stage_windows(Schedule(schedule.timesteps, schedule.buffers, mode))
        sub = group.create_group(mode)
        sub["offsets"] = np.array([w.offset for w in windows], dtype=np.int32)
        sub["lags"] = np.array([w.lag for w in windows], dtype=np.int32)
        sub["period"] = np.int32(windows[0].period)


def export_netx(net: Network, schedule: Schedule, path: str | Path) -> None:
    """Write ``net`` and ``schedule`` as a lava-dl netx HDF5 file (atomically).

    Parameters
    ----------
    net : Network
        A fixed-point network (integer weights, biases and neuron parameters, e.g. from
        :func:`ldsnn_lava.quantize.quantize`) whose spiking stages use CubaLIF.
    schedule : Schedule
        Its LD schedule; stored in the file's ``ldsnn`` group (see the module docstring).
    path : str or Path
        Output file, conventionally ``*.net``.

    Raises
    ------
    ValueError
        If the schedule does not fit, a parameter is not an integer (quantize first) or a
        stage has no netx form (IF neuron, pooling, ...); the message names the stage.
    """
    schedule.check(net)
    if net.input_encoding != "direct":
        raise ValueError("netx export needs 'direct' input encoding (a 'rate'-encoded input "
                         "has no netx form; put the encoder in front of the exported network)")

    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w") as handle:
            layers = handle.create_group("layer")
            has_input_stage = _write_input(layers, net)
            stage_layers = [0] if has_input_stage else []
            next_layer = 1
            for index in range(1 if has_input_stage else 0, net.num_stages):
                written = _write_stage(layers, net, index, next_layer)
                stage_layers.append(written)
                next_layer = written + 1
            simulation = handle.create_group("simulation")
            simulation["Ts"] = np.int64(1)
            simulation["tSample"] = np.int64(sum(schedule.timesteps))
            _write_schedule(handle, net, schedule, stage_layers)

    atomic_write(path, write)


def read_schedule(path: str | Path) -> Schedule:
    """The LD schedule stored by :func:`export_netx` in a netx file's ``ldsnn`` group."""
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{path}: not a readable HDF5 file ({err})") from None
    with handle:
        if "ldsnn" not in handle:
            raise ValueError(f"{path}: no LD schedule (no 'ldsnn' group); was it written by "
                             f"ldsnn_lava.loihi.export_netx?")
        attrs = handle["ldsnn"].attrs
        if attrs.get("format") != LDSNN_FORMAT:
            raise ValueError(f"{path}: 'ldsnn' group has format {attrs.get('format')!r}, "
                             f"expected {LDSNN_FORMAT!r}")
        if attrs.get("version") != LDSNN_VERSION:
            raise ValueError(f"{path}: unsupported ldsnn schedule version "
                             f"{attrs.get('version')!r} (this reads {LDSNN_VERSION})")
        try:
            return Schedule.from_dict(json.loads(attrs["schedule"]))
        except (KeyError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: unreadable stored schedule ({err})") from None


def load_netx_with_schedule(path: str | Path) -> tuple[Network, Schedule]:
    """Read a file written by :func:`export_netx`: the network and its LD schedule.

    The network is read with :func:`ldsnn_lava.importers.netx.from_netx`; the fixed-point
    engine's outputs equal those of the exported network.

    Returns
    -------
    (Network, Schedule)
    """
    schedule = read_schedule(path)
    net = from_netx(path)
    schedule.check(net)
    return net, schedule


__all__ = ["LDSNN_FORMAT", "LDSNN_VERSION", "export_netx", "load_netx_with_schedule",
           "read_schedule"]
