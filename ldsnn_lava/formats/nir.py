"""NIR (Neuromorphic Intermediate Representation) reader and writer, with the real ``nir`` package.

Reading takes a chain ``Input -> ops -> neuron -> ops -> neuron ... -> Output``: every neuron
closes a stage with the ops before it, and what follows the last neuron is the readout.

- Ops: ``Affine``/``Linear`` -> :class:`Dense`, ``Conv2d`` (``'valid'``, or ``'same'`` with
  stride 1), ``SumPool2d``, ``AvgPool2d``, ``Flatten`` (of whole samples), ``Scale`` ->
  :class:`Scale`.
- Neurons: ``IF``, ``LIF``, ``CubaLIF`` and ``Threshold``, by :mod:`.nir_neurons` (the time step,
  the input gains folded into the weighted op before the neuron, each tool's convention); a
  ``Delay`` right before a neuron (or Output) is the stage's per-neuron delay (``delay / dt``
  whole steps).
- Readout: ops before ``Output`` sum their input over the window; an ``I`` node (or ``LI`` without
  leak, ``tau = inf``) right before ``Output`` is that sum scaled by ``dt r``; a graph that ends in
  a spiking neuron gets an identity readout (``Scale(1)``) that counts its spikes.
- ``Input`` may carry leading batch or time axes (sinabs and Norse write them): they are dropped
  until the first stage accepts the shape; ``Output``'s shape is not used.
- The time step: ``dt=`` if given, else the graph's ``metadata["dt"]``, else the convention's
  fixed one (snnTorch 1e-4, sinabs 1); a node that needs one when none is known is an error that
  says so.

Writing is shaped so that other tools can run the graph: every Dense as ``Affine`` (a zero bias
when it has none: sinabs reads no ``Linear``), ``AvgPool2d`` with a power-of-two area as
``SumPool2d`` with ``1/area`` folded into the stage's weighted op (bit-identical: scaling by a
power of two is exact; sinabs and Norse read no ``AvgPool2d``), neurons with unit input gains at
``dt`` (default 1e-4), the netx input layer's ``Scale`` as ``nir.Scale`` without bias or as a
diagonal ``Affine``, and a graph ending in the last spiking stage when the readout only counts
its spikes. What NIR cannot express (reset by subtraction, ``>=``, an initial potential, the
truncation of a netx input layer) is named in one :class:`NIRExportWarning` and stated in node
metadata, from which our reader restores it exactly (the ``"ldsnn"`` convention, the default for
graphs we wrote). Per-stage timesteps travel in the graph's metadata (:func:`read_schedule`).
"""

from __future__ import annotations

import json
import math
import warnings
from contextlib import contextmanager
from functools import singledispatch
from pathlib import Path

import numpy as np

from ldsnn_lava._io import atomic_write, check_readable
from ldsnn_lava.errors import (
    FileFormatError,
    InvalidNetwork,
    InvalidOption,
    InvalidSchedule,
    LDSNNError,
)
from ldsnn_lava.formats.nir_neurons import (
    DT_HINT,
    FIXED_DT,
    neuron_metadata,
    own_metadata,
    read_neuron,
    write_neuron,
)
from ldsnn_lava.model import Model
from ldsnn_lava.network import Network, Stage, register_format
from ldsnn_lava.neurons import IF, CubaLIF
from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Flatten, Op, Scale, SumPool2d
from ldsnn_lava.options import BufferKind, InputEncoding, NIRConvention, parse_option
from ldsnn_lava.schedule import Schedule

GRAPH_FORMAT = "ldsnn-nir"
GRAPH_VERSION = 1
DEFAULT_DT = 1e-4
"""The time step :func:`to_nir` writes for: snnTorch's constant and SpikingJelly's default."""
NEURON_NODES = ("IF", "LIF", "CubaLIF", "Threshold")
READOUT_NODES = ("I", "LI")
OP_NODES = ("Affine", "Linear", "Conv2d", "SumPool2d", "AvgPool2d", "Flatten", "Scale")
DELAY_NODE = "Delay"


class NIRExportWarning(UserWarning):
    """Parts of a network that NIR cannot express: other tools will not see them."""


# --- reading -----------------------------------------------------------------------------------

