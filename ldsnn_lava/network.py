"""The network model: a feed-forward chain of stages (DESIGN.md section 2).

A :class:`Stage` is a sequence of linear ops (see :mod:`ldsnn_lava.ops`) followed by a neuron
population, or by nothing for the readout stage, which sums its input current over its window.
A :class:`Network` checks shapes, parameters and structure when it is built, so a malformed
network fails at construction with an error that names the stage.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from ldsnn_lava._io import atomic_write
from ldsnn_lava.neurons import IF, NEURON_TYPES, CubaLIF, Neuron
from ldsnn_lava.ops import OP_TYPES, Conv2d, Dense, Op, Scale, Shape

NETWORK_FORMAT = "ldsnn-network"
NETWORK_VERSION = 1
ENCODINGS = ("direct", "rate")


@dataclass(frozen=True, eq=False)
class Stage:
    """One stage: linear ``ops`` then a ``neuron`` population (``None`` for the readout).

    Parameters
    ----------
    ops : sequence of Op
        Applied in order to the stage's input; at least one must carry synapses.
    neuron : IF, CubaLIF or None
        The population fed by the ops' output; ``None`` marks the readout stage.
    name : str, optional
        A label used in reports.
    """

    ops: tuple[Op, ...]
    neuron: Neuron | None = None
    name: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "ops", tuple(self.ops))

    @property
    def is_readout(self) -> bool:
        return self.neuron is None


class Network:
    """A feed-forward LD-SNN: ``input_shape`` then ``stages``, the last one a readout.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one input sample, e.g. ``(784,)`` or ``(1, 28, 28)``.
    stages : sequence of Stage
        Spiking stages, then exactly one readout stage (``neuron=None``) at the end.
    input_encoding : {"direct", "rate"}
        ``direct``: the input is stage 1's input every step; ``rate``: x in [0, 1] is
        turned into spikes by the rate rule.
    name : str, optional

    Raises
    ------
    ValueError
        On an empty network, a misplaced or missing readout, a stage without synaptic op,
        a wrong weight shape, or non-finite parameters; the message names the stage.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        stages: Sequence[Stage],
        input_encoding: str = "direct",
        name: str | None = None,
    ):
        self.input_shape: Shape = tuple(int(d) for d in input_shape)
        self.stages: tuple[Stage, ...] = tuple(stages)
        self.input_encoding = input_encoding
        self.name = name
        if input_encoding not in ENCODINGS:
            raise ValueError(f"input_encoding must be one of {ENCODINGS}, got {input_encoding!r}")
        if not self.input_shape or min(self.input_shape) < 1:
            raise ValueError(f"input_shape must be non-empty positive ints, got {input_shape!r}")
        if not self.stages:
            raise ValueError("a network needs at least one stage (the readout)")
        self._shapes = self._infer_shapes()

    def _infer_shapes(self) -> list[tuple[Shape, Shape]]:
        shapes, shape = [], self.input_shape
        last = len(self.stages) - 1
        for index, stage in enumerate(self.stages):
            where = f"stage {index}" + (f" ({stage.name})" if stage.name else "")
            if not isinstance(stage, Stage):
                raise ValueError(f"{where}: expected a Stage, got {type(stage).__name__}")
            if stage.is_readout and index != last:
                raise ValueError(f"{where}: the readout (neuron=None) must be the last stage")
            if not stage.is_readout and index == last:
                raise ValueError(f"{where}: the last stage must be a readout (neuron=None)")
            if stage.neuron is not None and not isinstance(stage.neuron, IF | CubaLIF):
                raise ValueError(f"{where}: unknown neuron {stage.neuron!r}")
            if not any(isinstance(op, Op) and not op.is_reshape for op in stage.ops):
                raise ValueError(f"{where}: needs at least one synaptic op (Dense, Conv2d, ...)")
            in_shape = shape
            for op in stage.ops:
                if not isinstance(op, Op):
                    raise ValueError(f"{where}: expected an op, got {type(op).__name__}")
                try:
                    shape = op.output_shape(shape)
                except ValueError as err:
                    raise ValueError(f"{where}: {err}") from None
            shapes.append((in_shape, shape))
        return shapes

    # --- structure ---------------------------------------------------------------------------

    @property
    def num_stages(self) -> int:
        return len(self.stages)

    def input_shape_of(self, stage: int) -> Shape:
        return self._shapes[stage][0]

    def output_shape_of(self, stage: int) -> Shape:
        return self._shapes[stage][1]

    @property
    def num_neurons(self) -> list[int]:
        """Neurons per stage (readout outputs included)."""
        return [int(np.prod(out)) for _, out in self._shapes]

    @property
    def num_classes(self) -> int:
        return self.num_neurons[-1]

    @cached_property
    def fan_outs(self) -> list[np.ndarray]:
        """Structural fan-out of each stage's input elements (shape = stage input shape)."""
        return [stage_fan_out(s.ops, self.input_shape_of(i)) for i, s in enumerate(self.stages)]

    def __repr__(self) -> str:
        parts = [f"input{self.input_shape}"]
        for index, stage in enumerate(self.stages):
            ops = "+".join(type(op).__name__ for op in stage.ops)
            neuron = type(stage.neuron).__name__ if stage.neuron else "readout"
            parts.append(f"{ops}->{neuron}{self.output_shape_of(index)}")
        return f"Network({' | '.join(parts)})"

    # --- saving ------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the network to an ``.npz`` file (atomically)."""
        arrays, stages = {}, []
        for s, stage in enumerate(self.stages):
            ops = []
            for o, op in enumerate(stage.ops):
                fields = {
                    f.name: getattr(op, f.name)
                    for f in dataclasses.fields(op)
                    if not isinstance(getattr(op, f.name), np.ndarray)
                }
                for key, value in op.parameters().items():
                    arrays[f"s{s}_o{o}_{key}"] = value
                ops.append({"type": type(op).__name__, "fields": fields,
                            "arrays": sorted(op.parameters())})
            neuron = None
            if stage.neuron is not None:
                neuron = {"type": type(stage.neuron).__name__,
                          "params": dataclasses.asdict(stage.neuron)}
            stages.append({"name": stage.name, "ops": ops, "neuron": neuron})
        meta = {"format": NETWORK_FORMAT, "version": NETWORK_VERSION, "name": self.name,
                "input_shape": list(self.input_shape), "input_encoding": self.input_encoding,
                "stages": stages}

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.savez(handle, __meta__=np.array(json.dumps(meta)), **arrays)

        atomic_write(path, write)

    @classmethod
    def load(cls, path: str | Path) -> Network:
        """Read a network written by :meth:`save`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError) as err:
            raise ValueError(f"{path}: not a readable ldsnn network file ({err})") from None
        try:
            meta = json.loads(str(arrays.pop("__meta__")))
        except (KeyError, json.JSONDecodeError):
            raise ValueError(f"{path}: not an ldsnn network file (no metadata)") from None
        if meta.get("format") != NETWORK_FORMAT or meta.get("version") != NETWORK_VERSION:
            raise ValueError(f"{path}: unsupported network format/version "
                             f"{meta.get('format')!r}/{meta.get('version')!r}")
        stages = []
        for s, spec in enumerate(meta["stages"]):
            ops = []
            for o, op in enumerate(spec["ops"]):
                if op["type"] not in OP_TYPES:
                    raise ValueError(f"{path}: stage {s}: unknown op type {op['type']!r}")
                params = {key: arrays[f"s{s}_o{o}_{key}"] for key in op["arrays"]}
                fields = {k: tuple(v) if isinstance(v, list) else v
                          for k, v in op["fields"].items()}
                ops.append(OP_TYPES[op["type"]](**fields, **params))
            neuron = None
            if spec["neuron"] is not None:
                neuron = NEURON_TYPES[spec["neuron"]["type"]](**spec["neuron"]["params"])
            stages.append(Stage(ops, neuron, spec.get("name")))
        return cls(meta["input_shape"], stages, meta["input_encoding"], meta.get("name"))

    # --- importers and exporters (see ldsnn_lava.importers) -----------------------------------

    @classmethod
    def from_netx(cls, path: str | Path) -> Network:
        """Import a lava-dl netx HDF5 file; see :func:`ldsnn_lava.importers.netx.from_netx`."""
        from ldsnn_lava.importers.netx import from_netx

        return from_netx(path)

    @classmethod
    def from_torch(cls, model, calibration_x, percentile: float = 99.9, **options) -> Network:
        """Convert a sequential torch ANN to an IF SNN; see
        :func:`ldsnn_lava.importers.torch_convert.from_torch`."""
        from ldsnn_lava.importers.torch_convert import from_torch

        return from_torch(model, calibration_x, percentile, **options)

    @classmethod
    def from_nir(cls, graph_or_path) -> Network:
        """Import a NIR graph or file; see :func:`ldsnn_lava.importers.nir_io.from_nir`."""
        from ldsnn_lava.importers.nir_io import from_nir

        return from_nir(graph_or_path)

    def to_nir(self):
        """Export to a ``nir.NIRGraph``; see :func:`ldsnn_lava.importers.nir_io.to_nir`."""
        from ldsnn_lava.importers.nir_io import to_nir

        return to_nir(self)


def _structural_twin(op: Op) -> Op:
    """The same connectivity with all weights one and no bias: outputs > 0 where reached."""
    if isinstance(op, Dense):
        return Dense(np.ones_like(op.weight))
    if isinstance(op, Conv2d):
        return Conv2d(np.ones_like(op.weight), stride=op.stride, padding=op.padding)
    if isinstance(op, Scale):
        return Scale()
    return op


def stage_fan_out(ops: Sequence[Op], in_shape: Shape, chunk: int = 256) -> np.ndarray:
    """Structural fan-out of every input element of a stage's op chain.

    A single synaptic op (plus any reshapes) uses its closed form; a chain of several
    synaptic ops is measured exactly by pushing one-hot inputs through its structural twin.
    """
    synaptic = [op for op in ops if not op.is_reshape]
    if len(synaptic) == 1:
        return synaptic[0].fan_out(in_shape).reshape(in_shape)
    twins = [_structural_twin(op).to_torch("cpu", torch.float64) for op in ops]
    size = int(np.prod(in_shape))
    fan_out = np.empty(size, dtype=np.int64)
    for start in range(0, size, chunk):
        stop = min(size, start + chunk)
        x = torch.zeros(stop - start, size, dtype=torch.float64)
        x[torch.arange(stop - start), torch.arange(start, stop)] = 1.0
        y = x.view(-1, *in_shape)
        for fn in twins:
            y = fn(y)
        fan_out[start:stop] = (y.flatten(1) > 0).sum(1).numpy()
    return fan_out.reshape(in_shape)
