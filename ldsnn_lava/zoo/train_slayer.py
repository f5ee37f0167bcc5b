"""Retrain the zoo's temporal network with lava-dl's SLAYER on CPU and export it as netx.

Usage::

    python -m ldsnn_lava.zoo.train_slayer            # about 5 minutes on 2 CPU cores

``slayer_vowels`` is the kind of network Lava users bring: trained by lava-dl's SLAYER (CUBA
neurons, 8-bit quantized weights, learned axonal delays), exported to a netx file, and evaluated
here in Loihi fixed point. It classifies the speaker of a Japanese vowel (``japanese_vowels``:
sequences of 232 steps x 24 event channels, 8 input steps per frame) with SLAYER blocks like
lava-dl's own NTIDIGITS network: ``Dense(24 -> 64, delay) -> Dense(64 -> 64, delay) ->
Dense(64 -> 72) -> Average(9)`` (8 output neurons per class).

The script trains with a fixed seed (Adam, SLAYER's ``SpikeRate`` loss, the train split), exports
``slayer_vowels.net`` (lava-dl's ``export_hdf5`` per block; the ``Average`` layer is written by
hand because lava-dl 0.6's ``Average.export_hdf5`` fails), then reads the file back with
:func:`ldsnn_lava.formats.netx.read_network` and records, in ``slayer_vowels.json``, the SLAYER
accuracy and our fixed-point engine's uniform-T accuracy on the validation and test splits for
T = 1..8 steps per chunk of 8 input steps (one frame). The base T is 8: the given SNN at the
input's own resolution. Both files are written next to this one, atomically.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import h5py
import numpy as np
import torch

from ldsnn_lava import datasets
from ldsnn_lava._io import atomic_write, atomic_write_text
from ldsnn_lava.errors import BackendUnavailable
from ldsnn_lava.formats.netx import read_network
from ldsnn_lava.optimize.uniform import uniform_sweep
from ldsnn_lava.options import Precision

MODELS_DIR = Path(__file__).parent / "models"
NAME = "slayer_vowels"
DATASET = "japanese_vowels"
CHUNK = datasets.VOWEL_STEPS_PER_FRAME
HIDDEN, PER_CLASS, CLASSES = 64, 8, 9
INITIAL_MAX_DELAY = 24
NEURON = {"threshold": 1.25, "current_decay": 0.25, "voltage_decay": 0.03, "tau_grad": 0.03,
          "scale_grad": 3, "requires_grad": False}
EPOCHS, BATCH, LEARNING_RATE, SEED = 30, 32, 0.003, 0


def _slayer():
    try:
        import lava.lib.dl.slayer as slayer
    except ImportError as err:
        raise BackendUnavailable(f"training {NAME} needs lava-dl ({err}); install it with: pip "
                                 f"install --no-deps --ignore-requires-python lava-dl==0.6.0"
                                 ) from None
    return slayer


def build_network(inputs: int) -> torch.nn.Module:
    """The SLAYER blocks; the two delayed layers' delays start uniform in [0, 24) steps."""
    slayer = _slayer()
    blocks = torch.nn.ModuleList([
        slayer.block.cuba.Dense(NEURON, inputs, HIDDEN, weight_norm=True, delay=True),
        slayer.block.cuba.Dense(NEURON, HIDDEN, HIDDEN, weight_norm=True, delay=True),
        slayer.block.cuba.Dense(NEURON, HIDDEN, PER_CLASS * CLASSES, weight_norm=True),
        slayer.block.cuba.Average(num_outputs=CLASSES),
    ])
    return torch.nn.Sequential(*blocks)


def _init_delays(net: torch.nn.Module, sample: torch.Tensor) -> None:
    with torch.no_grad():
        net(sample)  # SLAYER sizes each Delay module on its first input
        for block in list(net)[:2]:
            block.delay.delay.data = torch.rand_like(block.delay.delay) * INITIAL_MAX_DELAY
            block.delay.max_delay = 62