def _read_graph(graph_or_path):
    import nir

    if isinstance(graph_or_path, str | Path):
        path = check_readable(graph_or_path, "NIR file")
        try:  # type_check=False: sinabs writes Input types with a batch/time axis
            return nir.read(path, type_check=False)
        except (OSError, KeyError, ValueError, TypeError, AttributeError, IndexError,
                AssertionError, RuntimeError) as err:  # what nir and h5py raise on damage
            raise FileFormatError(f"{graph_or_path}: not a readable NIR file "
                                  f"({type(err).__name__}: {err})") from None
    if not isinstance(graph_or_path, nir.NIRGraph):
        raise InvalidOption(f"expected a nir.NIRGraph or a path, got "
                            f"{type(graph_or_path).__name__}")
    return graph_or_path


def _chain(graph) -> list[str]:
    """Node names from Input to Output; branches, cycles, subgraphs and stray nodes are refused
    by name."""
    for name, node in graph.nodes.items():
        if node is None:
            raise FileFormatError(f"node {name!r} is empty (None): the exporter wrote no NIR "
                                  f"node for this layer (Norse 1.1 does so for Flatten and "
                                  f"pooling)")
        if type(node).__name__ == "NIRGraph":
            raise FileFormatError(f"node {name!r} is a subgraph (e.g. a recurrent layer); only "
                                  f"feed-forward chains are supported")
    successors: dict[str, list[str]] = {}
    for source, target in graph.edges:
        successors.setdefault(source, []).append(target)
    starts = [n for n, node in graph.nodes.items() if type(node).__name__ == "Input"]
    if len(starts) != 1:
        raise FileFormatError(f"the NIR graph must have exactly one Input node, found "
                              f"{len(starts)}")
    chain = [starts[0]]
    while successors.get(chain[-1]):
        following = successors[chain[-1]]
        if len(following) != 1:
            raise FileFormatError(f"node {chain[-1]!r} branches to {following}: only chains "
                                  f"are supported")
        if following[0] in chain:
            raise FileFormatError(f"the NIR graph has a cycle at {following[0]!r} (recurrence "
                                  f"is not supported)")
        chain.append(following[0])
    if type(graph.nodes[chain[-1]]).__name__ != "Output":
        raise FileFormatError(f"the NIR chain from {chain[0]!r} ends at {chain[-1]!r}, not at "
                              f"an Output node")
    if len(chain) != len(graph.nodes):
        stray = sorted(set(graph.nodes) - set(chain))
        raise FileFormatError(f"the NIR graph has nodes off its Input-to-Output chain: {stray}")
    return chain


def _pair(value, where: str, field: str) -> tuple[int, int]:
    array = np.asarray(value).reshape(-1)
    if array.size not in (1, 2):
        raise FileFormatError(f"{where}: field {field} must be one or two ints, got {value!r}")
    return (int(array[0]), int(array[-1]))


