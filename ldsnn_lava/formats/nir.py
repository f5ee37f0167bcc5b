"""NIR (Neuromorphic Intermediate Representation) import and export, with the real ``nir`` package.

A network is a chain ``Input -> ops of stage 1 -> neuron 1 -> ... -> ops of the readout ->
Output``. Ops map one to one: ``Dense`` <-> ``nir.Affine`` (``nir.Linear`` without bias),
``Conv2d`` <-> ``nir.Conv2d``, ``AvgPool2d`` <-> ``nir.AvgPool2d``, ``SumPool2d`` <->
``nir.SumPool2d``, ``Flatten`` <-> ``nir.Flatten`` (NIR shapes carry no batch axis).
The readout is the chain's end: the ops feeding ``Output`` directly, summed over the window.
``Scale`` (lava-dl input layers) has no NIR equivalent and is refused by :func:`to_nir`.

Time: NIR neurons are continuous-time ODEs without a time step; we read them with forward Euler
at ``dt = 1`` timestep, which is what our discrete models are:

- ``nir.IF``: ``dv/dt = r I``, spike at ``v > v_threshold``. Ours: ``v += I``, spike at
  ``v >= threshold``, **reset by subtraction**, start at ``v_init``. Export: ``r = 1``,
  ``v_threshold = threshold``, ``v_reset = 0``, and metadata ``{"ldsnn": {"reset":
  "subtract", "v_init": ...}}``. Import: ``threshold = v_threshold``, the factor ``r`` folded
  into the preceding op's weights and bias; a node without that metadata resets to ``v_reset``
  in NIR, which our IF does not model: refused unless ``strict=False`` (then reset by
  subtraction is used, an approximation).
- ``nir.CubaLIF``: ``tau_syn dI/dt = -I + w_in x``, ``tau_mem dv/dt = (v_leak - v) + r I``.
  Euler at dt = 1: ``I <- I (1 - 1/tau_syn) + (w_in / tau_syn) x`` and ``v <- v (1 - 1/tau_mem)
  + (r / tau_mem) I + v_leak / tau_mem``. Ours (``u`` = I): ``current_decay = 1 / tau_syn``,
  ``voltage_decay = 1 / tau_mem``, ``bias = v_leak / tau_mem``, ``threshold = v_threshold``
  (``v_reset`` must be 0: hard reset), and the gain ``(w_in / tau_syn) (r / tau_mem)`` folded
  into the preceding op. Export writes ``tau_syn = 1 / current_decay`` (``inf`` for no decay),
  ``w_in = tau_syn``, ``tau_mem = 1 / voltage_decay``, ``r = tau_mem``, ``v_leak = bias *
  tau_mem``, plus our exact parameters in the node's metadata, which the importer prefers.
- ``nir.LI`` before ``Output``: our readout sums without leak; accepted only with
  ``strict=False`` (approximation).

Per-neuron parameters must be uniform across a population (our neuron models are scalars).
Per-layer timesteps travel in metadata: :func:`to_nir` with a schedule writes
``metadata["ldsnn"]["timesteps"]`` on every neuron node and on the readout's last op, and
:func:`timesteps_from_nir` reads them back.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import singledispatch
from pathlib import Path

import numpy as np

from ldsnn_lava._io import check_readable
from ldsnn_lava.errors import FileFormatError, InvalidNetwork, LDSNNError
from ldsnn_lava.model import Model
from ldsnn_lava.network import Network, Stage, register_format
from ldsnn_lava.neurons import IF, CubaLIF
from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Flatten, Op, Scale, SumPool2d
from ldsnn_lava.schedule import MAX_TIMESTEPS, Schedule


def _inverse(rate: float) -> float:
    return float("inf") if rate == 0 else 1.0 / rate


@singledispatch
def op_to_nir(op: Op, in_shape: tuple[int, ...]):
    """The NIR node of ``op`` for input shape ``in_shape`` (no batch axis)."""
    raise InvalidNetwork(f"op {type(op).__name__} has no NIR mapping")


@op_to_nir.register
def _(op: Dense, in_shape: tuple[int, ...]):
    import nir

    if op.bias is None:
        return nir.Linear(weight=op.weight.copy())
    return nir.Affine(weight=op.weight.copy(), bias=op.bias.copy())


@op_to_nir.register
def _(op: Conv2d, in_shape: tuple[int, ...]):
    import nir

    bias = np.zeros(op.weight.shape[0]) if op.bias is None else op.bias.copy()
    return nir.Conv2d(input_shape=tuple(in_shape[1:]), weight=op.weight.copy(),
                      stride=op.stride, padding=op.padding, dilation=1, groups=1, bias=bias)


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
    raise InvalidNetwork("Scale ops (lava-dl netx input layers) have no NIR equivalent")


def _neuron_to_nir(neuron, shape: tuple[int, ...]):
    import nir

    ones = np.ones(shape)
    if isinstance(neuron, IF):
        node = nir.IF(r=ones, v_threshold=ones * neuron.threshold, v_reset=ones * 0.0)
        node.metadata["ldsnn"] = {"reset": "subtract", "v_init": neuron.initial_v}
        return node
    tau_syn, tau_mem = _inverse(neuron.current_decay), _inverse(neuron.voltage_decay)
    v_leak = 0.0 if neuron.bias == 0 else neuron.bias * tau_mem
    node = nir.CubaLIF(tau_syn=ones * tau_syn, tau_mem=ones * tau_mem, r=ones * tau_mem,
                       v_leak=ones * v_leak, v_threshold=ones * neuron.threshold,
                       v_reset=ones * 0.0, w_in=ones * tau_syn)
    node.metadata["ldsnn"] = {"cuba_lif": {"threshold": neuron.threshold,
                                           "current_decay": neuron.current_decay,
                                           "voltage_decay": neuron.voltage_decay,
                                           "bias": neuron.bias}}
    return node


def to_nir(network: Network, schedule: Schedule | None = None):
    """Export ``network`` as a ``nir.NIRGraph`` (see the module docstring for the mapping).

    Parameters
    ----------
    network : Network
    schedule : Schedule, optional
        If given, each stage's timesteps are stored in node metadata.

    Raises
    ------
    ValueError
        For ops without NIR equivalent (``Scale``), or ``rate`` input encoding.
    """
    import nir

    if network.input_encoding != "direct":
        raise InvalidNetwork("NIR export supports direct input encoding only")
    if schedule is not None:
        schedule.check(network)
    nodes = {"input": nir.Input(input_type={"input": np.array(network.input_shape)})}
    chain = ["input"]
    for index, stage in enumerate(network.stages):
        shape = network.input_shape_of(index)
        for position, op in enumerate(stage.ops):
            name = f"stage{index}_op{position}"
            nodes[name] = op_to_nir(op, shape)
            shape = op.output_shape(shape)
            chain.append(name)
        if stage.neuron is not None:
            name = f"stage{index}_neuron"
            nodes[name] = _neuron_to_nir(stage.neuron, tuple(shape))
            chain.append(name)
        if schedule is not None:
            nodes[chain[-1]].metadata.setdefault("ldsnn", {})["timesteps"] = \
                schedule.timesteps[index]
    nodes["output"] = nir.Output(output_type={"output": np.array(network.output_shape_of(
        network.num_stages - 1))})
    chain.append("output")
    graph = nir.NIRGraph(nodes=nodes, edges=list(zip(chain[:-1], chain[1:], strict=True)))
    graph.metadata["ldsnn"] = {"name": network.name or ""}
    return graph


def _read(graph_or_path):
    import nir

    if isinstance(graph_or_path, str | Path):
        return nir.read(check_readable(graph_or_path, "NIR file"))
    if not isinstance(graph_or_path, nir.NIRGraph):
        raise FileFormatError(f"expected a nir.NIRGraph or a path, got "
                              f"{type(graph_or_path).__name__}")
    return graph_or_path


@contextmanager
def _format_errors(graph_or_path):
    """Whatever reading a NIR graph raises (our checks, the ``nir`` package's own assertions,
    h5py on a damaged file) as a :class:`FileFormatError` naming the file or graph."""
    source = str(graph_or_path) if isinstance(graph_or_path, str | Path) else "NIR graph"
    try:
        yield
    except (FileFormatError, InvalidNetwork) as err:
        raise FileFormatError(f"{source}: {err}" if source not in str(err) else str(err)
                              ) from None
    except LDSNNError:  # FileAccessError and the like: already about the file
        raise
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError,
            RuntimeError, OSError) as err:
        raise FileFormatError(f"{source}: not a NIR graph this reader supports "
                              f"({type(err).__name__}: {err})") from None


def _chain(graph) -> list[str]:
    successors: dict[str, list[str]] = {}
    for source, target in graph.edges:
        successors.setdefault(source, []).append(target)
    starts = [n for n, node in graph.nodes.items() if type(node).__name__ == "Input"]
    if len(starts) != 1:
        raise ValueError(f"the NIR graph must have exactly one Input node, found {len(starts)}")
    chain = [starts[0]]
    while successors.get(chain[-1]):
        following = successors[chain[-1]]
        if len(following) != 1:
            raise ValueError(f"node {chain[-1]!r} branches to {following}: only chains are "
                             f"supported")
        if following[0] in chain:
            raise ValueError(f"the NIR graph has a cycle at {following[0]!r} (recurrence is "
                             f"not supported)")
        chain.append(following[0])
    if type(graph.nodes[chain[-1]]).__name__ != "Output":
        raise ValueError("the NIR chain must end in an Output node")
    if len(chain) != len(graph.nodes):
        raise ValueError("the NIR graph has nodes off its Input-to-Output chain")
    return chain


def _uniform(name: str, values, where: str) -> float:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(array == array[0]):
        raise ValueError(f"{where}: per-neuron {name} values differ; only uniform populations "
                         f"are supported")
    return float(array[0])


def _pair(value) -> tuple[int, int]:
    array = np.asarray(value).reshape(-1)
    return (int(array[0]),) * 2 if array.size == 1 else (int(array[0]), int(array[1]))


def _op_from_nir(node, where: str) -> Op:
    kind = type(node).__name__
    if kind == "Affine":
        return Dense(np.asarray(node.weight), np.asarray(node.bias).reshape(-1))
    if kind == "Linear":
        return Dense(np.asarray(node.weight))
    if kind == "Conv2d":
        if int(node.groups) != 1 or _pair(node.dilation) != (1, 1):
            raise ValueError(f"{where}: grouped or dilated convolutions are not supported")
        if isinstance(node.padding, str):
            raise ValueError(f"{where}: string padding {node.padding!r} is not supported")
        return Conv2d(np.asarray(node.weight), np.asarray(node.bias).reshape(-1),
                      stride=_pair(node.stride), padding=_pair(node.padding))
    if kind in ("AvgPool2d", "SumPool2d"):
        if _pair(node.padding) != (0, 0):
            raise ValueError(f"{where}: padded pooling is not supported")
        pool = SumPool2d if kind == "SumPool2d" else AvgPool2d
        return pool(_pair(node.kernel_size), _pair(node.stride))
    if kind == "Flatten":
        return Flatten()
    raise ValueError(f"{where}: NIR node type {kind} is not supported")


def _gain(ops: list[Op], gain: float, where: str) -> list[Op]:
    """Fold a neuron's input gain into the last weighted op before it."""
    if gain == 1.0:
        return ops
    for position in range(len(ops) - 1, -1, -1):
        op = ops[position]
        if isinstance(op, Dense | Conv2d):
            bias = None if op.bias is None else op.bias * gain
            scaled = (Dense(op.weight * gain, bias) if isinstance(op, Dense) else
                      Conv2d(op.weight * gain, bias, stride=op.stride, padding=op.padding))
            return [*ops[:position], scaled, *ops[position + 1:]]
    raise ValueError(f"{where}: an input gain of {gain} needs a weighted op before the neuron")


