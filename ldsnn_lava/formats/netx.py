"""lava-dl netx HDF5 files: read them as :class:`Network` (the feed-forward subset), and write a
fixed-point LD-SNN with its schedule in a form lava-dl loads.

This is the library's one netx reader and writer: :meth:`Network.from_netx`, the zoo's
``lava_dl_mnist``, ``ldsnn export`` and the PilotNet Loihi 2 trace test all use it.

Reading
-------

Mapping, following what ``lava.lib.dl.netx.hdf5.Network`` builds in lava-dl 0.6 (Lava 0.10):

- ``input`` layer with a neuron: a stage ``Scale(weight, bias, truncate=True)`` then
  :class:`~ldsnn_lava.neurons.CubaLIF`. lava-dl drives the input neurons through their
  ``bias_mant`` = ``int32(weight * x + bias)`` (truncation toward zero, as lava-dl's data
  loaders do) with ``bias_exp = 6``; our Scale output enters as current (``I << 6``), which is
  the same as a bias when ``iDecay = 4096`` (the current does not persist), the only case
  accepted. An ``input`` layer without neuron only gives the input shape; lava-dl then sends
  the input's spikes straight into the first layer's synapses, step after step, so the network
  takes ``events`` sequences (unless ``input_encoding`` says otherwise).
- ``dense``: :class:`~ldsnn_lava.ops.Dense` (weight reshaped to (outputs, -1));
  ``conv``: :class:`~ldsnn_lava.ops.Conv2d` (netx stores (C, H, W) shapes and
  (out, in, kH, kW, 1) kernels, as we do; groups and dilation 1; a neuron is required, as in
  lava-dl; the stored output shape is checked); ``pool``: :class:`~ldsnn_lava.ops.SumPool2d`
  scaled by the pool weight (an extension: lava-dl 0.6 has no pool loader); ``flatten``: a
  reshape in C order of (C, H, W), which is lava-dl's ``transpose([2, 1, 0]).flatten()`` of
  its (W, H, C).
- ``CUBA``/``LOIHI`` neurons: Lava ``LIF`` with ``du = iDecay - 1``, ``dv = vDecay``,
  ``vth = vThMant`` and Lava's built-in ``+1`` on du, i.e. ``CubaLIF(threshold=vThMant,
  current_decay=iDecay/4096, voltage_decay=vDecay/4096)``. lava-dl maps ``LOIHI`` to the
  same neuron. ``refDelay`` has no effect in Lava's LIF and is ignored (lava-dl's SLAYER
  trains with ``refDelay`` 1 only); ``loihi_refractory=True`` gives the neuron a refractory
  period of ``refDelay - 1`` steps instead, as a Loihi compartment has.
- a dense layer's ``delay`` (one integer per output neuron, 0..62) becomes the stage's
  ``delay``: lava-dl builds a Lava ``DelayDense`` whose rows carry the delay of their output
  neuron, so each neuron's input current arrives d steps late (SLAYER trained it as the delay
  of that neuron's output spikes: the same spikes downstream).
- an ``average`` last layer (lava-dl SLAYER's ``Average`` block; lava-dl 0.6's netx cannot load
  it) becomes the readout: a Dense op summing each group of consecutive input neurons, one
  group per class. SLAYER's block returns the group means, so our readout is its value times
  the group size, with the same argmax. The work counters count it by the Dense rule (every
  class output per input spike), though one output per spike is reached.
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
are refused. Unsupported features (recurrent or complex dense, concat, delays on conv layers
or per input, delays above 62, sigma-delta or resonate-and-fire neurons, graded spikes, message
bits) raise a FileFormatError naming the layer and the feature.

Timing: Lava adds one step of delay per hop, so a netx network of L layers run for N steps in
Lava gives the readout of the first ``N - (L - 1)`` steps of our delay-free semantics, and
stage l's spikes at Lava step t are our spikes at step ``t - l``.

Writing
-------
:func:`write_network` writes this layout
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
  authoritative copy), ``input_encoding``, ``name``, and optionally ``model`` (JSON of
  :meth:`ldsnn_lava.model.Model.to_record`: the given SNN's base T and input scaling, which
  ``tSample`` cannot carry);
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

import dataclasses
import json
from contextlib import contextmanager
from functools import singledispatch
from pathlib import Path

import h5py
import numpy as np

from ldsnn_lava._io import atomic_write, check_readable
from ldsnn_lava.clock import stage_windows
from ldsnn_lava.errors import FileFormatError, InvalidNetwork, LDSNNError
from ldsnn_lava.model import Model
from ldsnn_lava.network import Network, Stage, register_format
from ldsnn_lava.neurons import DECAY_BITS, IF, CubaLIF
from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Flatten, Op, Scale, SumPool2d
from ldsnn_lava.options import InputEncoding, Mode, Precision, parse_option
from ldsnn_lava.schedule import MAX_TIMESTEPS, Schedule

SUPPORTED_LAYERS = ("input", "dense", "conv", "pool", "flatten", "average")
UNSUPPORTED_LAYERS = {
    "dense_rec": "recurrent dense layers", "dense_comp": "complex dense layers",
    "concat": "concat layers", "convT": "transposed convolutions", "unpool": "unpool layers",
}
DECAY_UNITY = 1 << DECAY_BITS
MAX_DELAY = 62
"""The largest synaptic delay lava-dl 0.6 keeps (Loihi's 6-bit delay); it clamps larger ones."""


def _raw(group, key):
    """The value of dataset ``key`` of ``group`` (ValueError naming the field otherwise)."""
    if key not in group:
        raise ValueError(f"missing field {key!r}")
    if not isinstance(group[key], h5py.Dataset):
        raise ValueError(f"field {key!r} is a group, expected a value")
    return group[key][()]


def _value(group, key):
    value = _raw(group, key)
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, np.ndarray) and value.dtype.kind == "S":
        return value.item().decode(errors="replace") if value.size == 1 else value
    return value


