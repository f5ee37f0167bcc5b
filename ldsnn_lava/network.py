"""The network model: a feed-forward chain of stages (``docs/design.md``, semantics).

A :class:`Stage` is a sequence of linear ops (see :mod:`ldsnn_lava.ops`) followed by a neuron
population, or by nothing for the readout stage, which sums its input current over its window.
A :class:`Network` checks shapes, parameters and structure when it is built, so a malformed
network fails at construction with an error that names the stage.

Files and other tools: ``Network.load``/``save``, ``from_netx``, ``from_nir``/``to_nir`` and
``from_torch`` delegate to the format modules of :mod:`ldsnn_lava.formats`, which register their
readers and writers here (:func:`register_format`) when ``ldsnn_lava`` is imported. The network
model itself knows no file format, and no format module is imported by it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ldsnn_lava.errors import InvalidNetwork
from ldsnn_lava.neurons import NEURON_TYPES, Neuron
from ldsnn_lava.ops import Op, Shape
from ldsnn_lava.options import InputEncoding, parse_option
from ldsnn_lava.torch_ops import torch_op


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
    delay : array-like of int, optional
        Synaptic delay of each neuron's input, in steps (lava-dl netx's per-neuron ``delay``):
        the current neuron i receives at step t is what the ops produced at step t - d_i.
        Shaped like the stage's output or broadcastable to it (e.g. one value per channel,
        ``(C, 1, 1)``); integers >= 0. ``None``: no delay.
    """

    ops: tuple[Op, ...]
    neuron: Neuron | None = None
    name: str | None = None
    delay: np.ndarray | None = None

    def __post_init__(self):
        if isinstance(self.ops, Op) or not isinstance(self.ops, Sequence):
            raise InvalidNetwork(f"a stage's ops must be a list of ops, got {self.ops!r:.80}")
        if self.name is not None and not isinstance(self.name, str):
            raise InvalidNetwork(f"a stage's name must be a string, got {self.name!r}")
        object.__setattr__(self, "ops", tuple(self.ops))
        if self.delay is not None:
            object.__setattr__(self, "delay", _delay_array(self.delay, self.name))

    @property
    def is_readout(self) -> bool:
        return self.neuron is None