def _neuron_from_nir(node, where: str, strict: bool) -> tuple[IF | CubaLIF, float]:
    kind = type(node).__name__
    meta = (node.metadata or {}).get("ldsnn", {})
    if kind == "IF":
        if meta.get("reset") != "subtract" and strict:
            raise ValueError(f"{where}: NIR IF resets to v_reset, ldsnn IF resets by "
                             f"subtraction; pass strict=False to accept the approximation")
        gain = _uniform("r", node.r, where)
        return IF(_uniform("v_threshold", node.v_threshold, where), meta.get("v_init")), gain
    if kind == "CubaLIF":
        if "cuba_lif" in meta:
            return CubaLIF(**meta["cuba_lif"]), 1.0
        if _uniform("v_reset", node.v_reset, where) != 0:
            raise ValueError(f"{where}: CubaLIF with v_reset != 0 is not supported")
        tau_syn, tau_mem = (_uniform("tau_syn", node.tau_syn, where),
                            _uniform("tau_mem", node.tau_mem, where))
        gain = (_uniform("w_in", node.w_in, where) / tau_syn) * (_uniform("r", node.r, where)
                                                                 / tau_mem)
        return CubaLIF(threshold=_uniform("v_threshold", node.v_threshold, where),
                       current_decay=1.0 / tau_syn, voltage_decay=1.0 / tau_mem,
                       bias=_uniform("v_leak", node.v_leak, where) / tau_mem), gain
    raise ValueError(f"{where}: NIR node type {kind} is not supported")


