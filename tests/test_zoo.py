"""The model zoo: shipped networks load offline and reproduce their recorded accuracy."""

import json

import numpy as np
import pytest
import torch
from ldsnn_testing import simulate_uniform_stepwise

from ldsnn_lava import Network, Schedule, datasets, evaluate, zoo
from ldsnn_lava.optimize.uniform import uniform_sweep
from ldsnn_lava.zoo import train


def test_names():
    assert zoo.names() == ["lenet_mnist5k", "vgg_animal_mnist", "mlp_digits", "slayer_vowels",
                           "lava_dl_mnist"]


def test_slayer_vowels_reproduces_its_recorded_curve():
    """The temporal zoo model (a SLAYER-trained netx file, fixed point) gives its recorded test
    accuracy at T = 8 and T = 3 per chunk of 8 input steps, and agrees with SLAYER's own."""
    model = zoo.load("slayer_vowels")
    record = model.record
    assert model.base_T == record["chunk"] == 8 and model.precision == "fixed"
    assert model.network.input_encoding == "events" and model.network.has_delays
    data = datasets.load(model.dataset)
    x = model.preprocess(data.x_test)
    assert x.shape == (len(data.x_test), 232, 24)
    for T in (8, 3):
        result = evaluate(model.network, Schedule.uniform(model.network, T, chunk=8), x,
                          precision="fixed", record_spikes=False)
        assert result.accuracy(data.y_test) == record["uniform_accuracy"]["test"][T - 1]
    assert record["test_accuracy_at_base_T"] == pytest.approx(record["slayer_accuracy"]["test"],
                                                              abs=2.5 / len(x))


@pytest.mark.parametrize("name", [
    "lenet_mnist5k", "mlp_digits",
    pytest.param("vgg_animal_mnist", marks=pytest.mark.slow),  # about 100 s on 2 cores
])
def test_trained_model_reproduces_its_recorded_test_accuracy(name):
    """A consistency check of the shipped files (weights and record belong together); the
    engine itself is checked against an independent reference below."""
    model = zoo.load(name)
    record = model.record
    assert model.dataset == record["dataset"] and model.base_T == record["base_T"]
    assert len(record["uniform_accuracy"]["test"]) == train.MAX_T
    assert model.base_T == train.choose_base_t(np.array(record["uniform_accuracy"]["validation"]))
    data = datasets.load(model.dataset)
    x = model.preprocess(data.x_test)
    result = evaluate(model.network, Schedule.uniform(model.network, model.base_T), x,
                      record_spikes=False)
    assert result.accuracy(data.y_test) == pytest.approx(record["test_accuracy_at_base_T"],
                                                         abs=1.5 / len(x))
    assert result.accuracy(data.y_test) > 0.8


def test_curve_equals_evaluate_at_each_T():
    model = zoo.load("lenet_mnist5k")
    data = datasets.load("mnist5k")
    x, y = data.x_val[:60], data.y_val[:60]
    curve = [p.accuracy for p in uniform_sweep(model.network, x, y, 12, dtype=torch.float64)]
    for T in (1, 3, 12):
        result = evaluate(model.network, Schedule.uniform(model.network, T), x,
                          dtype=torch.float64, record_spikes=False)
        assert curve[T - 1] == result.accuracy(y)


def test_engine_equals_the_stepwise_reference_on_zoo_networks():
    """The shipped weights run in the engine and in the independent numpy reference give the
    same readouts (so the recorded curves come from the semantics, not from an engine bug)."""
    for name in ("lenet_mnist5k", "mlp_digits"):
        model = zoo.load(name)
        data = datasets.load(model.dataset)
        x = model.preprocess(data.x_test[:25]).astype(np.float64)
        result = evaluate(model.network, Schedule.uniform(model.network, model.base_T), x,
                          dtype=torch.float64)
        readout, counts = simulate_uniform_stepwise(model.network, x, model.base_T)
        np.testing.assert_allclose(result.readout, readout, rtol=1e-9, atol=1e-9)
        for ours, ref in zip(result.spike_counts, counts, strict=True):
            np.testing.assert_array_equal(ours, ref)


def test_training_is_reproducible(tmp_path):
    record = train.build("mlp_digits", tmp_path)
    shipped = json.loads((zoo.MODELS_DIR / "mlp_digits.json").read_text())
    assert record["uniform_accuracy"] == shipped["uniform_accuracy"]
    fresh, kept = Network.load(tmp_path / "mlp_digits.npz"), zoo.load("mlp_digits").network
    for a, b in zip(fresh.stages, kept.stages, strict=True):
        for op_a, op_b in zip(a.ops, b.ops, strict=True):
            for key, value in op_a.parameters().items():
                np.testing.assert_array_equal(value, op_b.parameters()[key])


def test_choose_base_t():
    assert train.choose_base_t(np.array([0.5, 0.89, 0.9, 0.91, 0.9])) == 2
    assert train.choose_base_t(np.array([0.9, 0.95])) == 2


def test_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown zoo model 'resnet'"):
        zoo.load("resnet")
    monkeypatch.setattr(zoo, "MODELS_DIR", tmp_path)
    rebuild = "python -m ldsnn_lava.zoo.train --model mlp_digits"
    with pytest.raises(FileNotFoundError, match=rebuild):
        zoo.load("mlp_digits")
    with pytest.raises(ValueError, match="max_T must be an integer"):
        uniform_sweep(None, [], [], 0)