def _delay_array(delay, name: str | None) -> np.ndarray:
    """``delay`` as an int64 array, or an InvalidNetwork naming the stage."""
    where = f"stage {name!r}" if name else "stage"
    try:
        values = np.asarray(delay, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidNetwork(f"{where}: delay must be an array of ints, got {delay!r}") from None
    if values.size and (not np.isfinite(values).all() or (values < 0).any()
                        or (values != np.round(values)).any()):
        bad = values[~np.isfinite(values) | (values < 0) | (values != np.round(values))]
        raise InvalidNetwork(f"{where}: delays must be integers >= 0 (steps), got {bad[0]}")
    return values.astype(np.int64)


MAX_VALUES = 2**31 - 1
"""The most values (neurons, input elements) one stage may have per sample."""


def _shape(value) -> Shape:
    """An input shape: a sequence of ints (Python or numpy; not bools, floats or strings)."""
    items = value.tolist() if isinstance(value, np.ndarray) and value.ndim == 1 else value
    if isinstance(items, str) or not isinstance(items, Sequence) or not all(
            isinstance(d, int | np.integer) and not isinstance(d, bool | np.bool_)
            for d in items):
        raise InvalidNetwork(f"input_shape must be a sequence of ints, got {value!r}")
    return tuple(int(d) for d in items)


class Network:
    """A feed-forward LD-SNN: ``input_shape`` then ``stages``, the last one a readout.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one input sample, e.g. ``(784,)`` or ``(1, 28, 28)``.
    stages : sequence of Stage
        Spiking stages, then exactly one readout stage (``neuron=None``) at the end.
    input_encoding : InputEncoding or str
        ``"direct"``: the input is stage 0's input every step; ``"rate"``: x in [0, 1] is
        turned into spikes by the rate rule; ``"events"`` / ``"frames"``: the input is a
        sequence ``(S, *input_shape)`` of spike events / analog frames, one per input step
        (see ``docs/design.md``, temporal input).
    name : str, optional

    Raises
    ------
    InvalidNetwork
        On an empty network, a misplaced or missing readout, a stage without synaptic op,
        a wrong weight shape, or non-finite parameters; the message names the stage.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        stages: Sequence[Stage],
        input_encoding: InputEncoding | str = InputEncoding.DIRECT,
        name: str | None = None,
    ):
        self.input_shape: Shape = _shape(input_shape)
        if isinstance(stages, Stage) or not isinstance(stages, Sequence):
            raise InvalidNetwork(f"stages must be a list of Stage, got {stages!r:.80}")
        self.stages: tuple[Stage, ...] = tuple(stages)
        self.input_encoding = parse_option(InputEncoding, input_encoding, "input_encoding")
        if name is not None and not isinstance(name, str):
            raise InvalidNetwork(f"a network's name must be a string, got {name!r}")
        self.name = name
        if not self.input_shape or min(self.input_shape) < 1:
            raise InvalidNetwork(f"input_shape must be non-empty positive ints, got "
                                 f"{input_shape!r}")
        if np.prod(self.input_shape, dtype=np.float64) > MAX_VALUES:
            raise InvalidNetwork(f"input_shape {self.input_shape} has more than the "
                                 f"{MAX_VALUES} values per sample a network may take")
        if not self.stages:
            raise InvalidNetwork("a network needs at least one stage (the readout)")
        self._shapes = self._infer_shapes()

    def _infer_shapes(self) -> list[tuple[Shape, Shape]]:
        shapes, shape = [], self.input_shape
        last = len(self.stages) - 1
        for index, stage in enumerate(self.stages):
            if not isinstance(stage, Stage):
                raise InvalidNetwork(f"stage {index}: expected a Stage, got "
                                     f"{type(stage).__name__}")
            where = f"stage {index}" + (f" ({stage.name})" if stage.name else "")
            if stage.is_readout and index != last:
                raise InvalidNetwork(f"{where}: the readout (neuron=None) must be the last stage")
            if not stage.is_readout and index == last:
                raise InvalidNetwork(f"{where}: the last stage must be a readout (neuron=None)")
            if stage.neuron is not None and not isinstance(stage.neuron,
                                                            tuple(NEURON_TYPES.values())):
                raise InvalidNetwork(f"{where}: unknown neuron {stage.neuron!r}")
            if not any(isinstance(op, Op) and not op.is_reshape for op in stage.ops):
                raise InvalidNetwork(f"{where}: needs at least one synaptic op (Dense, Conv2d, "
                                     f"...)")
            in_shape = shape
            for op in stage.ops:
                if not isinstance(op, Op):
                    raise InvalidNetwork(f"{where}: expected an op, got {type(op).__name__}")
                try:
                    shape = op.output_shape(shape)
                except InvalidNetwork as err:
                    raise InvalidNetwork(f"{where}: {err}") from None
                if np.prod(shape, dtype=np.float64) > MAX_VALUES:
                    raise InvalidNetwork(f"{where}: {type(op).__name__} gives {shape}, more "
                                         f"than the {MAX_VALUES} values per sample a stage "
                                         f"may have")
            if stage.delay is not None:
                try:
                    np.broadcast_to(stage.delay, shape)
                except ValueError:
                    raise InvalidNetwork(f"{where}: delay of shape {stage.delay.shape} does not "
                                         f"fit the stage's output shape {shape}") from None
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
        return [math.prod(out) for _, out in self._shapes]

    @property
    def num_classes(self) -> int:
        return self.num_neurons[-1]

    @property
    def has_delays(self) -> bool:
        """Whether any stage delays its input (see :class:`Stage`)."""
        return any(stage.delay is not None and stage.delay.any() for stage in self.stages)

    def delays_of(self, stage: int) -> np.ndarray:
        """Stage ``stage``'s delay per neuron, int64 of its output shape (zeros if none)."""
        delay = self.stages[stage].delay
        shape = self.output_shape_of(stage)
        if delay is None:
            return np.zeros(shape, dtype=np.int64)
        return np.broadcast_to(delay, shape).copy()

    @cached_property
    def fan_outs(self) -> list[np.ndarray]:
        """Structural fan-out of each stage's input elements (shape = stage input shape)."""
        return [stage_fan_out(s.ops, self.input_shape_of(i)) for i, s in enumerate(self.stages)]

    def __repr__(self) -> str:
        parts = [f"input{self.input_shape}"]
        for index, stage in enumerate(self.stages):
            ops = "+".join(type(op).__name__ for op in stage.ops)
            neuron = type(stage.neuron).__name__ if stage.neuron else "readout"
            has_delay = stage.delay is not None and stage.delay.size
            delay = f" delay<={int(stage.delay.max())}" if has_delay else ""
            parts.append(f"{ops}->{neuron}{self.output_shape_of(index)}{delay}")
        return f"Network({' | '.join(parts)})"

    # --- files and other tools (delegated to ldsnn_lava.formats) ------------------------------

    def save(self, path: str | Path) -> None:
        """Write the network to an ``.npz`` file, atomically; see
        :func:`ldsnn_lava.formats.npz.write_network`."""
        _format("npz", "writer")(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Network:
        """Read a network written by :meth:`save`; see
        :func:`ldsnn_lava.formats.npz.read_network`."""
        return _format("npz", "reader")(path)

    @classmethod
    def from_netx(cls, path: str | Path, **options) -> Network:
        """Import a lava-dl netx HDF5 file; see :func:`ldsnn_lava.formats.netx.read_network`."""
        return _format("netx", "reader")(path, **options)

    @classmethod
    def from_torch(cls, model, calibration_x, **options) -> Network:
        """Convert a sequential torch ANN to an IF SNN; see
        :func:`ldsnn_lava.formats.torch_ann.from_torch`."""
        return _format("torch", "reader")(model, calibration_x, **options)

    @classmethod
    def from_nir(cls, graph_or_path, **options) -> Network:
        """Import a NIR graph or file; see :func:`ldsnn_lava.formats.nir.read_network`."""
        return _format("nir", "reader")(graph_or_path, **options)

    def to_nir(self, schedule=None, **options):
        """Export to a ``nir.NIRGraph``; see :func:`ldsnn_lava.formats.nir.to_nir`."""
        return _format("nir", "writer")(self, schedule, **options)


_FORMATS: dict[str, dict[str, Callable[..., Any]]] = {}


def register_format(name: str, *, reader: Callable[..., Any] | None = None,
                    writer: Callable[..., Any] | None = None) -> None:
    """Register a format's network reader and/or writer under ``name`` (the format modules of
    :mod:`ldsnn_lava.formats` call this when they are imported)."""
    entry = _FORMATS.setdefault(name, {})
    if reader is not None:
        entry["reader"] = reader
    if writer is not None:
        entry["writer"] = writer


def _format(name: str, role: str) -> Callable[..., Any]:
    try:
        return _FORMATS[name][role]
    except KeyError:
        raise RuntimeError(f"no {role} registered for format {name!r}; import ldsnn_lava (it "
                           f"imports ldsnn_lava.formats) before using it") from None


def stage_fan_out(ops: Sequence[Op], in_shape: Shape, chunk: int = 256) -> np.ndarray:
    """Structural fan-out of every input element of a stage's op chain.

    A single synaptic op (plus any reshapes) uses its closed form; a chain of several
    synaptic ops is measured exactly by pushing one-hot inputs through its structural twin.
    """
    synaptic = [op for op in ops if not op.is_reshape]
    if len(synaptic) == 1:
        return synaptic[0].fan_out(in_shape).reshape(in_shape)
    twins = [torch_op(op.structural_twin(), "cpu", torch.float64) for op in ops]
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