def read_network(graph_or_path, strict: bool = True) -> Network:
    """Import a NIR graph (or a file written by ``nir.write``) as a :class:`Network`.

    Parameters
    ----------
    graph_or_path : nir.NIRGraph, str or Path
    strict : bool
        Refuse NIR semantics our models only approximate (IF reset to a value, LI readout).

    Raises
    ------
    FileAccessError
        If a path is missing, a folder or not a regular file.
    FileFormatError
        On a file that is not NIR, or unsupported nodes or structure (named in the message).
    """
    with _format_errors(graph_or_path):
        return _read_network(_read(graph_or_path), strict)


def _read_network(graph, strict: bool) -> Network:
    chain = _chain(graph)
    input_shape = tuple(int(d) for d in np.asarray(
        graph.nodes[chain[0]].input_type["input"]).reshape(-1))
    stages: list[Stage] = []
    ops: list[Op] = []
    for name in chain[1:-1]:
        node, where = graph.nodes[name], f"node {name!r}"
        kind = type(node).__name__
        if kind in ("IF", "CubaLIF"):
            if not ops:
                raise ValueError(f"{where}: a neuron needs a synaptic op before it")
            neuron, gain = _neuron_from_nir(node, where, strict)
            stages.append(Stage(_gain(ops, gain, where), neuron, name))
            ops = []
        elif kind == "LI":
            if strict:
                raise ValueError(f"{where}: an LI readout leaks, ldsnn's readout sums without "
                                 f"leak; pass strict=False to accept the approximation")
            if name != chain[-2]:
                raise ValueError(f"{where}: LI is supported only right before Output")
        else:
            ops.append(_op_from_nir(node, where))
    if not ops:
        raise ValueError("the NIR graph needs synaptic ops between its last neuron and Output "
                         "(the readout)")
    stages.append(Stage(ops, None, "readout"))
    name = (graph.metadata or {}).get("ldsnn", {}).get("name") or None
    return Network(input_shape, stages, name=name)


