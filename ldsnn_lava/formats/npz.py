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
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ldsnn_lava._io import atomic_write, check_readable
from ldsnn_lava.errors import FileFormatError, InvalidNetwork
from ldsnn_lava.model import Model
from ldsnn_lava.network import Network, Stage, register_format
from ldsnn_lava.neurons import NEURON_TYPES
from ldsnn_lava.ops import OP_TYPES, Op
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
    FileAccessError
        If the path is missing, a folder or not a regular file.
    FileFormatError
        If the file is not a readable ldsnn network file of a supported version; the message
        names the file and the field (stage, op, array).
    """
    return _read(path)[0]


def _read(path: str | Path) -> tuple[Network, dict]:
    """The network and the file's metadata (checked as :func:`read_network` says)."""
    path = check_readable(path, "network file")
    arrays = _read_archive(path)
    if "__meta__" not in arrays:
        raise FileFormatError(f"{path}: not an ldsnn network file (no metadata)")
    meta_array = arrays.pop("__meta__")
    if meta_array.shape != () or meta_array.dtype.kind != "U":
        raise FileFormatError(f"{path}: not an ldsnn network file (metadata is not text)")
    try:
        meta = json.loads(str(meta_array))
    except (ValueError, RecursionError) as err:
        raise FileFormatError(f"{path}: metadata is not valid JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != NETWORK_FORMAT:
        raise FileFormatError(f"{path}: not an ldsnn network file (format "
                              f"{meta.get('format') if isinstance(meta, dict) else meta!r:.40})")
    version = meta.get("version")
    if type(version) is not int or version != NETWORK_VERSION:
        raise FileFormatError(f"{path}: unsupported network version {version!r} (this "
                              f"ldsnn-lava reads version {NETWORK_VERSION})")
    try:
        stages = [_stage(spec, s, arrays) for s, spec in
                  enumerate(_field(meta, "stages", list, "the network"))]
        name = _field(meta, "name", (str, type(None)), "the network", required=False)
        net = Network(_field(meta, "input_shape", list, "the network"), stages,
                      _field(meta, "input_encoding", str, "the network"), name)
    except (InvalidNetwork, FileFormatError) as err:
        raise FileFormatError(f"{path}: {err}") from None
    return net, meta


def _read_archive(path: Path) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` archive (no pickled objects)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if not hasattr(data, "files"):
                raise FileFormatError(f"{path}: a single .npy array, not an .npz archive")
            return {key: data[key] for key in data.files}
    except FileFormatError:
        raise
    except (OSError, ValueError, EOFError, KeyError, RuntimeError, zipfile.BadZipFile,
            zlib.error, struct.error) as err:  # what numpy and zipfile raise on damaged data
        raise FileFormatError(f"{path}: not a readable ldsnn network file "
                              f"({type(err).__name__}: {err})") from None


def _field(record: dict, key: str, kind, where: str, required: bool = True):
    """``record[key]`` if it is a ``kind``; FileFormatError naming ``where`` and ``key``."""
    if not isinstance(record, dict):
        raise FileFormatError(f"{where}: expected an object, got {record!r:.40}")
    if key not in record:
        if required:
            raise FileFormatError(f"{where}: missing field {key!r}")
        return None
    value = record[key]
    if not isinstance(value, kind) or isinstance(value, bool) and bool not in (
            kind if isinstance(kind, tuple) else (kind,)):
        raise FileFormatError(f"{where}: field {key!r} has the wrong type "
                              f"({type(value).__name__}: {value!r:.40})")
    return value


def _stage(spec, s: int, arrays: dict[str, np.ndarray]) -> Stage:
    where = f"stage {s}"
    ops = [_op(op, f"{where} op {o}", f"s{s}_o{o}_", arrays)
           for o, op in enumerate(_field(spec, "ops", list, where))]
    neuron = _field(spec, "neuron", (dict, type(None)), where)
    if neuron is not None:
        kind = _field(neuron, "type", str, f"{where} neuron")
        if kind not in NEURON_TYPES:
            raise FileFormatError(f"{where}: unknown neuron type {kind!r} (known: "
                                  f"{', '.join(NEURON_TYPES)})")
        neuron = _construct(NEURON_TYPES[kind], _field(neuron, "params", dict,
                                                        f"{where} neuron"), {}, where)
    name = _field(spec, "name", (str, type(None)), where, required=False)
    delay = None
    if _field(spec, "delay", bool, where, required=False):
        if f"s{s}_delay" not in arrays:
            raise FileFormatError(f"{where}: array 'delay' is not in the file")
        delay = arrays[f"s{s}_delay"]
    return Stage(ops, neuron, name, delay)


def _op(spec, where: str, prefix: str, arrays: dict[str, np.ndarray]) -> Op:
    kind = _field(spec, "type", str, where)
    if kind not in OP_TYPES:
        raise FileFormatError(f"{where}: unknown op type {kind!r} (known: "
                              f"{', '.join(OP_TYPES)})")
    fields = {k: tuple(v) if isinstance(v, list) else v
              for k, v in _field(spec, "fields", dict, where).items()}
    params = {}
    for name in _field(spec, "arrays", list, where):
        if not isinstance(name, str) or prefix + name not in arrays:
            raise FileFormatError(f"{where}: array {name!r} is not in the file")
        params[name] = arrays[prefix + name]
    return _construct(OP_TYPES[kind], fields, params, where)


_ADDED_LATER = {("CubaLIF", "refractory"), ("CubaLIF", "reset"), ("CubaLIF", "v_reset"),
                ("CubaLIF", "compare"), ("CubaLIF", "v_init"), ("IF", "reset"), ("IF", "v_reset"),
                ("IF", "compare")}
"""Fields added after files were written without them; their defaults are what such files
meant (no refractory period, the default reset, comparison and initial potential). Every
other field the writer stores is required."""


def _construct(cls, fields: dict, params: dict, where: str):
    """``cls(**fields, **params)`` with its field names checked first: exactly the fields
    :func:`write_network` stores (all of them, so that a missing one is not silently
    replaced by its default)."""
    known = {f.name for f in dataclasses.fields(cls)}
    given = set(fields) | set(params)
    optional = {name for kind, name in _ADDED_LATER if kind == cls.__name__}
    if not known - optional <= given <= known or set(fields) & set(params):
        raise FileFormatError(f"{where}: {cls.__name__} takes {sorted(known)}, the file gives "
                              f"{sorted(given)}")
    try:
        return cls(**fields, **params)
    except InvalidNetwork as err:
        raise FileFormatError(f"{where}: {err}") from None


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