def _text(group, key) -> str:
    """A string field (stored as bytes, or as a one-element bytes array)."""
    value = _value(group, key)
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} must be a string, got {value!r:.40}")
    return value


def _numbers(group, key, size: int | None = None) -> np.ndarray:
    """A field of finite real numbers, flattened (exactly ``size`` of them if given)."""
    value = np.asarray(_value(group, key))
    if value.dtype.kind not in "biuf":
        raise ValueError(f"field {key!r} must hold real numbers, got {value.dtype}")
    value = value.reshape(-1).astype(np.float64)
    if not np.all(np.isfinite(value)):
        raise ValueError(f"field {key!r} holds NaN or inf")
    if size is not None and value.size != size:
        raise ValueError(f"field {key!r} must hold {size} value(s), got {value.size}")
    return value


def _scalar(group, key) -> float:
    return float(_numbers(group, key, 1)[0])


def _integers(group, key, sizes: tuple[int, ...]) -> tuple[int, ...]:
    value = _numbers(group, key)
    if value.size not in sizes:
        raise ValueError(f"field {key!r} must hold {' or '.join(map(str, sizes))} value(s), "
                         f"got {value.size}")
    if not np.all(value == np.round(value)):
        raise ValueError(f"field {key!r} must hold integers, got {value.tolist()}")
    return tuple(int(v) for v in value)


def _shape(group) -> tuple[int, ...]:
    shape = _integers(group, "shape", (1, 2, 3))
    if min(shape) < 1:
        raise ValueError(f"field 'shape' must hold positive sizes, got {shape}")
    return shape


def _pair(group, key) -> tuple[int, int]:
    value = _integers(group, key, (1, 2))
    return (value[0], value[0]) if len(value) == 1 else value