def _conv_padding(node, where: str) -> tuple[int, int]:
    if not isinstance(node.padding, str):
        return _pair(node.padding, where, "padding")
    kernel = np.asarray(node.weight).shape[2:]
    if node.padding == "valid":
        return (0, 0)
    if node.padding == "same" and _pair(node.stride, where, "stride") == (1, 1) \
            and all(k % 2 == 1 for k in kernel):
        return (kernel[0] // 2, kernel[1] // 2)
    raise FileFormatError(f"{where}: field padding = {node.padding!r} is supported only as "
                          f"'valid', or 'same' with stride 1 and odd kernel sizes")


def _op_from_nir(node, where: str, spec: dict) -> Op:
    """The op of a NIR node; ``spec`` is our own metadata of the node ({} for foreign graphs)."""
    kind = type(node).__name__
    if kind in ("Affine", "Linear"):
        weight = np.asarray(node.weight, dtype=np.float64)
        if weight.ndim != 2:
            raise FileFormatError(f"{where}: field weight must be 2-D (out, in), got shape "
                                  f"{weight.shape}")
        bias = np.asarray(node.bias, dtype=np.float64).reshape(-1) if kind == "Affine" else None
        if spec.get("type") == "Scale":
            if np.count_nonzero(weight - np.diag(np.diag(weight))):
                raise FileFormatError(f"{where}: its ldsnn metadata says Scale but field weight "
                                      f"is not diagonal; read it with convention='nir'")
            return Scale(np.diag(weight).copy(), bias, truncate=bool(spec.get("truncate")))
        if spec.get("bias") is False and not np.any(bias):
            bias = None
        return Dense(weight, bias)
    if kind == "Scale":
        return Scale(np.asarray(node.scale, dtype=np.float64), 0.0,
                     truncate=bool(spec.get("truncate")))
    if kind == "Conv2d":
        if int(np.asarray(node.groups)) != 1:
            raise FileFormatError(f"{where}: field groups = {node.groups}: grouped "
                                  f"convolutions are not supported")
        if _pair(node.dilation, where, "dilation") != (1, 1):
            raise FileFormatError(f"{where}: field dilation = {node.dilation}: dilated "
                                  f"convolutions are not supported")
        weight = np.asarray(node.weight, dtype=np.float64)
        if weight.ndim != 4:
            raise FileFormatError(f"{where}: field weight must be 4-D (out, in, kh, kw), got "
                                  f"shape {weight.shape}")
        bias = np.asarray(node.bias, dtype=np.float64).reshape(-1)
        if spec.get("bias") is False and not np.any(bias):
            bias = None
        return Conv2d(weight, bias, stride=_pair(node.stride, where, "stride"),
                      padding=_conv_padding(node, where))
    if kind in ("AvgPool2d", "SumPool2d"):
        if _pair(node.padding, where, "padding") != (0, 0):
            raise FileFormatError(f"{where}: field padding = {node.padding}: padded pooling "
                                  f"is not supported")
        pool = SumPool2d if kind == "SumPool2d" else AvgPool2d
        return pool(_pair(node.kernel_size, where, "kernel_size"),
                    _pair(node.stride, where, "stride"))
    if kind == "Flatten":
        return Flatten()
    raise FileFormatError(
        f"{where}: NIR node type {kind} is not supported (supported: "
        f"{', '.join(OP_NODES + NEURON_NODES)}, {DELAY_NODE} before a neuron, and "
        f"{' or '.join(READOUT_NODES)} before Output)")


def _check_flatten(node, in_shape: tuple[int, ...], where: str) -> None:
    """A NIR Flatten must flatten whole samples, as ours does (judged on the input type the
    node declares, if any, else on the shape reaching it)."""
    declared = (node.input_type or {}).get("input")
    if declared is not None:
        in_shape = tuple(int(d) for d in np.asarray(declared).reshape(-1))
    ndim = len(in_shape)
    start, end = int(np.asarray(node.start_dim)), int(np.asarray(node.end_dim))
    if ndim > 1 and (start % ndim, end % ndim) != (0, ndim - 1):
        raise FileFormatError(f"{where}: Flatten from start_dim={start} to end_dim={end} of a "
                              f"{in_shape} sample keeps some axes; only flattening whole samples "
                              f"is supported")


def _scaled(op: Op, factor: np.ndarray) -> Op:
    """``op`` with its output multiplied by ``factor`` (a scalar or one value per output)."""
    if isinstance(op, Dense):
        rows = factor[:, None] if factor.ndim else factor
        return Dense(op.weight * rows, None if op.bias is None else op.bias * factor)
    if isinstance(op, Conv2d):
        channels = factor[:, None, None, None] if factor.ndim else factor
        return Conv2d(op.weight * channels, None if op.bias is None else op.bias * factor,
                      op.stride, op.padding)
    return Scale(op.weight * factor, op.bias * factor, op.truncate)


def _fold_gain(ops: list[Op], gain: np.ndarray, shape: tuple[int, ...], where: str) -> list[Op]:
    """Fold a neuron's (or readout's) input gain into the last weighted op before it: a uniform
    gain into any, per-neuron gains into Dense rows, Conv2d channels or Scale elements."""
    gain = np.broadcast_to(np.asarray(gain, dtype=np.float64), shape)
    if np.all(gain == 1):
        return ops
    weighted = [i for i, op in enumerate(ops) if isinstance(op, Dense | Conv2d | Scale)]
    if not weighted:
        raise FileFormatError(f"{where}: its input gain needs a weighted op (Affine, Conv2d, "
                              f"Scale) before it")
    index = weighted[-1]
    op, after = ops[index], ops[index + 1:]
    flat = gain.reshape(-1)
    if np.all(flat == flat[0]):
        factor = np.asarray(flat[0])
    elif isinstance(op, Dense) and not after:
        factor = flat
    elif isinstance(op, Conv2d) and all(isinstance(o, AvgPool2d) for o in after) \
            and np.all(gain == gain[:, :1, :1]):
        factor = gain[:, 0, 0]
    elif isinstance(op, Scale) and not after:
        factor = np.asarray(gain)
    else:
        raise FileFormatError(f"{where}: its per-neuron input gains (from fields r, w_in, tau) "
                              f"differ and cannot be folded into the {type(op).__name__} "
                              f"before it")
    return [*ops[:index], _scaled(op, factor), *after]


def _delay_steps(node, dt: float | None, shape: tuple[int, ...], where: str) -> np.ndarray:
    """A Delay node's per-neuron delays (time) as whole time steps >= 0."""
    if dt is None:
        raise FileFormatError(f"{where}: a NIR Delay node needs a time step and the graph states "
                              f"none: pass dt= ({DT_HINT})")
    try:
        steps = np.broadcast_to(np.asarray(node.delay, dtype=np.float64) / dt, shape)
    except ValueError:
        raise FileFormatError(f"{where}: field delay of shape {np.shape(node.delay)} does not "
                              f"fit the {shape} neurons it delays") from None
    whole = np.round(steps)
    if not np.all(np.isfinite(steps)) or np.any(whole < 0) or \
            not np.allclose(steps, whole, rtol=0, atol=1e-6):
        raise FileFormatError(f"{where}: field delay must be whole multiples >= 0 of the time step "
                              f"dt = {dt:g}, got delay / dt from {steps.min():g} to "
                              f"{steps.max():g}")
    return whole.astype(np.int64)


def _time_step(graph, dt: float | None, convention: NIRConvention) -> float | None:
    stated = (graph.metadata or {}).get("dt")
    stated = None if stated is None else float(np.asarray(stated))
    if dt is None:
        return stated if stated is not None else FIXED_DT.get(convention)
    dt = float(dt)
    if not (math.isfinite(dt) and dt > 0):
        raise InvalidOption(f"dt must be a positive, finite time step, got {dt}")
    if stated is not None and stated != dt:
        warnings.warn(f"dt={dt:g} overrides the graph's metadata dt={stated:g}", stacklevel=3)
    return dt


def _readout_gain(node, dt: float | None, where: str) -> np.ndarray:
    if type(node).__name__ == "LI" and np.any(np.isfinite(np.asarray(node.tau, dtype=float))):
        raise FileFormatError(f"{where}: an LI readout with finite field tau leaks; the ldsnn "
                              f"readout sums its input over the window without leak (an I node, "
                              f"or LI with tau = inf)")
    if dt is None:
        raise FileFormatError(f"{where}: a NIR {type(node).__name__} node needs a time step and "
                              f"the graph states none: pass dt= ({DT_HINT})")
    return dt * np.asarray(node.r, dtype=np.float64)


def _input_shape(shape: tuple[int, ...], ops: list[Op]) -> tuple[int, ...]:
    """``shape`` without the leading batch/time axes the first stage's ops do not take."""
    for skip in range(len(shape)):
        candidate = current = shape[skip:]
        try:
            for op in ops:
                current = op.output_shape(current)
        except ValueError:
            continue
        return candidate
    return shape


def _segments(graph, chain: list[str]) -> list[tuple[list[str], str | None]]:
    """The chain as (op node names, the neuron or I/LI node closing them, or None) pieces."""
    segments, names = [], []
    for position, name in enumerate(chain[1:-1], start=1):
        kind = type(graph.nodes[name]).__name__
        if kind in READOUT_NODES and chain[position + 1] != chain[-1]:
            raise FileFormatError(f"node {name!r} ({kind}): {kind} is supported only right "
                                  f"before Output, as the readout")
        if kind == DELAY_NODE and chain[position + 1] != chain[-1] and \
                type(graph.nodes[chain[position + 1]]).__name__ not in NEURON_NODES:
            raise FileFormatError(f"node {name!r} (Delay): a Delay is supported only right before "
                                  f"a neuron or Output (each neuron's or output's input delayed)")
        if kind in NEURON_NODES or kind in READOUT_NODES:
            if not names:
                raise FileFormatError(f"node {name!r} ({kind}) needs a synaptic op (Affine, "
                                      f"Conv2d, ...) before it")
            segments.append((names, name))
            names = []
        else:
            names.append(name)
    if names or not segments:
        segments.append((names, None))
    return segments


@contextmanager
def _format_errors(graph_or_path):
    """Whatever reading a NIR graph raises (our checks, the ``nir`` package's own assertions,
    h5py on a damaged file) as a :class:`FileFormatError` naming the file or graph; a bad
    argument (:class:`InvalidOption`) and a path that cannot be read stay what they are."""
    source = str(graph_or_path) if isinstance(graph_or_path, str | Path) else "NIR graph"
    try:
        yield
    except (FileFormatError, InvalidNetwork, InvalidSchedule) as err:
        raise FileFormatError(f"{source}: {err}" if source not in str(err) else str(err)
                              ) from None
    except LDSNNError:  # InvalidOption, FileAccessError: about the argument or the path
        raise
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError,
            RuntimeError, OSError) as err:
        raise FileFormatError(f"{source}: not a NIR graph this reader supports "
                              f"({type(err).__name__}: {err})") from None


