"""The model zoo: small trained SNNs shipped with the project, loaded offline.

``names()`` lists them; ``load(name)`` returns a :class:`ldsnn_lava.model.Model`: the network plus
what a user needs to run it right (data set name, preprocessing, base T, precision, recorded
curves).

Trained here (by ``python -m ldsnn_lava.zoo.train``, see :mod:`ldsnn_lava.zoo.train`), each a
torch ANN converted to an IF SNN, stored as ``models/<name>.npz`` (:meth:`Network.save` format)
with ``models/<name>.json`` (uniform-T accuracy on the validation and test splits, T = 1..64,
the ANN's accuracy, the base T and how it was chosen):

- ``lenet_mnist5k``: LeNet-5 style conv SNN on ``mnist5k``;
- ``vgg_animal_mnist``: VGG style conv SNN (batch norm folded) on ``animal_mnist``;
- ``mlp_digits``: MLP SNN on ``digits``.

Trained with lava-dl's SLAYER (by ``python -m ldsnn_lava.zoo.train_slayer``, see
:mod:`ldsnn_lava.zoo.train_slayer`), stored as a netx file ``models/slayer_vowels.net`` with
``models/slayer_vowels.json``:

- ``slayer_vowels``: a temporal CUBA network with axonal delays and an average readout on the
  ``japanese_vowels`` event sequences, run in Loihi fixed point; its base T is its chunk, 8 steps
  per 8 input steps (one frame).

Wrapped from lava-dl:

- ``lava_dl_mnist``: lava-dl's ``mnist.net`` (netx HDF5, shipped in the lava-dl wheel), imported
  by :func:`ldsnn_lava.formats.netx.read_network`; its inputs are images scaled to [-1, 1]
  (``2 x - 1``), run in Loihi fixed point.
"""

from __future__ import annotations

import json
from pathlib import Path

from ldsnn_lava.errors import BackendUnavailable, InvalidOption
from ldsnn_lava.model import Model
from ldsnn_lava.network import Network
from ldsnn_lava.options import Precision

MODELS_DIR = Path(__file__).parent / "models"
TRAINED = ("lenet_mnist5k", "vgg_animal_mnist", "mlp_digits")
SLAYER_VOWELS = "slayer_vowels"
LAVA_DL_MNIST = "lava_dl_mnist"
LAVA_DL_MNIST_BASE_T = 16


def names() -> list[str]:
    """All zoo model names."""
    return [*TRAINED, SLAYER_VOWELS, LAVA_DL_MNIST]


def lava_dl_mnist_path() -> Path:
    """Path of lava-dl's ``mnist.net``, found through the lava-dl distribution's file list."""
    import importlib.metadata

    suffix = "tests/lava/lib/dl/netx/mnist.net"
    try:
        files = importlib.metadata.distribution("lava-dl").files or []
    except importlib.metadata.PackageNotFoundError:
        raise BackendUnavailable("zoo model 'lava_dl_mnist' needs lava-dl; install it with: "
                                 "pip install --no-deps --ignore-requires-python "
                                 "lava-dl==0.6.0") from None
    for file in files:
        if str(file).replace("\\", "/").endswith(suffix):
            return Path(file.locate())
    raise ValueError(f"lava-dl is installed but has no {suffix}")


def load(name: str) -> Model:
    """Load a zoo model by name (offline).

    Raises
    ------
    InvalidOption
        For an unknown name.
    FileNotFoundError
        For a trained model whose files are missing (the message says how to rebuild them).
    """
    if name == LAVA_DL_MNIST:
        return Model(name, Network.from_netx(lava_dl_mnist_path()), LAVA_DL_MNIST_BASE_T,
                     Precision.FIXED, input_scale=2.0, input_shift=-1.0, dataset="mnist5k")
    if name == SLAYER_VOWELS:
        return _slayer_vowels()
    if name not in TRAINED:
        raise InvalidOption(f"unknown zoo model {name!r}; available: {', '.join(names())}")
    weights, meta = MODELS_DIR / f"{name}.npz", MODELS_DIR / f"{name}.json"
    if not weights.is_file() or not meta.is_file():
        raise FileNotFoundError(f"zoo model {name!r} has no files in {MODELS_DIR}; rebuild them "
                                f"with: python -m ldsnn_lava.zoo.train --model {name}")
    record = json.loads(meta.read_text())
    return Model(name, Network.load(weights), int(record["base_T"]), dataset=record["dataset"],
                 record=record)


def _slayer_vowels() -> Model:
    path, meta = MODELS_DIR / f"{SLAYER_VOWELS}.net", MODELS_DIR / f"{SLAYER_VOWELS}.json"
    if not path.is_file() or not meta.is_file():
        raise FileNotFoundError(f"zoo model {SLAYER_VOWELS!r} has no files in {MODELS_DIR}; "
                                f"rebuild them with: python -m ldsnn_lava.zoo.train_slayer")
    record = json.loads(meta.read_text())
    return Model(SLAYER_VOWELS, Network.from_netx(path), int(record["base_T"]), Precision.FIXED,
                 dataset=record["dataset"], record=record)