def _neuron(group, loihi_refractory: bool = False) -> CubaLIF:
    config = group["neuron"]
    if not isinstance(config, h5py.Group):
        raise ValueError("field 'neuron' must be a group")
    kind = _text(config, "type")
    if kind not in ("CUBA", "LOIHI"):
        raise ValueError(f"neuron type {kind!r} is not supported (only CUBA/LOIHI; "
                         f"sigma-delta and resonate-and-fire neurons are not)")
    if "gradedSpike" in config and bool(_value(config, "gradedSpike")):
        raise ValueError("graded spikes are not supported")
    if "messageBits" in config and int(_scalar(config, "messageBits")) != 0:
        raise ValueError("message bits (graded spikes) are not supported")
    ref_delay = int(_scalar(config, "refDelay")) if "refDelay" in config else 1
    if ref_delay < 1:
        raise ValueError(f"refDelay must be >= 1, got {ref_delay}")
    return CubaLIF(threshold=_scalar(config, "vThMant"),
                   current_decay=_scalar(config, "iDecay") / DECAY_UNITY,
                   voltage_decay=_scalar(config, "vDecay") / DECAY_UNITY,
                   refractory=ref_delay - 1 if loihi_refractory else 0)


def _delay(group, kind: str, outputs: int) -> np.ndarray | None:
    """A layer's ``delay``: one value per output neuron (or one for all), integers in
    [0, MAX_DELAY]; ``None`` when the layer has none or all are 0."""
    if "delay" not in group:
        return None
    if kind != "dense":
        raise ValueError(f"delays on {kind} layers are not supported (lava-dl 0.6 reads delays "
                         f"of dense layers only)")
    delay = _numbers(group, "delay")
    if delay.size not in (1, outputs):
        raise ValueError(f"delay has {delay.size} values; expected one per output neuron "
                         f"({outputs}) (per-input delays are not supported)")
    if not np.isfinite(delay).all() or (delay != np.round(delay)).any() or delay.min() < 0:
        raise ValueError("delays must be integers >= 0")
    if delay.max() > MAX_DELAY:
        raise ValueError(f"delay {int(delay.max())} exceeds {MAX_DELAY} (Loihi's limit; lava-dl "
                         f"would clamp it)")
    return np.broadcast_to(delay, (outputs,)).astype(np.int64) if delay.any() else None


def _weights(group) -> np.ndarray:
    weight = np.asarray(_raw(group, "weight"))
    if weight.dtype.kind not in "biuf" or weight.size == 0:
        raise ValueError(f"netx weights must be a non-empty array of real numbers, got "
                         f"{weight.dtype} of shape {weight.shape}")
    weight = weight.astype(np.float64)
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


def _bias(group, kind: str) -> np.ndarray | None:
    """The layer's ``bias`` (None when absent or all zero): one value, or one per output
    neuron (dense) or channel (conv, pool)."""
    if "bias" not in group:
        return None
    bias = _numbers(group, "bias")
    if not bias.any():
        return None
    if kind == "dense":
        outputs = int(np.prod(_shape(group)))
    else:
        outputs = _shape(group)[0]
    if bias.size not in (1, outputs):
        raise ValueError(f"field 'bias' must hold 1 or {outputs} values (one per "
                         f"{'neuron' if kind == 'dense' else 'channel'}), got {bias.size}")
    return bias


def _layer_ops(group, kind: str, bias: np.ndarray | None) -> list[Op]:
    """The synaptic ops of a dense, conv or pool layer; ``bias`` enters the current."""
    if kind == "dense":
        weight = _weights(group)
        outputs = int(np.prod(_shape(group)))
        return [Dense(weight.reshape(outputs, -1), _per_output(bias, outputs))]
    if kind == "conv":
        weight = _weights(group)
        if weight.ndim not in (4, 5) or (weight.ndim == 5 and weight.shape[4] != 1):
            raise ValueError(f"conv weight must be (out, in, kH, kW[, 1]), got shape "
                             f"{weight.shape}")
        weight = weight.reshape(weight.shape[:4])
        if _integers(group, "groups", (1,)) != (1,) or _pair(group, "dilation") != (1, 1):
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


def _input_stage(group, loihi_refractory: bool) -> Stage:
    neuron = _neuron(group, loihi_refractory)
    if neuron.current_decay != 1.0:
        raise ValueError("an input layer with iDecay != 4096 is not supported (its "
                         "image drives v through the bias)")
    weight = _scalar(group, "weight") if "weight" in group else 64.0
    bias = _scalar(group, "bias") if "bias" in group else 0.0
    return Stage([Scale(weight, bias, truncate=True)], neuron, "input")