def read_network(graph_or_path, dt: float | None = None,
                 convention: str | None = None) -> Network:
    """Read a NIR graph (or a file written by ``nir.write``) as a :class:`Network`.

    Parameters
    ----------
    graph_or_path : nir.NIRGraph, str or Path
    dt : float, optional
        The time step NIR's continuous-time neurons are read with. Default: the graph's
        ``metadata["dt"]``, else the convention's (snnTorch 1e-4, sinabs 1). Every neuron node
        with a time constant or an input resistance needs one.
    convention : {"nir", "ldsnn", "snntorch", "sinabs_single_spike", "sinabs", "norse",
                  "spikingjelly"}, optional
        How neuron nodes are read: by NIR's definitions (``"nir"``), as the named tool
        simulates what its exporter writes, or exactly as ldsnn-lava wrote them (``"ldsnn"``,
        the default for graphs :func:`to_nir` made; ``"nir"`` for others). See
        :mod:`ldsnn_lava.formats.nir_neurons`.

    Raises
    ------
    FileAccessError
        If a path is missing, a folder or not a regular file.
    FileFormatError
        For a file that is not NIR, unsupported nodes, fields or structure, and for a needed
        but missing time step; the message names the file, node and field.
    InvalidOption
        For a bad ``dt`` or ``convention``.
    """
    with _format_errors(graph_or_path):
        return _network(_read_graph(graph_or_path), dt, convention)


