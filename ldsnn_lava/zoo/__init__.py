"""The model zoo: small trained SNNs shipped with the project, loaded offline.

``names()`` lists them; ``load(name)`` returns a :class:`ZooModel`: the network plus what a user
needs to run it right (data set name, preprocessing, base T, input encoding, recorded curves).

Trained here (by ``python -m ldsnn_lava.zoo.train``, see :mod:`ldsnn_lava.zoo.train`), each a
torch ANN converted to an IF SNN, stored as ``models/<name>.npz`` (:meth:`Network.save` format)
with ``models/<name>.json`` (uniform-T accuracy on the validation and test splits, T = 1..64,
the ANN's accuracy, the base T and how it was chosen):

- ``lenet_mnist5k``: LeNet-5 style conv SNN on ``mnist5k``;
- ``vgg_animal_mnist``: VGG style conv SNN (batch norm folded) on ``animal_mnist``;
- ``mlp_digits``: MLP SNN on ``digits``.

Wrapped from lava-dl:

- ``lava_dl_mnist``: lava-dl's ``mnist.net`` (netx HDF5, shipped in the lava-dl wheel), imported
  by :func:`ldsnn_lava.importers.netx.from_netx`; its inputs are images scaled to [-1, 1].
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ldsnn_lava.network import Network

MODELS_DIR = Path(__file__).parent / "models"
TRAINED = ("lenet_mnist5k", "vgg_animal_mnist", "mlp_digits")
LAVA_DL_MNIST = "lava_dl_mnist"
LAVA_DL_MNIST_BASE_T = 16


def unit_range(x: np.ndarray) -> np.ndarray:
    """Preprocessing of the trained models: the data sets' images in [0, 1], unchanged."""
    return np.asarray(x, dtype=np.float32)


def signed_unit_range(x: np.ndarray) -> np.ndarray:
    """lava-dl's MNIST normalisation: images in [0, 1] mapped to [-1, 1] as ``2 x - 1``,
    flattened to (N, 784)."""
    x = np.asarray(x, dtype=np.float32)
    return (2.0 * x - 1.0).reshape(len(x), -1)


@dataclass(frozen=True)
class ZooModel:
    """A zoo network with its metadata.

    Attributes
    ----------
    name : str
    network : Network
    dataset : str
        Name in :mod:`ldsnn_lava.datasets`.
    preprocess : callable
        Maps the data set's images (N, 1, H, W) in [0, 1] to the network's input.
    base_T : int
        The uniform T of the given SNN (see the JSON record's ``base_T_rule``).
    input_encoding : str
    precision : str
        The engine precision the model is meant for (``fixed`` for the Loihi network).
    record : dict
        The JSON record written by the training script (empty for ``lava_dl_mnist``).
    """

    name: str
    network: Network
    dataset: str
    preprocess: Callable[[np.ndarray], np.ndarray]
    base_T: int
    input_encoding: str
    precision: str = "float"
    record: dict = field(default_factory=dict)


def names() -> list[str]:
    """All zoo model names."""
    return [*TRAINED, LAVA_DL_MNIST]


def lava_dl_mnist_path() -> Path:
    """Path of lava-dl's ``mnist.net``, found through the lava-dl distribution's file list."""
    import importlib.metadata

    suffix = "tests/lava/lib/dl/netx/mnist.net"
    try:
        files = importlib.metadata.distribution("lava-dl").files or []
    except importlib.metadata.PackageNotFoundError:
        raise ValueError("zoo model 'lava_dl_mnist' needs lava-dl; install it with: pip install "
                         "--no-deps --ignore-requires-python lava-dl==0.6.0") from None
    for file in files:
        if str(file).replace("\\", "/").endswith(suffix):
            return Path(file.locate())
    raise ValueError(f"lava-dl is installed but has no {suffix}")


def load(name: str) -> ZooModel:
    """Load a zoo model by name (offline).

    Raises
    ------
    ValueError
        For an unknown name, or a missing file (the message says how to rebuild it).
    """
    if name == LAVA_DL_MNIST:
        from ldsnn_lava.importers.netx import from_netx

        return ZooModel(name, from_netx(lava_dl_mnist_path()), "mnist5k", signed_unit_range,
                        LAVA_DL_MNIST_BASE_T, "direct", precision="fixed")
    if name not in TRAINED:
        raise ValueError(f"unknown zoo model {name!r}; available: {', '.join(names())}")
    weights, meta = MODELS_DIR / f"{name}.npz", MODELS_DIR / f"{name}.json"
    if not weights.is_file() or not meta.is_file():
        raise ValueError(f"zoo model {name!r} has no files in {MODELS_DIR}; rebuild them with: "
                         f"python -m ldsnn_lava.zoo.train --model {name}")
    record = json.loads(meta.read_text())
    network = Network.load(weights)
    return ZooModel(name, network, record["dataset"], unit_range, int(record["base_T"]),
                    network.input_encoding, record=record)