def _synaptic_stage(group, kind: str, index: int, last: bool, pending: list[Op],
                    readout_integrator: bool, loihi_refractory: bool) -> Stage:
    """The stage of a dense, conv or pool layer (after any pending flatten)."""
    neuron = _neuron(group, loihi_refractory) if "neuron" in group else None
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
    bias = _bias(group, kind)
    if bias is not None and neuron is not None and np.all(bias == bias[0]):
        neuron, bias = dataclasses.replace(neuron, bias=float(bias[0])), None
    elif bias is not None and neuron is not None and neuron.current_decay != 1.0:
        raise ValueError("per-neuron bias with iDecay != 4096 is not supported")
    elif bias is not None and neuron is None and not integrator:
        raise ValueError("a readout bias is not supported (lava-dl adds it once to "
                         "the readout's sum, not once per step)")
    ops = list(pending) + _layer_ops(group, kind, bias)
    name = "readout" if neuron is None else f"layer{index}"
    outputs = int(np.prod(_shape(group))) if kind == "dense" else 0
    return Stage(ops, neuron, name, _delay(group, kind, outputs))


def _average_stage(group, shape: tuple[int, ...], last: bool, pending: list[Op]) -> Stage:
    """lava-dl SLAYER's ``Average`` block as the readout: the spikes of each group of
    consecutive neurons (C order) summed, one group per class."""
    if not last:
        raise ValueError("an average layer must be the last layer (the readout)")
    groups = int(np.prod(_shape(group)))
    size = int(np.prod(shape))
    if groups < 1 or size % groups:
        raise ValueError(f"{size} inputs do not split into {groups} equal groups")
    weight = np.kron(np.eye(groups), np.ones((1, size // groups)))
    ops = list(pending) + ([Flatten()] if len(shape) > 1 and not pending else [])
    return Stage([*ops, Dense(weight)], None, "readout")


def _read_layer(group, kind: str, index: int, count: int, shape: tuple[int, ...] | None,
                pending: list[Op], readout_integrator: bool, loihi_refractory: bool
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
        stage = _input_stage(group, loihi_refractory) if "neuron" in group else None
        return stage, shape
    if shape is None:
        raise ValueError("the file has no input layer giving the input shape")
    if kind == "flatten":
        pending.append(Flatten())
        return None, shape
    if kind == "average":
        stage = _average_stage(group, shape, index == count - 1, pending)
    else:
        stage = _synaptic_stage(group, kind, index, index == count - 1, pending,
                                readout_integrator, loihi_refractory)
    pending.clear()
    for op in stage.ops:
        shape = op.output_shape(shape)
    if kind in ("conv", "pool") and "shape" in group and shape != _shape(group):
        raise ValueError(f"computed output shape {shape} does not match the stored shape "
                         f"{_shape(group)}")
    return stage, shape


def read_network(path: str | Path, name: str | None = None, *,
                 readout_integrator: bool = False, loihi_refractory: bool = False,
                 input_encoding: InputEncoding | str | None = None) -> Network:
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
    loihi_refractory : bool
        Give neurons the refractory period of their ``refDelay`` (d - 1 held steps after a
        spike, as Loihi's compartments). Default: ignore it, as lava-dl does (its netx builds
        Lava ``LIF`` neurons, its SLAYER trains with ``refDelay`` 1).
    input_encoding : InputEncoding or str, optional
        Default: the encoding a file written by :func:`write_network` records; otherwise
        ``direct`` when the input layer has neurons (lava-dl drives them with the image) and
        ``events`` when it has none (lava-dl sends input spikes straight into the first
        layer's synapses, one time step after another, e.g. ``ntidigits.net``).

    Returns
    -------
    Network
        Meant for ``precision="fixed"``, which reproduces Lava's bit-accurate LIF (see the
        module docstring for the mapping and the Lava step offset).

    Raises
    ------
    FileFormatError
        If the file cannot be read or uses a feature outside the supported subset; the
        message names the layer and the feature.
    """
    path = check_readable(path, "netx file")
    with _open(path) as handle:
        if not isinstance(handle.get("layer"), h5py.Group):
            raise FileFormatError(f"{path}: not a netx file (no 'layer' group)")
        layers = handle["layer"]
        count = len(layers)
        if count == 0 or set(layers) != {str(i) for i in range(count)}:
            raise FileFormatError(f"{path}: netx layers must be groups named 0..{count - 1}, "
                                  f"got {sorted(layers)[:8]}")
        stages: list[Stage] = []
        pending: list[Op] = []
        shape: tuple[int, ...] | None = None
        input_shape = None
        for index in range(count):
            group, kind = layers[str(index)], "?"
            try:
                if not isinstance(group, h5py.Group):
                    raise ValueError("is a value, expected a group")
                kind = _text(group, "type")
                stage, shape = _read_layer(group, kind, index, count, shape, pending,
                                           readout_integrator, loihi_refractory)
            except ValueError as err:  # ours, and InvalidNetwork from the ops and neurons
                raise FileFormatError(f"{path}: layer {index} ({kind}): {err}") from None
            if index == 0:
                input_shape = shape
            if stage is not None:
                stages.append(stage)
        if not stages or stages[-1].neuron is not None:
            raise FileFormatError(f"{path}: the last layer must be a readout without neuron")
        if input_encoding is None and "ldsnn" in handle:
            input_encoding = handle["ldsnn"].attrs.get("input_encoding")
        if input_encoding is None:
            has_input_neurons = "neuron" in layers["0"]
            input_encoding = InputEncoding.DIRECT if has_input_neurons else InputEncoding.EVENTS
    try:
        encoding = parse_option(InputEncoding, input_encoding, "input_encoding")
        return Network(input_shape, stages, encoding, name=name or path.stem)
    except LDSNNError as err:
        raise FileFormatError(f"{path}: {err}") from None


@contextmanager
def _open(path: Path):
    """The HDF5 file at ``path``, read-only; HDF5's own errors (a damaged file, unreadable
    data) become :class:`FileFormatError` naming the file."""
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise FileFormatError(f"{path}: not a readable netx HDF5 file ({err})") from None
    try:
        with handle:
            yield handle
    except (KeyError, RuntimeError, OSError) as err:  # from h5py on damaged data
        raise FileFormatError(f"{path}: damaged HDF5 data ({type(err).__name__}: {err})"
                              ) from None


# --- writing ----------------------------------------------------------------------------

LDSNN_FORMAT = "ldsnn-netx-schedule"
LDSNN_VERSION = 1


def _where(net: Network, index: int) -> str:
    name = net.stages[index].name
    return f"stage {index}" + (f" ({name})" if name else "")


def _integer(values, what: str, where: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if not np.all(array == np.round(array)):
        raise InvalidNetwork(f"{where}: {what} must be integers for a fixed-point export; quantize "
                             f"the network first (ldsnn_lava.quantize)")
    if np.abs(array).max(initial=0) >= 2 ** 24:
        raise InvalidNetwork(f"{where}: {what} exceed 2**24 in magnitude and cannot be stored "
                             f"exactly; requantize with fewer bits")
    return array


def _neuron_group(group: h5py.Group, neuron: CubaLIF, where: str) -> None:
    try:
        params = neuron.fixed_parameters()
    except ValueError as err:
        raise InvalidNetwork(f"{where}: {err}") from None
    group["type"] = np.bytes_("CUBA")
    group["iDecay"] = np.int64(params["du"])
    group["vDecay"] = np.int64(params["dv"])
    group["vThMant"] = np.int64(params["threshold"])
    group["refDelay"] = np.int64(1)
    group["gradedSpike"] = np.bool_(False)


def _check_neuron(net: Network, index: int) -> CubaLIF | None:
    neuron, where = net.stages[index].neuron, _where(net, index)
    if isinstance(neuron, IF):
        raise InvalidNetwork(
            f"{where}: IF neurons (reset by subtraction) have no lava-dl netx equivalent; netx "
            f"only has Loihi's CUBA LIF (hard reset). Export networks whose spiking stages use "
            f"CubaLIF (e.g. imported from netx), or run IF networks with ldsnn_lava's Lava "
            f"processes instead")
    if neuron is not None and not neuron.is_loihi:
        raise InvalidNetwork(
            f"{where}: {neuron} is not Loihi's CUBA LIF (hard reset to 0, v > threshold, v "
            f"starting at 0), the only spiking neuron netx has")
    return neuron


def _voltage_bias(op, neuron: CubaLIF | None, size: int, where: str) -> np.ndarray | None:
    """The netx per-neuron voltage bias of a stage: op bias (exact only without current
    memory) plus the neuron's own bias."""
    bias = None if getattr(op, "bias", None) is None else np.asarray(op.bias, dtype=np.float64)
    if bias is not None and neuron is not None and neuron.current_decay != 1.0:
        raise InvalidNetwork(f"{where}: an op bias with current_decay < 1 has no netx form (netx "
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
        raise InvalidNetwork(f"{where}: a Scale input stage must be a single Scale op feeding "
                             f"neurons")
    neuron = _check_neuron(net, 0)
    scale = first.ops[0]
    if scale.weight.size != 1 or scale.bias.size != 1:
        raise InvalidNetwork(f"{where}: netx input layers take a scalar weight and bias; this "
                             f"Scale has per-element values")
    if neuron.current_decay != 1.0 or neuron.bias != 0.0:
        raise InvalidNetwork(f"{where}: a netx input layer drives its neuron's bias, which equals "
                             f"this Scale current only with current_decay = 1 and no neuron bias")
    group["weight"] = np.float32(_integer(scale.weight, "Scale weight", where).item())
    group["bias"] = np.float32(_integer(scale.bias, "Scale bias", where).item())
    _neuron_group(group.create_group("neuron"), neuron, where)
    return True


@singledispatch
def netx_layer(op: Op, group: h5py.Group, where: str, readout: bool) -> None:
    """Write ``op``'s type and parameters into a netx layer ``group``; ops without a netx form
    raise :class:`InvalidNetwork` naming the stage."""
    raise InvalidNetwork(f"{where}: {type(op).__name__} has no netx form (lava-dl 0.6 loads "
                         f"dense, conv and flatten layers)")


def _weights_out(weight: np.ndarray, where: str) -> np.ndarray:
    """Weights for a netx file: integers in Loihi's [-256, 254], as :func:`read_network`
    (and lava-dl, which would clip others) takes them."""
    weight = _integer(weight, "weights", where)
    if weight.min() < -256 or weight.max() > 254:
        raise InvalidNetwork(f"{where}: weights must lie in Loihi's [-256, 254] for netx, got "
                             f"[{weight.min():g}, {weight.max():g}]; requantize with 8-bit "
                             f"weights (ldsnn_lava.quantize)")
    return weight.astype(np.float32)


@netx_layer.register
def _(op: Dense, group: h5py.Group, where: str, readout: bool) -> None:
    if readout and op.bias is not None and np.any(op.bias != 0):
        raise InvalidNetwork(f"{where}: a readout bias has no netx form (lava-dl adds it once, "
                             f"our readout every step); drop it or fold it into the argmax")
    group["type"] = np.array([b"dense"])
    group["weight"] = _weights_out(op.weight, where)
    group["inFeatures"] = np.int64(op.weight.shape[1])
    group["outFeatures"] = np.int64(op.weight.shape[0])


@netx_layer.register
def _(op: Conv2d, group: h5py.Group, where: str, readout: bool) -> None:
    if readout:
        raise InvalidNetwork(f"{where}: a readout must be a Dense op for netx (lava-dl conv "
                             f"layers need a neuron)")
    group["type"] = np.array([b"conv"])
    group["weight"] = _weights_out(op.weight, where)
    group["inChannels"] = np.int64(op.weight.shape[1])
    group["outChannels"] = np.int64(op.weight.shape[0])
    group["kernelSize"] = np.array(op.kernel, dtype=np.int64)
    group["stride"] = np.array(op.stride, dtype=np.int64)
    group["padding"] = np.array(op.padding, dtype=np.int64)
    group["dilation"] = np.array([1, 1], dtype=np.int64)
    group["groups"] = np.int64(1)


@netx_layer.register
def _(op: Flatten, group: h5py.Group, where: str, readout: bool) -> None:
    group["type"] = np.array([b"flatten"])


@netx_layer.register(AvgPool2d)
@netx_layer.register(SumPool2d)
def _(op: Op, group: h5py.Group, where: str, readout: bool) -> None:
    raise InvalidNetwork(f"{where}: pooling has no netx form here (lava-dl 0.6 has no pooling "
                         f"loader)")


@netx_layer.register
def _(op: Scale, group: h5py.Group, where: str, readout: bool) -> None:
    raise InvalidNetwork(f"{where}: a Scale op exports only as the input layer (stage 0, a "
                         f"single Scale feeding neurons)")


def _write_stage(layers: h5py.Group, net: Network, index: int, next_layer: int) -> int:
    """Write one stage as netx layers starting at ``next_layer`` (an optional flatten, then
    its one synaptic op); return the index of its synaptic layer."""
    stage, where = net.stages[index], _where(net, index)
    neuron = _check_neuron(net, index)
    readout = neuron is None
    if readout and index != net.num_stages - 1:
        raise InvalidNetwork(f"{where}: only the last stage may be a readout")
    shape = net.input_shape_of(index)
    for position, op in enumerate(stage.ops):
        group = layers.create_group(str(next_layer + position))
        netx_layer(op, group, where, readout)
        shape = op.output_shape(shape)
        group["shape"] = np.array((1, 1, *shape) if op.is_reshape else shape, dtype=np.int64)
    kinds = [type(op).__name__ for op in stage.ops]
    if kinds not in (["Dense"], ["Conv2d"], ["Flatten", "Dense"]):
        raise InvalidNetwork(f"{where}: only a single Dense or Conv2d op (a Dense optionally "
                             f"after Flatten) exports to netx, got {'+'.join(kinds)}")
    op, group = stage.ops[-1], layers[str(next_layer + len(stage.ops) - 1)]
    bias = _voltage_bias(op, neuron, op.weight.shape[0], where)
    if bias is not None:
        group["bias"] = bias.astype(np.float32)
    if neuron is not None:
        _neuron_group(group.create_group("neuron"), neuron, where)
    return next_layer + len(stage.ops) - 1


def _write_schedule(handle: h5py.File, net: Network, schedule: Schedule,
                    stage_layers: list[int], model_record: dict | None) -> None:
    group = handle.create_group("ldsnn")
    group.attrs["format"] = LDSNN_FORMAT
    group.attrs["version"] = LDSNN_VERSION
    group.attrs["schedule"] = schedule.to_json()
    if model_record:
        group.attrs["model"] = json.dumps(model_record)
    group.attrs["input_encoding"] = str(net.input_encoding)
    group.attrs["name"] = net.name or ""
    group["timesteps"] = np.array(schedule.timesteps, dtype=np.int32)
    group["buffers"] = np.array([b.encode() for b in schedule.buffers], dtype="S6")
    group["stage_layers"] = np.array(stage_layers, dtype=np.int32)
    for mode in Mode:
        windows = stage_windows(Schedule(schedule.timesteps, schedule.buffers, mode))
        sub = group.create_group(mode)
        sub["offsets"] = np.array([w.offset for w in windows], dtype=np.int32)
        sub["lags"] = np.array([w.lag for w in windows], dtype=np.int32)
        sub["period"] = np.int32(windows[0].period)


def write_network(net: Network, schedule: Schedule, path: str | Path, *,
                  model_record: dict | None = None) -> None:
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
    model_record : dict, optional
        :meth:`ldsnn_lava.model.Model.to_record` (the given SNN's base T, input scaling),
        stored as JSON in the ``ldsnn`` group's ``model`` attribute: ``tSample`` of an exported
        file is the schedule's period, not the given SNN's T.

    Raises
    ------
    InvalidNetwork
        If a parameter is not an integer (quantize first) or a stage has no netx form (IF
        neuron, pooling, ...); the message names the stage.
    InvalidSchedule
        If the schedule does not fit the network.
    """
    schedule.check(net)
    if net.input_encoding != InputEncoding.DIRECT:
        raise InvalidNetwork("netx export needs 'direct' input encoding (a 'rate'-encoded input "
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
            _write_schedule(handle, net, schedule, stage_layers, model_record)

    atomic_write(path, write)


def write_model(model: Model, path: str | Path, schedule: Schedule) -> None:
    """:func:`write_network` of ``model``'s network with its model record, so that
    :func:`read_model` gives back its base T and input scaling."""
    record = {k: v for k, v in model.to_record().items() if k != "precision"}  # always fixed
    write_network(model.network, schedule, path, model_record=record)


def read_schedule(path: str | Path) -> Schedule:
    """The LD schedule stored by :func:`write_network` in a netx file's ``ldsnn`` group.

    Raises
    ------
    FileAccessError, FileFormatError
    """
    path = check_readable(path, "netx file")
    with _open(path) as handle:
        if not isinstance(handle.get("ldsnn"), h5py.Group):
            raise FileFormatError(f"{path}: no LD schedule (no 'ldsnn' group); was it written "
                                  f"by ldsnn export?")
        attrs = handle["ldsnn"].attrs
        if attrs.get("format") != LDSNN_FORMAT:
            raise FileFormatError(f"{path}: 'ldsnn' group has format {attrs.get('format')!r}, "
                                  f"expected {LDSNN_FORMAT!r}")
        version = attrs.get("version")
        if isinstance(version, bool | np.bool_) or not isinstance(version, int | np.integer) \
                or version != LDSNN_VERSION:
            raise FileFormatError(f"{path}: unsupported ldsnn schedule version {version!r} "
                                  f"(this reads {LDSNN_VERSION})")
        try:
            data = json.loads(attrs["schedule"])
        except (KeyError, ValueError, TypeError, RecursionError) as err:
            raise FileFormatError(f"{path}: unreadable stored schedule ({err})") from None
        return Schedule.from_dict(data, f"{path}: stored schedule")


def load_netx_with_schedule(path: str | Path) -> tuple[Network, Schedule]:
    """Read a file written by :func:`write_network`: the network and its LD schedule.

    The network is read with :func:`read_network`; the fixed-point engine's outputs equal
    those of the exported network.

    Returns
    -------
    (Network, Schedule)
    """
    schedule = read_schedule(path)
    net = read_network(path)
    schedule.check(net)
    return net, schedule


def read_model(path: str | Path) -> Model:
    """A :class:`~ldsnn_lava.model.Model` from a netx file: fixed precision, and as base T the
    file's ``tSample`` (lava-dl's sample length), unless the file was written by
    :func:`write_network`: its schedule is then kept in ``record["schedule"]`` and its base T
    and input scaling come from the stored model record (none: base T unknown)."""
    net = read_network(path)
    record: dict = {}
    stored: dict = {}
    base_T = None
    with _open(Path(path)) as handle:
        if "ldsnn" in handle:
            record["schedule"] = read_schedule(path)
            try:
                stored = json.loads(handle["ldsnn"].attrs.get("model", "{}"))
            except (TypeError, ValueError, RecursionError) as err:
                raise FileFormatError(f"{path}: unreadable model record in the 'ldsnn' group "
                                      f"({err})") from None
            if not isinstance(stored, dict):
                raise FileFormatError(f"{path}: the model record in the 'ldsnn' group is not "
                                      f"an object")
        elif isinstance(handle.get("simulation"), h5py.Group) \
                and "tSample" in handle["simulation"]:
            try:
                (base_T,) = _integers(handle["simulation"], "tSample", (1,))
            except ValueError as err:
                raise FileFormatError(f"{path}: simulation: {err}") from None
            if not 1 <= base_T <= MAX_TIMESTEPS:
                raise FileFormatError(f"{path}: simulation: tSample must be in "
                                      f"[1, {MAX_TIMESTEPS}], got {base_T}")
    return Model.from_record(Path(path).stem, net, stored, str(path), base_T=base_T,
                             precision=Precision.FIXED, record=record)


register_format("netx", reader=read_network, writer=write_network)