def _network(graph, dt: float | None, convention: str | None) -> Network:
    own = own_metadata(graph).get("format") == GRAPH_FORMAT
    if convention is None:
        convention = NIRConvention.LDSNN if own else NIRConvention.NIR
    convention = parse_option(NIRConvention, convention, "convention")
    dt = _time_step(graph, dt, convention)
    chain = _chain(graph)
    for name in chain:
        _check_real(graph.nodes[name], f"node {name!r} ({type(graph.nodes[name]).__name__})")
    segments = _segments(graph, chain)
    exact = convention == NIRConvention.LDSNN

    def where(name: str) -> str:
        return f"node {name!r} ({type(graph.nodes[name]).__name__})"

    def is_delay(name: str) -> bool:
        return type(graph.nodes[name]).__name__ == DELAY_NODE

    ops_of = [[_op_from_nir(graph.nodes[n], where(n),
                            own_metadata(graph.nodes[n]).get("op", {}) if exact else {})
               for n in names if not is_delay(n)] for names, _ in segments]
    declared = graph.nodes[chain[0]].input_type.get("input")
    shape = _input_shape(tuple(int(d) for d in np.asarray(declared).reshape(-1)), ops_of[0])
    input_shape, stages = shape, []
    for (names, closing), ops in zip(segments, ops_of, strict=True):
        delay_nodes = [n for n in names if is_delay(n)]
        for name, op in zip([n for n in names if not is_delay(n)], ops, strict=True):
            if isinstance(op, Flatten):
                _check_flatten(graph.nodes[name], shape, where(name))
            try:
                shape = op.output_shape(shape)
            except ValueError as err:
                raise FileFormatError(f"{where(name)}: {err}") from None
        delay = (_delay_steps(graph.nodes[delay_nodes[0]], dt, shape, where(delay_nodes[0]))
                 if delay_nodes else None)
        if closing is None:
            stages.append(Stage(ops, None, "readout", delay))
        elif type(graph.nodes[closing]).__name__ in READOUT_NODES:
            gain = _readout_gain(graph.nodes[closing], dt, where(closing))
            stages.append(Stage(_fold_gain(ops, gain, shape, where(closing)), None, "readout"))
        else:
            read = read_neuron(graph.nodes[closing], dt, convention, where(closing))
            stages.append(Stage(_fold_gain(ops, read.gain, shape, where(closing)), read.neuron,
                                closing, delay))
    if not stages[-1].is_readout:  # ends in a spiking neuron: count its spikes
        stages.append(Stage([Scale()] if len(shape) == 1 else [Flatten(), Scale()], None,
                            "readout"))
    meta = own_metadata(graph) if exact else {}
    encoding = parse_option(InputEncoding, meta.get("input_encoding", "direct"), "input_encoding")
    return Network(input_shape, stages, encoding, name=meta.get("name") or None)


