"""A corpus of corrupted input files for the fuzz suite, generated from a seed.

Run it to see the corpus: ``python tests/ldsnn_fuzz_corpus.py OUT_DIR [--seed N]`` writes
every file into ``OUT_DIR`` and prints one line per file (kind, mutation, expected outcome).
The fuzz tests call :func:`write_corpus` into a temporary folder.

Valid base files are made with the library itself (a saved network, a netx export, a NIR
file, a schedule, an optimization result) plus lava-dl's own ``mnist.net``. Each is then
corrupted in ways a user's file can be: generic byte damage (bit flips, truncation, appended
or random bytes, an empty file, a folder or a FIFO where the file should be) and edits that
keep the container valid but break its content (deleted or retyped fields, unsupported
versions, out-of-range numbers, NaN/inf/complex values, layers numbered wrongly, ...).

Every file carries its oracle: ``error`` (a reader must refuse it with a named error),
``valid`` (a reader must accept it) or ``either`` (generic byte damage: a reader may refuse
it, or accept it if what it read is a sane object).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ldsnn_lava import IF, Conv2d, CubaLIF, Dense, Flatten, Network, Schedule, Stage, SumPool2d
from ldsnn_lava.formats.netx import write_network as export_netx
from ldsnn_lava.formats.nir import to_nir
from ldsnn_lava.optimize import optimize
from ldsnn_lava.zoo import lava_dl_mnist_path

KINDS = ("npz", "netx", "nir", "schedule", "result")


@dataclass(frozen=True)
class CorpusFile:
    """One file of the corpus: what it is, how it was damaged, what a reader must do."""

    path: Path
    kind: str
    mutation: str
    expect: str
    cli_expect: str | None = None
    """What the command line must do with it, where that differs (default: ``expect``)."""


# --- valid base files ------------------------------------------------------------------------


def base_network(seed: int = 0) -> Network:
    """A small conv IF network (direct input) exercising every op the npz format stores."""
    rng = np.random.default_rng(seed)
    return Network((1, 6, 6), [
        Stage([Conv2d(rng.normal(0, 0.5, (2, 1, 3, 3)), rng.normal(0, 0.1, 2), padding=1)],
              IF(1.0)),
        Stage([SumPool2d(2), Flatten(), Dense(rng.normal(0, 0.5, (5, 18)))], IF(1.0, 0.25)),
        Stage([Dense(rng.normal(0, 0.5, (3, 5)), rng.normal(0, 0.1, 3))], None),
    ], name="fuzz-base")


def base_fixed_network(seed: int = 0) -> Network:
    """A small integer CubaLIF network that exports to netx."""
    rng = np.random.default_rng(seed)
    return Network((8,), [
        Stage([Dense(rng.integers(-60, 60, (6, 8)).astype(float))],
              CubaLIF(threshold=64, current_decay=1.0, voltage_decay=512 / 4096)),
        Stage([Dense(rng.integers(-60, 60, (3, 6)).astype(float))], None),
    ], name="fuzz-fixed")


def base_result(path: Path, seed: int = 0) -> None:
    """An optimization result for a random 64-8-10 IF network (the shape of the zoo's
    ``mlp_digits``, so the CLI's ``report`` can use it with that model)."""
    rng = np.random.default_rng(seed)
    net = Network((64,), [Stage([Dense(rng.normal(0, 0.3, (8, 64)))], IF(1.0)),
                          Stage([Dense(rng.normal(0, 0.5, (8, 8)))], IF(1.0)),
                          Stage([Dense(rng.normal(0, 0.5, (10, 8)))], None)])
    x = rng.random((12, 64))
    y = rng.integers(0, 10, 12)
    optimize(net, base_T=4, val=(x, y), restarts=0).save(path)


# --- generic byte damage ---------------------------------------------------------------------


def _bytes_mutations(rng: np.random.Generator) -> list[tuple[str, Callable[[bytes], bytes]]]:
    def flip(count: int):
        def mutate(data: bytes) -> bytes:
            buffer = bytearray(data)
            for position in rng.integers(0, len(buffer), count):
                buffer[position] ^= 1 << int(rng.integers(0, 8))
            return bytes(buffer)
        return mutate

    def truncate(data: bytes) -> bytes:
        return data[: int(rng.integers(1, len(data)))]

    return [
        ("bit flip x1", flip(1)), ("bit flip x1", flip(1)), ("bit flip x1", flip(1)),
        ("bit flip x4", flip(4)), ("bit flip x32", flip(32)),
        ("truncated", truncate), ("truncated", truncate), ("truncated to half",
                                                             lambda d: d[: len(d) // 2]),
        ("empty", lambda d: b""),
        ("appended garbage", lambda d: d + rng.bytes(64)),
        ("random bytes", lambda d: rng.bytes(len(d))),
        ("text", lambda d: b"hello, not a model\n"),
        ("nul bytes", lambda d: bytes(len(d))),
    ]


def _generic(base: Path, kind: str, out: Path, rng: np.random.Generator) -> list[CorpusFile]:
    data = base.read_bytes()
    files = []
    for index, (mutation, mutate) in enumerate(_bytes_mutations(rng)):
        path = out / f"{kind}_bytes_{index}{base.suffix}"
        path.write_bytes(mutate(data))
        files.append(CorpusFile(path, kind, mutation, "either"))
    folder = out / f"{kind}_folder{base.suffix}"
    folder.mkdir()
    files.append(CorpusFile(folder, kind, "a folder", "error"))
    fifo = out / f"{kind}_fifo{base.suffix}"
    os.mkfifo(fifo)
    files.append(CorpusFile(fifo, kind, "a FIFO (reading it would block)", "error"))
    files.append(CorpusFile(out / f"{kind}_missing{base.suffix}", kind, "missing", "error"))
    return files


# --- npz: edited metadata and arrays ---------------------------------------------------------


def _npz_edits() -> list[tuple[str, str, Callable[[dict, dict], None]]]:
    """(mutation, expect, edit(meta, arrays))."""

    def op(meta, stage=0, index=0):
        return meta["stages"][stage]["ops"][index]

    def set_array(key, value):
        return lambda meta, arrays: arrays.__setitem__(key, value)

    return [
        ("unchanged", "valid", lambda m, a: None),
        ("version 99", "error", lambda m, a: m.__setitem__("version", 99)),
        ("version true", "error", lambda m, a: m.__setitem__("version", True)),
        ("version '1'", "error", lambda m, a: m.__setitem__("version", "1")),
        ("format wrong", "error", lambda m, a: m.__setitem__("format", "other")),
        ("no stages", "error", lambda m, a: m.pop("stages")),
        ("stages empty", "error", lambda m, a: m.__setitem__("stages", [])),
        ("stages a dict", "error", lambda m, a: m.__setitem__("stages", {"0": 1})),
        ("no input_shape", "error", lambda m, a: m.pop("input_shape")),
        ("input_shape negative", "error", lambda m, a: m.__setitem__("input_shape", [1, -6, 6])),
        ("input_shape strings", "error", lambda m, a: m.__setitem__("input_shape", ["a"])),
        ("input_shape float", "error", lambda m, a: m.__setitem__("input_shape", [1, 6.5, 6])),
        ("input_shape huge", "error",
         lambda m, a: m.__setitem__("input_shape", [1, 10**9, 10**9])),
        ("input_encoding bogus", "error", lambda m, a: m.__setitem__("input_encoding", "spiky")),
        ("no input_encoding", "error", lambda m, a: m.pop("input_encoding")),
        ("op type unknown", "error", lambda m, a: op(m).__setitem__("type", "Conv3d")),
        ("op without arrays list", "error", lambda m, a: op(m).pop("arrays")),
        ("op without fields", "error", lambda m, a: op(m).pop("fields")),
        ("op field unknown", "error", lambda m, a: op(m)["fields"].__setitem__("dilation", 2)),
        ("stride a string", "error", lambda m, a: op(m)["fields"].__setitem__("stride", "2")),
        ("stride empty", "error", lambda m, a: op(m)["fields"].__setitem__("stride", [])),
        ("stride zero", "error", lambda m, a: op(m)["fields"].__setitem__("stride", [0, 0])),
        ("padding huge", "error",
         lambda m, a: op(m)["fields"].__setitem__("padding", [10**9, 10**9])),
        ("array missing", "error", lambda m, a: a.pop("s0_o0_weight")),
        ("array names bogus", "error", lambda m, a: op(m).__setitem__("arrays", ["kernel"])),
        ("weight NaN", "error", set_array("s0_o0_weight", np.full((2, 1, 3, 3), np.nan))),
        ("weight inf", "error", set_array("s0_o0_weight", np.full((2, 1, 3, 3), np.inf))),
        ("weight complex", "error", set_array("s0_o0_weight", np.ones((2, 1, 3, 3)) * 1j)),
        ("weight strings", "error", set_array("s0_o0_weight", np.array(["a", "b"]))),
        ("weight wrong shape", "error", set_array("s0_o0_weight", np.ones((2, 3)))),
        ("weight empty", "error", set_array("s0_o0_weight", np.ones((0, 1, 3, 3)))),
        ("weight 0-d", "error", set_array("s0_o0_weight", np.array(1.0))),
        ("weight int", "valid", set_array("s0_o0_weight", np.ones((2, 1, 3, 3), dtype=int))),
        ("bias wrong length", "error", set_array("s0_o0_bias", np.ones(7))),
        ("neuron type unknown", "error",
         lambda m, a: m["stages"][0]["neuron"].__setitem__("type", "Izhikevich")),
        ("neuron params missing", "error",
         lambda m, a: m["stages"][0]["neuron"].__setitem__("params", {})),
        ("neuron params extra", "error",
         lambda m, a: m["stages"][0]["neuron"]["params"].__setitem__("tau", 3)),
        ("threshold negative", "error",
         lambda m, a: m["stages"][0]["neuron"]["params"].__setitem__("threshold", -1)),
        ("threshold string", "error",
         lambda m, a: m["stages"][0]["neuron"]["params"].__setitem__("threshold", "1")),
        ("threshold null", "error",
         lambda m, a: m["stages"][0]["neuron"]["params"].__setitem__("threshold", None)),
        ("readout gets a neuron", "error",
         lambda m, a: m["stages"][2].__setitem__("neuron", m["stages"][0]["neuron"])),
        ("spiking stage loses its neuron", "error",
         lambda m, a: m["stages"][0].__setitem__("neuron", None)),
        ("stage a list", "error", lambda m, a: m["stages"].__setitem__(0, [1, 2])),
        ("name a number", "error", lambda m, a: m.__setitem__("name", 5)),
    ]


def _write_npz(path: Path, meta: dict, arrays: dict, meta_text: str | None = None) -> None:
    text = json.dumps(meta) if meta_text is None else meta_text
    with open(path, "wb") as handle:
        np.savez(handle, __meta__=np.array(text), **arrays)


def _npz(base: Path, out: Path) -> list[CorpusFile]:
    with np.load(base) as data:
        arrays = {key: data[key] for key in data.files}
    meta_text = str(arrays.pop("__meta__"))
    files = []
    for index, (mutation, expect, edit) in enumerate(_npz_edits()):
        meta, copy = json.loads(meta_text), dict(arrays)
        edit(meta, copy)
        path = out / f"npz_edit_{index}.npz"
        _write_npz(path, meta, copy)
        files.append(CorpusFile(path, "npz", mutation, expect))
    raw = [("metadata not JSON", "{stages: ["), ("metadata a list", "[1, 2]"),
           ("metadata NaN", meta_text.replace("1.0", "NaN", 1) if "1.0" in meta_text
            else '{"format": NaN}')]
    for index, (mutation, text) in enumerate(raw):
        path = out / f"npz_raw_{index}.npz"
        _write_npz(path, {}, arrays, meta_text=text)
        files.append(CorpusFile(path, "npz", mutation, "error"))
    path = out / "npz_no_meta.npz"
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    files.append(CorpusFile(path, "npz", "no metadata", "error"))
    path = out / "npz_pickled.npz"
    with open(path, "wb") as handle:
        np.savez(handle, __meta__=np.array([{"a": 1}], dtype=object), **arrays)
    files.append(CorpusFile(path, "npz", "pickled object metadata", "error"))
    return files


# --- netx (HDF5): edited groups and datasets --------------------------------------------------


def _replace(group: h5py.Group, key: str, value) -> None:
    if key in group:
        del group[key]
    group[key] = value


def _renumber(handle: h5py.File, start: int) -> None:
    layers = handle["layer"]
    names = sorted(layers, key=int)
    for name in reversed(names):
        layers.move(name, f"tmp{name}")
    for offset, name in enumerate(names):
        layers.move(f"tmp{name}", str(start + offset))


def _netx_edits() -> list[tuple[str, str, Callable[[h5py.File], None]]]:
    """Edits of the small exported netx file (layers 0: input, 1: dense + CUBA, 2: readout)."""

    def layer(index: int) -> Callable[[h5py.File], h5py.Group]:
        return lambda handle: handle["layer"][str(index)]

    def edit(index: int, key: str, value):
        return lambda handle: _replace(layer(index)(handle), key, value)

    def drop(index: int, key: str):
        return lambda handle: layer(index)(handle).__delitem__(key)

    def neuron(key: str, value):
        return lambda handle: _replace(handle["layer"]["1"]["neuron"], key, value)

    return [
        ("unchanged", "valid", lambda h: None),
        ("layers numbered from 1", "error", lambda h: _renumber(h, 1)),
        ("layer 1 missing", "error", lambda h: h["layer"].__delitem__("1")),
        ("extra layer name", "error", lambda h: h["layer"].create_group("extra")),
        ("no layer group", "error", lambda h: h.__delitem__("layer")),
        ("layer group empty", "error",
         lambda h: [h["layer"].__delitem__(k) for k in list(h["layer"])]),
        ("layer a dataset", "error", lambda h: _replace(h["layer"], "1", np.ones(3))),
        ("type missing", "error", drop(1, "type")),
        ("type unknown", "error", edit(1, "type", np.array([b"lstm"]))),
        ("type a number", "error", edit(1, "type", np.array([3]))),
        ("type recurrent", "error", edit(1, "type", np.array([b"dense_rec"]))),
        ("weight missing", "error", drop(1, "weight")),
        ("weight NaN", "error", edit(1, "weight", np.full((6, 8), np.nan, dtype=np.float32))),
        ("weight fractional", "error", edit(1, "weight", np.full((6, 8), 0.5))),
        ("weight out of Loihi range", "error", edit(1, "weight", np.full((6, 8), 1000.0))),
        ("weight wrong shape", "error", edit(1, "weight", np.ones((6, 9)))),
        ("weight empty", "error", edit(1, "weight", np.ones((0, 8)))),
        ("weight strings", "error", edit(1, "weight", np.array([b"a", b"b"]))),
        ("weight complex", "error", edit(1, "weight", np.ones((6, 8)) * (1 + 1j))),
        ("shape missing", "error", drop(0, "shape")),
        ("input shape empty", "error", edit(0, "shape", np.array([], dtype=np.int64))),
        ("input shape zero", "error", edit(0, "shape", np.array([0]))),
        ("input shape negative", "error", edit(0, "shape", np.array([-8]))),
        ("input shape huge", "error", edit(0, "shape", np.array([10**12]))),
        ("input shape a string", "error", edit(0, "shape", np.array([b"8"]))),
        ("input shape float", "error", edit(0, "shape", np.array([8.5]))),
        ("neuron type unknown", "error", neuron("type", np.bytes_("SDNN"))),
        ("neuron vThMant missing", "error",
         lambda h: h["layer"]["1"]["neuron"].__delitem__("vThMant")),
        ("neuron vThMant NaN", "error", neuron("vThMant", np.float64(np.nan))),
        ("neuron vThMant a string", "error", neuron("vThMant", np.bytes_("x"))),
        ("neuron vThMant empty", "error", neuron("vThMant", np.array([], dtype=np.int64))),
        ("neuron vDecay negative", "error", neuron("vDecay", np.int64(-5))),
        ("neuron vDecay above 4096", "error", neuron("vDecay", np.int64(5000))),
        ("neuron iDecay empty", "error", neuron("iDecay", np.array([], dtype=np.int64))),
        ("neuron graded spikes", "error", neuron("gradedSpike", np.bool_(True))),
        ("neuron a dataset", "error", edit(1, "neuron", np.ones(2))),
        ("bias NaN", "error", edit(1, "bias", np.full(6, np.nan))),
        ("bias wrong length", "error", edit(1, "bias", np.ones(5) * 3)),
        ("readout bias", "error", edit(2, "bias", np.ones(3))),
        ("synaptic delays", "valid", edit(1, "delay", np.ones(6))),
        ("synaptic delays NaN", "error", edit(1, "delay", np.full(6, np.nan))),
        ("synaptic delays negative", "error", edit(1, "delay", -np.ones(6))),
        ("synaptic delays beyond Loihi's 62", "error", edit(1, "delay", np.full(6, 99.0))),
        ("readout gets a neuron", "error",
         lambda h: h.copy(h["layer"]["1"]["neuron"], h["layer"]["2"], "neuron")),
    ]


def _netx_conv_edits() -> list[tuple[str, str, Callable[[h5py.File], None]]]:
    """Edits of the conv layer of a netx file written by hand (layer 1: conv + CUBA)."""

    def edit(key: str, value):
        return lambda handle: _replace(handle["layer"]["1"], key, value)

    return [
        ("conv unchanged", "valid", lambda h: None),
        ("conv stride empty", "error", edit("stride", np.array([], dtype=np.int64))),
        ("conv padding empty", "error", edit("padding", np.array([], dtype=np.int64))),
        ("conv stride zero", "error", edit("stride", np.array([0, 0]))),
        ("conv stride negative", "error", edit("stride", np.array([-1, 1]))),
        ("conv stride three values", "error", edit("stride", np.array([1, 1, 1]))),
        ("conv padding negative", "error", edit("padding", np.array([-1, -1]))),
        ("conv padding huge", "error", edit("padding", np.array([10**8, 10**8]))),
        ("conv dilation empty", "error", edit("dilation", np.array([], dtype=np.int64))),
        ("conv groups 2", "error", edit("groups", np.int64(2))),
        ("conv groups missing", "error", lambda h: h["layer"]["1"].__delitem__("groups")),
        ("conv weight 2-D", "error", edit("weight", np.ones((2, 9)))),
        ("conv stored shape wrong", "error", edit("shape", np.array([2, 9, 9]))),
    ]


def write_conv_netx(path: Path, seed: int = 0) -> None:
    """A netx file with an input, a conv + CUBA layer, a flatten and a dense readout, written
    field by field as lava-dl's netx format stores them."""
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as handle:
        layers = handle.create_group("layer")
        layer = layers.create_group("0")
        layer["type"], layer["shape"] = np.array([b"input"]), np.array([1, 6, 6])
        layer = layers.create_group("1")
        layer["type"], layer["shape"] = np.array([b"conv"]), np.array([2, 6, 6])
        layer["weight"] = rng.integers(-50, 50, (2, 1, 3, 3, 1)).astype(np.float32)
        for key, value in (("stride", [1, 1]), ("padding", [1, 1]), ("dilation", [1, 1])):
            layer[key] = np.array(value)
        layer["groups"] = np.int64(1)
        neuron = layer.create_group("neuron")
        neuron["type"], neuron["vThMant"] = np.bytes_("CUBA"), np.int64(60)
        neuron["iDecay"], neuron["vDecay"] = np.int64(4096), np.int64(300)
        layer = layers.create_group("2")
        layer["type"], layer["shape"] = np.array([b"flatten"]), np.array([72])
        layer = layers.create_group("3")
        layer["type"], layer["shape"] = np.array([b"dense"]), np.array([3])
        layer["weight"] = rng.integers(-50, 50, (3, 72)).astype(np.float32)


def _netx(base: Path, conv: Path, out: Path) -> list[CorpusFile]:
    files = []
    for prefix, source, edits in (("netx_edit", base, _netx_edits()),
                                  ("netx_conv", conv, _netx_conv_edits())):
        for index, (mutation, expect, edit) in enumerate(edits):
            path = out / f"{prefix}_{index}.net"
            shutil.copy(source, path)
            with h5py.File(path, "r+") as handle:
                edit(handle)
            # the conv file has no input neurons: read as an events network, which
            # `ldsnn estimate` (making static inputs) refuses by name
            cli = "error" if prefix == "netx_conv" else None
            files.append(CorpusFile(path, "netx", mutation, expect, cli))
    # lava-dl's own network: its real layout, damaged
    mnist = out / "netx_mnist.net"
    shutil.copy(lava_dl_mnist_path(), mnist)
    files.append(CorpusFile(mnist, "netx", "lava-dl mnist.net unchanged", "valid"))
    for index, (mutation, edit) in enumerate((
            ("mnist: layers numbered from 1", lambda h: _renumber(h, 1)),
            ("mnist: input weight missing", None),
            ("mnist: tSample negative", lambda h: _replace(h["simulation"], "tSample",
                                                           np.int64(-16))))):
        path = out / f"netx_mnist_{index}.net"
        shutil.copy(lava_dl_mnist_path(), path)
        expect = "error"
        with h5py.File(path, "r+") as handle:
            if edit is None:
                del handle["layer"]["0"]["weight"]
                expect = "valid"  # lava-dl's default input weight (64) applies
            else:
                edit(handle)
        files.append(CorpusFile(path, "netx", mutation, expect))
    return files


# --- NIR ---------------------------------------------------------------------------------------


def _nir_edits() -> list[tuple[str, str, Callable]]:
    import nir

    def node(name: str, **changes):
        def mutate(graph):
            item = graph.nodes[name]
            for key, value in changes.items():
                setattr(item, key, value)
        return mutate

    return [
        ("unchanged", "valid", lambda g: None),
        ("weight NaN", "error", node("stage0_op0", weight=np.full((5, 4), np.nan))),
        ("weight complex", "error", node("stage0_op0", weight=np.ones((5, 4)) * 1j)),
        ("weight wrong shape", "error", node("stage0_op0", weight=np.ones((5, 7)))),
        ("bias wrong length", "error", node("stage0_op0", bias=np.ones(9))),
        ("threshold NaN", "error", node("stage0_neuron", v_threshold=np.full(5, np.nan))),
        ("threshold per-neuron", "error",
         node("stage0_neuron", v_threshold=np.arange(1.0, 6.0))),
        ("threshold zero", "error", node("stage0_neuron", v_threshold=np.zeros(5))),
        ("r empty", "error", node("stage0_neuron", r=np.array([]))),
        ("r zero (input ignored: degenerate, not malformed)", "either",
         node("stage0_neuron", r=np.zeros(5))),
        ("a cycle", "error", lambda g: g.edges.append(("stage1_op0", "stage0_op0"))),
        ("a branch", "error", lambda g: g.edges.append(("stage0_op0", "output"))),
        ("no input node", "error", lambda g: g.nodes.pop("input")),
        ("input shape negative", "error",
         lambda g: g.nodes.__setitem__("input", nir.Input(input_type={"input": np.array([-4])}))),
        ("input shape huge", "error",
         lambda g: g.nodes.__setitem__("input", nir.Input(
             input_type={"input": np.array([10**6, 10**6])}))),
        ("an LIF node", "error", lambda g: g.nodes.__setitem__("stage0_neuron", nir.LIF(
            tau=np.ones(5), r=np.ones(5), v_leak=np.zeros(5), v_threshold=np.ones(5)))),
        ("timesteps metadata negative", "error",
         lambda g: g.nodes["stage0_neuron"].metadata.__setitem__("ldsnn", {
             "reset": "subtract", "v_init": 0.5, "timesteps": -3})),
        ("timesteps metadata a string", "error",
         lambda g: g.nodes["stage0_neuron"].metadata.__setitem__("ldsnn", {
             "reset": "subtract", "v_init": 0.5, "timesteps": "x"})),
        ("v_init metadata a string", "error",
         lambda g: g.nodes["stage0_neuron"].metadata.__setitem__("ldsnn", {
             "reset": "subtract", "v_init": "half"})),
    ]


def base_nir_network(seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    return Network((4,), [Stage([Dense(rng.normal(0, 1, (5, 4)), rng.normal(0, 0.1, 5))],
                                IF(1.0)),
                          Stage([Dense(rng.normal(0, 1, (3, 5)))], None)], name="fuzz-nir")


def _nir(out: Path) -> tuple[Path, list[CorpusFile]]:
    import nir

    net = base_nir_network()
    schedule = Schedule([3, 2], "rate")
    base = out / "nir_base.nir"
    nir.write(base, to_nir(net, schedule))
    files = []
    for index, (mutation, expect, edit) in enumerate(_nir_edits()):
        graph = to_nir(net, schedule)
        edit(graph)
        path = out / f"nir_edit_{index}.nir"
        try:
            nir.write(path, graph)
        except Exception:  # noqa: BLE001  (nir refuses to write some edits: skip those)
            continue
        files.append(CorpusFile(path, "nir", mutation, expect))
    return base, files


# --- schedule and result JSON ------------------------------------------------------------------


def _json_edits(kind: str) -> list[tuple[str, str, Callable[[dict], object]]]:
    """(mutation, expect, edit(data) -> data) for a schedule (``kind="schedule"``) or an
    optimization result (``"result"``)."""

    def put(key, value):
        def mutate(data):
            data[key] = value
            return data
        return mutate

    def pop(key):
        def mutate(data):
            data.pop(key)
            return data
        return mutate

    common = [
        ("unchanged", "valid", lambda d: d),
        ("version 99", "error", put("version", 99)),
        ("version true", "error", put("version", True)),
        ("version 1.0", "error", put("version", 1.0)),
        ("version '1'", "error", put("version", "1")),
        ("version null", "error", put("version", None)),
        ("no version", "error", pop("version")),
        ("format wrong", "error", put("format", "ldsnn-other")),
        ("no format", "error", pop("format")),
        ("a list", "error", lambda d: [d]),
        ("a number", "error", lambda d: 3),
        ("null", "error", lambda d: None),
    ]
    if kind == "schedule":
        return common + [
            ("timesteps empty", "error", put("timesteps", [])),
            ("timesteps zero", "error", put("timesteps", [0, 2, 2])),
            ("timesteps negative", "error", put("timesteps", [-1, 2, 2])),
            ("timesteps float", "error", put("timesteps", [2.5, 2, 2])),
            ("timesteps integral float", "error", put("timesteps", [2.0, 2, 2])),
            ("timesteps bool", "error", put("timesteps", [True, 2, 2])),
            ("timesteps strings", "error", put("timesteps", ["2", "2", "2"])),
            ("timesteps a string", "error", put("timesteps", "222")),
            ("timesteps a dict", "error", put("timesteps", {"0": 2})),
            ("timesteps nested", "error", put("timesteps", [[2], 2, 2])),
            ("timesteps 10**9", "either", put("timesteps", [2, 3, 10**9])),
            ("timesteps 2**40", "either", put("timesteps", [2, 3, 2**40])),
            ("timesteps 10**400", "error", put("timesteps", [2, 3, 10**400])),
            ("buffers wrong length", "error", put("buffers", ["rate"])),
            ("buffers unknown", "error", put("buffers", ["rate", "fifo"])),
            ("buffers a number", "error", put("buffers", 3)),
            ("buffers null", "error", put("buffers", None)),
            ("replay with unequal T", "error", lambda d: {**d, "timesteps": [2, 3, 3],
                                                         "buffers": ["replay", "rate"]}),
            ("mode unknown", "error", put("mode", "parallel")),
            ("mode a list", "error", put("mode", ["sequential"])),
            ("no mode", "error", pop("mode")),
            ("no timesteps", "error", pop("timesteps")),
            ("extra field", "valid", put("comment", "hand-edited")),
        ]

    def point(key, field, value):
        def mutate(data):
            data[key][field] = value
            return data
        return mutate

    def per_stage(name, value):
        def mutate(data):
            data["chosen"]["per_stage"][name] = value
            return data
        return mutate

    return common + [
        ("no schedule", "error", pop("schedule")),
        ("schedule version 99", "error",
         lambda d: {**d, "schedule": {**d["schedule"], "version": 99}}),
        ("schedule differs from chosen point", "error",
         lambda d: {**d, "schedule": {**d["schedule"], "timesteps": [9, 9, 9],
                                      "buffers": ["replay", "replay"]}}),
        ("chosen accuracy NaN", "error", point("chosen", "accuracy", float("nan"))),
        ("chosen accuracy 1.5", "error", point("chosen", "accuracy", 1.5)),
        ("chosen accuracy a string", "error", point("chosen", "accuracy", "high")),
        ("chosen cost negative", "error", point("chosen", "cost", -1.0)),
        ("chosen cost inf", "error", point("chosen", "cost", float("inf"))),
        ("chosen kind unknown", "error", point("chosen", "kind", "magic")),
        ("chosen timesteps zero", "error", point("chosen", "timesteps", [0, 1, 1])),
        ("chosen without counters", "error",
         lambda d: (d["chosen"].pop("per_stage"), d)[1]),
        ("per-stage counter wrong length", "error", per_stage("synaptic_updates", [1.0])),
        ("per-stage counter NaN", "error", per_stage("synaptic_updates", [1.0, float("nan"), 1.0])),
        ("per-stage counter negative", "error", per_stage("neurons_evaluated", [-1.0, 2.0, 2.0])),
        ("per-stage counter a string", "error", per_stage("neurons_evaluated", "many")),
        ("counter unknown", "error", per_stage("spikes", [1.0, 2.0, 3.0])),
        ("front a dict", "error", put("front", {})),
        ("visited empty", "error", put("visited", [])),
        ("base_T zero", "error", put("base_T", 0)),
        ("base_T a string", "error", put("base_T", "4")),
        ("base_T float", "error", put("base_T", 4.5)),
        ("max_drop negative", "error", put("max_drop", -0.5)),
        ("max_drop a string", "error", put("max_drop", "1")),
        ("seconds negative", "error", put("seconds", -3.0)),
        ("history a string", "error", put("history", "none")),
        ("stage_runs wrong length", "error", put("stage_runs", [1, 2, 3, 4, 5])),
        ("cost name unknown", "error", lambda d: {**d, "cost": {"name": 3, "unit": None}}),
        ("no cost", "error", pop("cost")),
    ]


def _json(base: Path, kind: str, out: Path) -> list[CorpusFile]:
    text = base.read_text()
    files = []
    for index, (mutation, expect, edit) in enumerate(_json_edits(kind)):
        path = out / f"{kind}_edit_{index}.json"
        path.write_text(json.dumps(edit(json.loads(text))))
        files.append(CorpusFile(path, kind, mutation, expect))
    raw = [("not JSON", "{timesteps: [2]"), ("empty", ""), ("BOM and JSON", "\ufeff" + text),
           ("NaN literal", re.sub(r'"version": \d+', '"version": NaN', text)),
           ("deeply nested", "[" * 100000 + "]" * 100000),
           ("huge integer", re.sub(r'"version": (\d+)', r'"version": \g<1>' + "0" * 5000,
                                   text)),
           ("latin-1 bytes", None)]
    for index, (mutation, content) in enumerate(raw):
        path = out / f"{kind}_raw_{index}.json"
        if content is None:
            path.write_bytes(b'{"format": "\xe9"}')
        else:
            path.write_text(content, encoding="utf-8")
        files.append(CorpusFile(path, kind, mutation, "error"))
    return files


# --- the whole corpus --------------------------------------------------------------------------


def write_corpus(out: str | Path, seed: int = 0) -> list[CorpusFile]:
    """Write every corpus file into ``out`` (created; should be empty) and return them."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    bases = out / "bases"
    bases.mkdir()
    npz, netx, conv = bases / "network.npz", bases / "network.net", bases / "conv.net"
    schedule, result = bases / "schedule.json", bases / "result.json"
    base_network(seed).save(npz)
    fixed = base_fixed_network(seed)
    export_netx(fixed, Schedule([3, 2], "rate"), netx)
    write_conv_netx(conv, seed)
    Schedule([4, 2, 2], ["rate", "replay"]).save(schedule)
    base_result(result, seed)
    nir_base, files = _nir(out)
    files += _npz(npz, out) + _netx(netx, conv, out)
    files += _json(schedule, "schedule", out) + _json(result, "result", out)
    for kind, base in (("npz", npz), ("netx", netx), ("nir", nir_base),
                       ("schedule", schedule), ("result", result)):
        files += _generic(base, kind, out, rng)
    return files


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the corpus into")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for item in write_corpus(args.out, args.seed):
        print(f"{item.kind:9} {item.expect:7} {item.mutation:40} {item.path.name}")


if __name__ == "__main__":
    main()