def timesteps_from_nir(graph_or_path) -> list[int] | None:
    """Per-stage timesteps stored by :func:`to_nir`, or None if the graph carries none.

    Raises
    ------
    FileFormatError
        If a stored value is not an int in ``[1, MAX_TIMESTEPS]``.
    """
    with _format_errors(graph_or_path):
        graph = _read(graph_or_path)
        steps = [node.metadata["ldsnn"]["timesteps"] for name in _chain(graph)
                 if "timesteps" in ((node := graph.nodes[name]).metadata or {}).get("ldsnn", {})]
        for step in steps:
            if not isinstance(step, int | np.integer) or isinstance(step, bool | np.bool_) \
                    or not 1 <= step <= MAX_TIMESTEPS:
                raise FileFormatError(f"stored timesteps must be ints in [1, {MAX_TIMESTEPS}], "
                                      f"got {step!r}")
        return [int(t) for t in steps] or None


def write_network(network: Network, path: str | Path, schedule: Schedule | None = None) -> None:
    """Write :func:`to_nir` of ``network`` to a NIR HDF5 file at ``path``, atomically."""
    import nir

    from ldsnn_lava._io import atomic_write

    graph = to_nir(network, schedule)
    atomic_write(path, lambda tmp: nir.write(tmp, graph))


def read_model(path: str | Path) -> Model:
    """A :class:`~ldsnn_lava.model.Model` from a NIR file; when the file carries per-stage
    timesteps (written with a schedule), the largest is taken as base T."""
    steps = timesteps_from_nir(path)
    return Model(Path(path).stem, read_network(path), max(steps) if steps else None)


register_format("nir", reader=read_network, writer=to_nir)