def _check_real(node, where: str) -> None:
    """Refuse a node with complex-valued fields (casting would silently drop the imaginary
    part)."""
    for field, value in vars(node).items():
        if np.iscomplexobj(value):
            raise FileFormatError(f"{where}: field {field} holds complex numbers; NIR fields "
                                  f"are real (refused, not truncated)")


def read_schedule(graph_or_path) -> Schedule | None:
    """The schedule :func:`to_nir` stored in the graph's metadata, or None if it has none.

    Raises
    ------
    FileFormatError
        If the stored schedule is malformed (named in the message).
    """
    with _format_errors(graph_or_path):
        stored = own_metadata(_read_graph(graph_or_path)).get("schedule")
        return None if stored is None else Schedule.from_dict(stored)


# --- writing -----------------------------------------------------------------------------------

def _own(entry: dict) -> dict:
    return {"ldsnn": json.dumps(entry)}


@singledispatch
def op_to_nir(op: Op, in_shape: tuple[int, ...]):
    """The NIR node of ``op`` for input shape ``in_shape`` (no batch axis)."""
    raise InvalidNetwork(f"op {type(op).__name__} has no NIR mapping")


@op_to_nir.register
def _(op: Dense, in_shape: tuple[int, ...]):
    import nir

    bias = np.zeros(op.weight.shape[0]) if op.bias is None else op.bias
    return nir.Affine(weight=op.weight.copy(), bias=bias.copy(),
                      metadata=_own({"op": {"type": "Dense", "bias": op.bias is not None}}))


@op_to_nir.register
def _(op: Conv2d, in_shape: tuple[int, ...]):
    import nir

    bias = np.zeros(op.weight.shape[0]) if op.bias is None else op.bias
    return nir.Conv2d(input_shape=tuple(in_shape[1:]), weight=op.weight.copy(),
                      stride=op.stride, padding=op.padding, dilation=(1, 1), groups=1,
                      bias=bias.copy(),
                      metadata=_own({"op": {"type": "Conv2d", "bias": op.bias is not None}}))


@op_to_nir.register
def _(op: SumPool2d, in_shape: tuple[int, ...]):
    import nir

    return nir.SumPool2d(kernel_size=np.array(op.kernel), stride=np.array(op.stride),
                         padding=np.array([0, 0]))


@op_to_nir.register
def _(op: AvgPool2d, in_shape: tuple[int, ...]):
    import nir

    return nir.AvgPool2d(kernel_size=np.array(op.kernel), stride=np.array(op.stride),
                         padding=np.array([0, 0]))


@op_to_nir.register
def _(op: Flatten, in_shape: tuple[int, ...]):
    import nir

    return nir.Flatten(input_type={"input": np.array(in_shape)}, start_dim=0, end_dim=-1)


@op_to_nir.register
def _(op: Scale, in_shape: tuple[int, ...]):
    import nir

    meta = _own({"op": {"type": "Scale", "truncate": op.truncate}})
    weight = np.broadcast_to(op.weight, in_shape).astype(np.float64)
    bias = np.broadcast_to(op.bias, in_shape).astype(np.float64)
    if not np.any(bias):
        return nir.Scale(scale=weight.copy(), metadata=meta)
    if len(in_shape) != 1:
        raise InvalidNetwork(f"a Scale op with a bias on {in_shape} samples has no NIR form "
                             f"(NIR's Affine takes 1-D samples)")
    return nir.Affine(weight=np.diag(weight), bias=bias.copy(), metadata=meta)


