"""Our own network file format: one ``.npz`` holding every array plus a JSON description.

``write_network(net, path)`` stores each op's arrays under ``s{stage}_o{op}_{name}`` and a
``__meta__`` entry with the format name, version, input shape and encoding, and per stage its
ops (type, scalar fields, array names), neuron (type and parameters) and whether it has a
per-neuron delay array (stored as ``s{stage}_delay``). ``read_network(path)`` reads it back into
an identical network. :func:`write_model` also stores the model record
(:meth:`ldsnn_lava.model.Model.to_record`: base T, precision, input scaling) and optionally a
schedule in the metadata, and :func:`read_model` restores them. Writes are atomic.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from ldsnn_lava._io import atomic_write
from ldsnn_lava.errors import FileFormatError, InvalidNetwork
from ldsnn_lava.model import Model
from ldsnn_lava.network import Network, Stage, register_format
from ldsnn_lava.neurons import NEURON_TYPES
from ldsnn_lava.ops import OP_TYPES
from ldsnn_lava.schedule import Schedule

NETWORK_FORMAT = "ldsnn-network"
NETWORK_VERSION = 1
SUFFIXES = (".npz",)


def write_network(net: Network, path: str | Path, *, extra: dict | None = None) -> None:
    """Write ``net`` to an ``.npz`` file at ``path``, atomically.

    ``extra`` (JSON-serializable) is stored in the metadata beside the network: the model
    record and schedule of :func:`write_model`.
    """
    arrays, stages = {}, []
    for s, stage in enumerate(net.stages):
        ops = []
        for o, op in enumerate(stage.ops):
            fields = {f.name: getattr(op, f.name) for f in dataclasses.fields(op)
                      if not isinstance(getattr(op, f.name), np.ndarray)}
            for key, value in op.parameters().items():
                arrays[f"s{s}_o{o}_{key}"] = value
            ops.append({"type": type(op).__name__, "fields": fields,
                        "arrays": sorted(op.parameters())})
        neuron = None
        if stage.neuron is not None:
            neuron = {"type": type(stage.neuron).__name__,
                      "params": dataclasses.asdict(stage.neuron)}
        if stage.delay is not None:
            arrays[f"s{s}_delay"] = stage.delay
        stages.append({"name": stage.name, "ops": ops, "neuron": neuron,
                       "delay": stage.delay is not None})
    meta = {"format": NETWORK_FORMAT, "version": NETWORK_VERSION, "name": net.name,
            "input_shape": list(net.input_shape), "input_encoding": str(net.input_encoding),
            "stages": stages, **(extra or {})}

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, __meta__=np.array(json.dumps(meta)), **arrays)

    atomic_write(path, write)


def write_model(model: Model, path: str | Path, schedule: Schedule | None = None) -> None:
    """Write ``model``'s network with its model record (base T, precision, input scaling) and,
    if given, a schedule, so that :func:`read_model` gives the same model back."""
    extra: dict = {"model": model.to_record()}
    if schedule is not None:
        schedule.check(model.network)
        extra["schedule"] = schedule.to_dict()
    write_network(model.network, path, extra=extra)


def read_network(path: str | Path) -> Network:
    """Read a network written by :func:`write_network`.

    Raises
    ------
    FileFormatError
        If the file is not a readable ldsnn network file of a supported version.
    """
    return _read(path)[0]


def _read(path: str | Path) -> tuple[Network, dict]:
    """The network and the file's metadata."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as err:
        raise FileFormatError(f"{path}: not a readable ldsnn network file ({err})") from None
    try:
        meta = json.loads(str(arrays.pop("__meta__")))
    except (KeyError, json.JSONDecodeError):
        raise FileFormatError(f"{path}: not an ldsnn network file (no metadata)") from None
    if meta.get("format") != NETWORK_FORMAT or meta.get("version") != NETWORK_VERSION:
        raise FileFormatError(f"{path}: unsupported network format/version "
                              f"{meta.get('format')!r}/{meta.get('version')!r}")
    stages = []
    for s, spec in enumerate(meta["stages"]):
        ops = []
        for o, op in enumerate(spec["ops"]):
            if op["type"] not in OP_TYPES:
                raise FileFormatError(f"{path}: stage {s}: unknown op type {op['type']!r}")
            params = {key: arrays[f"s{s}_o{o}_{key}"] for key in op["arrays"]}
            fields = {k: tuple(v) if isinstance(v, list) else v for k, v in op["fields"].items()}
            ops.append(OP_TYPES[op["type"]](**fields, **params))
        neuron = None
        if spec["neuron"] is not None:
            neuron = NEURON_TYPES[spec["neuron"]["type"]](**spec["neuron"]["params"])
        delay = arrays[f"s{s}_delay"] if spec.get("delay") else None
        stages.append(Stage(ops, neuron, spec.get("name"), delay))
    try:
        net = Network(meta["input_shape"], stages, meta["input_encoding"], meta.get("name"))
    except InvalidNetwork as err:
        raise FileFormatError(f"{path}: {err}") from None
    return net, meta


def read_model(path: str | Path) -> Model:
    """A :class:`~ldsnn_lava.model.Model` from a network file (named after the file), with the
    base T, precision and input scaling :func:`write_model` stored; a stored schedule is kept in
    ``record["schedule"]``."""
    net, meta = _read(path)
    record = {}
    if "schedule" in meta:
        try:
            record["schedule"] = Schedule.from_dict(meta["schedule"])
        except ValueError as err:
            raise FileFormatError(f"{path}: unreadable stored schedule ({err})") from None
    return Model.from_record(Path(path).stem, net, meta.get("model", {}), str(path),
                             record=record)


register_format("npz", reader=read_network, writer=write_network)