def slayer_accuracy(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """SLAYER's own prediction: the class whose average output fires most."""
    net.eval()
    with torch.no_grad():
        out = torch.cat([net(x[i:i + 64]) for i in range(0, len(x), 64)])
    net.train()
    return float((out.sum(-1).argmax(1) == y).float().mean())


def train(data: datasets.Dataset, log=print) -> tuple[torch.nn.Module, dict]:
    slayer = _slayer()
    torch.manual_seed(SEED)
    x = torch.as_tensor(data.x_train, dtype=torch.float32).permute(0, 2, 1)  # (N, C, T)
    y = torch.as_tensor(data.y_train)
    x_val = torch.as_tensor(data.x_val, dtype=torch.float32).permute(0, 2, 1)
    y_val = torch.as_tensor(data.y_val)
    net = build_network(x.shape[1])
    _init_delays(net, x[:2])
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    loss_fn = slayer.loss.SpikeRate(true_rate=0.2, false_rate=0.03, reduction="sum")
    generator = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        start, total = time.perf_counter(), 0.0
        for batch in torch.randperm(len(x), generator=generator).split(BATCH):
            loss = loss_fn(net(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        log(f"epoch {epoch + 1}/{EPOCHS}: loss {total:.2f}, validation accuracy "
            f"{slayer_accuracy(net, x_val, y_val):.3f} ({time.perf_counter() - start:.1f} s)")
    x_test = torch.as_tensor(data.x_test, dtype=torch.float32).permute(0, 2, 1)
    accuracy = {"validation": slayer_accuracy(net, x_val, y_val),
                "test": slayer_accuracy(net, x_test, torch.as_tensor(data.y_test))}
    return net, accuracy


def export(net: torch.nn.Module, inputs: int, steps: int, path: Path) -> None:
    """The netx file: an input layer without neurons (spikes go straight in), lava-dl's export
    of the three dense blocks, and the average layer."""
    blocks = list(net)

    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w") as handle:
            layers = handle.create_group("layer")
            first = layers.create_group("0")
            first.create_dataset("type", (1,), "S10", [b"input"])
            first.create_dataset("shape", data=np.array([inputs]))
            for index, block in enumerate(blocks[:-1], start=1):
                block.export_hdf5(layers.create_group(str(index)))
            average = layers.create_group(str(len(blocks)))
            average.create_dataset("type", (1,), "S10", [b"average"])
            average.create_dataset("shape", data=np.array([CLASSES, 1, 1]))
            simulation = handle.create_group("simulation")
            simulation["Ts"] = 1
            simulation["tSample"] = steps

    atomic_write(path, write)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help="output folder")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    data = datasets.load(DATASET)
    steps, inputs = data.x_train.shape[1:]
    net, slayer_acc = train(data)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{NAME}.net"
    export(net, inputs, steps, path)
    network = read_network(path)
    curves = {}
    for split in ("validation", "test"):
        x, y = data.split(split)
        curves[split] = uniform_sweep(network, x, y, max_T=CHUNK, chunk=CHUNK,
                                      precision=Precision.FIXED)
        curves[split] = [point.accuracy for point in curves[split]]
    record = {
        "name": NAME,
        "description": (f"lava-dl SLAYER CUBA network {inputs}-{HIDDEN}(delay)-{HIDDEN}(delay)-"
                        f"{PER_CLASS * CLASSES}-average({CLASSES}) on {DATASET}, netx, fixed "
                        f"point"),
        "dataset": DATASET,
        "split_seed": 0,
        "input_encoding": str(network.input_encoding),
        "chunk": CHUNK,
        "base_T": CHUNK,
        "base_T_rule": "the input's resolution: 8 steps per chunk of 8 input steps (one frame)",
        "slayer_accuracy": slayer_acc,
        "uniform_accuracy": {"T": list(range(1, CHUNK + 1)),
                             **curves},
        "test_accuracy_at_base_T": curves["test"][-1],
        "training": {"epochs": EPOCHS, "batch": BATCH, "learning_rate": LEARNING_RATE,
                     "seed": SEED, "neuron": NEURON, "initial_max_delay": INITIAL_MAX_DELAY},
    }
    atomic_write_text(args.out / f"{NAME}.json", json.dumps(record, indent=1) + "\n")
    print(f"wrote {path} and {NAME}.json: test accuracy {record['test_accuracy_at_base_T']:.3f} "
          f"at T = {CHUNK} (SLAYER {slayer_acc['test']:.3f})")


if __name__ == "__main__":
    main()