def _fold_pools(ops: tuple[Op, ...]) -> list[Op]:
    """Each AvgPool2d with a power-of-two area as a SumPool2d, its ``1/area`` folded into the
    stage's weighted op after it (weights), or else before it (weights and bias), with only
    pools and Flatten between; exact, as the area is a power of two. Others stay AvgPool2d."""
    ops = list(ops)
    for index, op in enumerate(ops):
        area = op.kernel[0] * op.kernel[1] if type(op) is AvgPool2d else 0
        if area <= 0 or area & (area - 1):
            continue
        later = next((i for i in range(index + 1, len(ops))
                      if not isinstance(ops[i], Flatten | AvgPool2d)), None)
        earlier = next((i for i in range(index - 1, -1, -1)
                        if not isinstance(ops[i], Flatten | AvgPool2d)), None)
        if later is not None and isinstance(ops[later], Dense | Conv2d):
            ops[later] = _divided(ops[later], area, bias=False)
        elif earlier is not None and isinstance(ops[earlier], Dense | Conv2d):
            ops[earlier] = _divided(ops[earlier], area, bias=True)
        else:
            continue
        ops[index] = SumPool2d(op.kernel, op.stride)
    return ops


def _divided(op: Dense | Conv2d, area: int, bias: bool) -> Dense | Conv2d:
    new_bias = op.bias / area if bias and op.bias is not None else op.bias
    if isinstance(op, Dense):
        return Dense(op.weight / area, new_bias)
    return Conv2d(op.weight / area, new_bias, op.stride, op.padding)


def _caveats(stage: Stage, index: int, network: Network, dt: float) -> str | None:
    """What NIR cannot express about a stage, as one line (None: nothing)."""
    where = f"stage {index}" + (f" ({stage.name})" if stage.name else "")
    caveats = list(write_neuron(stage.neuron, dt, where).caveats) if stage.neuron else []
    if any(isinstance(op, Scale) and op.truncate for op in stage.ops):
        caveats.append("truncation toward zero of its Scale op (lava-dl's integer input bias)")
    if index == 0 and network.input_encoding == InputEncoding.RATE:
        caveats.append("rate-encoded input (the graph takes the encoded spikes as its input)")
    return f"{where}: {', '.join(caveats)}" if caveats else None


def _counts_spikes(stage: Stage) -> bool:
    """A readout that only counts the spikes of the stage before it."""
    last = stage.ops[-1]
    return (isinstance(last, Scale) and not last.truncate and np.all(last.weight == 1)
            and not np.any(last.bias) and all(isinstance(op, Flatten) for op in stage.ops[:-1])
            and (stage.delay is None or not stage.delay.any()))


