"""Retrain the zoo's networks reproducibly on CPU: torch ANN -> converted SNN -> accuracy curves.

Usage::

    python -m ldsnn_lava.zoo.train                    # all four models
    python -m ldsnn_lava.zoo.train --model mlp_digits # one of them

For each model this trains the ANN below with a fixed seed (Adam, cross-entropy, the data set's
train split), converts it with :func:`ldsnn_lava.formats.torch_ann.from_torch` (calibrated
on the train split, 99.9th percentile), records the uniform-T accuracy on the validation and test
splits for T = 1..64, and writes ``<name>.npz`` (the network) and ``<name>.json`` (the curves,
the ANN's accuracy and the base T) next to this file, atomically.

Base T: the smallest T whose *validation* accuracy is within 1 point of the validation accuracy
at T = 64 (the longest window recorded), so the base T is chosen without looking at the test
split; that is the "given SNN" an optimizer starts from.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ldsnn_lava import datasets
from ldsnn_lava._io import atomic_write_text
from ldsnn_lava.formats.torch_ann import from_torch
from ldsnn_lava.optimize.uniform import uniform_sweep

MODELS_DIR = Path(__file__).parent / "models"
MAX_T = 64
BASE_T_TOLERANCE = 0.01
PERCENTILE = 99.9
SEED = 0


def lenet() -> nn.Module:
    """LeNet-5 style: two 5x5 convs with average pooling, three dense layers."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(16 * 4 * 4, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def vgg() -> nn.Module:
    """VGG style: two blocks of two 3x3 convs (batch norm) with average pooling, two dense."""
    def block(c_in: int, c_out: int) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
    return nn.Sequential(
        *block(1, 16), *block(16, 16), nn.AvgPool2d(2),
        *block(16, 32), *block(32, 32), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10),
    )


def vgg11() -> nn.Module:
    """VGG-11 style, ten spiking stages: eight 3x3 convs (batch norm; average pooling after the
    1st, 2nd and 4th) and two dense layers, with small channel counts (8-64) so that it trains
    on a CPU in minutes."""
    def conv(c_in: int, c_out: int) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
    return nn.Sequential(
        *conv(1, 8), nn.AvgPool2d(2), *conv(8, 16), nn.AvgPool2d(2),
        *conv(16, 32), *conv(32, 32), nn.AvgPool2d(2),
        *conv(32, 48), *conv(48, 48), *conv(48, 48), *conv(48, 48),
        nn.Flatten(), nn.Linear(48 * 3 * 3, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def mlp() -> nn.Module:
    """A 64-128-64-10 multilayer perceptron."""
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(),
                         nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


@dataclass(frozen=True)
class Recipe:
    """How one zoo model is trained."""

    dataset: str
    build: Callable[[], nn.Module]
    epochs: int
    lr: float
    batch_size: int
    description: str


RECIPES: dict[str, Recipe] = {
    "lenet_mnist5k": Recipe("mnist5k", lenet, 15, 2e-3, 64,
                            "LeNet-5 style conv SNN on MNIST-5k (5 stages)"),
    "vgg_animal_mnist": Recipe("animal_mnist", vgg, 10, 2e-3, 64,
                               "VGG style conv SNN with folded batch norm on Animal-MNIST "
                               "(6 stages)"),
    "vgg11_animal_mnist": Recipe("animal_mnist", vgg11, 8, 2e-3, 64,
                                 "VGG-11 style conv SNN with folded batch norm on Animal-MNIST "
                                 "(10 spiking stages)"),
    "mlp_digits": Recipe("digits", mlp, 60, 2e-3, 32,
                         "64-128-64-10 MLP SNN on scikit-learn digits (3 stages)"),
}


def train_ann(recipe: Recipe, data: datasets.Dataset, seed: int = SEED) -> nn.Module:
    """Train the recipe's ANN on the train split with a fixed seed; returns it in eval mode."""
    torch.manual_seed(seed)
    model = recipe.build()
    x, y = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, recipe.epochs)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(recipe.epochs):
        order = torch.randperm(len(x), generator=generator)
        for begin in range(0, len(x), recipe.batch_size):
            batch = order[begin:begin + recipe.batch_size]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
        schedule.step()
    return model.eval()


def ann_accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        return float((model(torch.as_tensor(x)).argmax(1).numpy() == y).mean())


def choose_base_t(validation_curve: np.ndarray, tolerance: float = BASE_T_TOLERANCE) -> int:
    """The smallest T whose accuracy is within ``tolerance`` of the accuracy at the last T."""
    target = validation_curve[-1] - tolerance
    return int(np.flatnonzero(validation_curve >= target - 1e-12)[0]) + 1


def build(name: str, out_dir: Path = MODELS_DIR) -> dict:
    """Train, convert and measure one zoo model; write its files; return its JSON record."""
    recipe = RECIPES[name]
    start = time.perf_counter()
    data = datasets.load(recipe.dataset)
    torch.set_num_threads(1)
    model = train_ann(recipe, data)
    trained = time.perf_counter()
    net = from_torch(model, data.x_train, PERCENTILE, name=name)
    val, test = [np.array([p.accuracy for p in uniform_sweep(net, x, y, MAX_T)])
                 for x, y in ((data.x_val, data.y_val), (data.x_test, data.y_test))]
    base_t = choose_base_t(val)
    record = {
        "name": name,
        "description": recipe.description,
        "dataset": recipe.dataset,
        "split_seed": 0,
        "input_encoding": net.input_encoding,
        "preprocessing": "none: the data set's float32 images in [0, 1]",
        "base_T": base_t,
        "base_T_rule": f"smallest T with validation accuracy within {BASE_T_TOLERANCE * 100:g} "
                       f"point of T={MAX_T}",
        "test_accuracy_at_base_T": float(test[base_t - 1]),
        "ann_accuracy": {"validation": ann_accuracy(model, data.x_val, data.y_val),
                         "test": ann_accuracy(model, data.x_test, data.y_test)},
        "uniform_accuracy": {"T": list(range(1, MAX_T + 1)),
                             "validation": [float(a) for a in val],
                             "test": [float(a) for a in test]},
        "training": {"seed": SEED, "epochs": recipe.epochs, "lr": recipe.lr,
                     "batch_size": recipe.batch_size, "optimizer": "Adam, cosine schedule",
                     "conversion_percentile": PERCENTILE,
                     "train_seconds": round(trained - start, 1),
                     "total_seconds": round(time.perf_counter() - start, 1),
                     "torch": torch.__version__},
        "command": f"python -m ldsnn_lava.zoo.train --model {name}",
    }
    net.save(out_dir / f"{name}.npz")
    atomic_write_text(out_dir / f"{name}.json", json.dumps(record, indent=1) + "\n")
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(RECIPES), action="append",
                        help="model to (re)build; repeat for several; default: all")
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help="output folder")
    args = parser.parse_args(argv)
    for name in args.model or list(RECIPES):
        record = build(name, args.out)
        print(f"{name}: ANN test {record['ann_accuracy']['test']:.4f}, SNN test "
              f"{record['test_accuracy_at_base_T']:.4f} at base T={record['base_T']}, "
              f"{record['training']['total_seconds']} s")


if __name__ == "__main__":
    main()