def to_nir(network: Network, schedule: Schedule | None = None, dt: float = DEFAULT_DT, *,
           base_T: int | None = None, model_record: dict | None = None):
    """Write ``network`` as a ``nir.NIRGraph`` that other tools can run (see the module doc).

    Parameters
    ----------
    network : Network
    schedule : Schedule, optional
        Stored in the graph's metadata (:func:`read_schedule` reads it back).
    dt : float
        The time step the neuron nodes' time constants and gains are written for (default
        1e-4: snnTorch's and SpikingJelly's; sinabs reads time constants in steps, dt=1).
    base_T : int, optional
        The given SNN's timesteps, stored in the graph's metadata so that :func:`read_model`
        knows the given SNN's T beside an LD schedule's per-stage timesteps.
    model_record : dict, optional
        A whole :meth:`ldsnn_lava.model.Model.to_record` (base T, input scaling) to store there.

    Warns
    -----
    NIRExportWarning
        Naming, per stage, what NIR cannot express (other tools will not see it).

    Raises
    ------
    InvalidNetwork
        For a part with no NIR form at all (e.g. a CubaLIF that never decays).
    InvalidSchedule
        For a schedule with a ``graded`` buffer (NIR has none).
    """
    import nir

    dt = float(dt)
    if not (math.isfinite(dt) and dt > 0):
        raise InvalidOption(f"dt must be a positive, finite time step, got {dt}")
    if schedule is not None:
        schedule.check(network)
        if BufferKind.GRADED in schedule.buffers:
            gap = schedule.buffers.index(BufferKind.GRADED)
            raise InvalidSchedule(
                f"buffer {gap} is 'graded': NIR has no graded-spike buffer and this export "
                f"stores only per-stage timesteps; export with 'rate' buffers")
    written = network.num_stages
    if written > 1 and _counts_spikes(network.stages[-1]):
        written -= 1  # the graph ends in the last spiking stage, whose spikes readers count
    nodes = {"input": nir.Input(input_type={"input": np.array(network.input_shape)})}
    chain, caveats = ["input"], []
    for index, stage in enumerate(network.stages[:written]):
        shape = network.input_shape_of(index)
        for position, op in enumerate(_fold_pools(stage.ops)):
            name = f"stage{index}_op{position}"
            try:
                nodes[name] = op_to_nir(op, shape)
            except InvalidNetwork as err:
                raise InvalidNetwork(f"stage {index}: {err}") from None
            shape = op.output_shape(shape)
            chain.append(name)
        if stage.delay is not None and stage.delay.any():
            name = f"stage{index}_delay"
            nodes[name] = nir.Delay(delay=np.broadcast_to(stage.delay, shape) * dt)
            chain.append(name)
        if stage.neuron is not None:
            name = f"stage{index}_neuron"
            nodes[name] = _neuron_node(stage.neuron, shape, dt, f"stage {index}")
            chain.append(name)
        caveats.append(_caveats(stage, index, network, dt))
    if any(caveats):
        warnings.warn("NIR cannot express these, so other tools will not see them (node metadata "
                      "states them for ldsnn-lava): " + "; ".join(filter(None, caveats)),
                      NIRExportWarning, stacklevel=2)
    nodes["output"] = nir.Output(output_type={"output": np.array(
        network.output_shape_of(written - 1))})
    chain.append("output")
    meta = {"format": GRAPH_FORMAT, "version": GRAPH_VERSION, "name": network.name or "",
            "input_encoding": network.input_encoding.value}
    if schedule is not None:
        meta["schedule"] = schedule.to_dict()
    record = dict(model_record or {})
    if base_T is not None:
        if isinstance(base_T, bool) or not isinstance(base_T, int) or base_T < 1:
            raise InvalidOption(f"base_T must be an int >= 1, got {base_T!r}")
        record["base_T"] = base_T
    if record:
        meta["model"] = record
    return nir.NIRGraph(nodes=nodes, edges=list(zip(chain[:-1], chain[1:], strict=True)),
                        metadata={"dt": dt, **_own(meta)})


def _neuron_node(neuron: IF | CubaLIF, shape: tuple[int, ...], dt: float, where: str):
    import nir

    written = write_neuron(neuron, dt, where)
    fields = {k: np.full(shape, v, dtype=np.float64) for k, v in written.fields.items()}
    return getattr(nir, written.kind)(**fields, metadata={"ldsnn": neuron_metadata(neuron)})


def write_network(network: Network, path: str | Path, schedule: Schedule | None = None,
                  dt: float = DEFAULT_DT, *, base_T: int | None = None,
                  model_record: dict | None = None) -> None:
    """Write :func:`to_nir` of ``network`` to a NIR HDF5 file at ``path``, atomically."""
    import nir

    graph = to_nir(network, schedule, dt=dt, base_T=base_T, model_record=model_record)
    atomic_write(path, lambda tmp: nir.write(tmp, graph))


def write_model(model: Model, path: str | Path, schedule: Schedule | None = None) -> None:
    """:func:`write_network` of ``model``'s network with its model record (base T, input
    scaling), so that :func:`read_model` gives them back."""
    write_network(model.network, path, schedule, model_record=model.to_record())


def read_model(path: str | Path) -> Model:
    """A :class:`~ldsnn_lava.model.Model` from a NIR file read with its default convention,
    with the model record :func:`write_model` (or ``to_nir(..., base_T=...)``) stored. A stored
    schedule is kept in ``record["schedule"]``; without a stored base T, a uniform stored
    schedule's T is the base T, and an LD schedule leaves it unknown."""
    graph = _read_graph(path)
    schedule = read_schedule(graph)
    try:
        network = read_network(path)  # its errors name the file
    except FileFormatError as err:
        if "needs a time step" not in str(err):
            raise
        raise FileFormatError(
            f"{err}. Model files must state their time step: write this one once with "
            f"ldsnn_lava.formats.nir.write_network(Network.from_nir(path, dt=..., "
            f"convention=...), 'out.nir')") from None
    uniform = schedule is not None and len(set(schedule.timesteps)) == 1
    return Model.from_record(Path(path).stem, network, own_metadata(graph).get("model", {}),
                             str(path), base_T=schedule.timesteps[0] if uniform else None,
                             record={} if schedule is None else {"schedule": schedule})


register_format("nir", reader=read_network, writer=to_nir)
