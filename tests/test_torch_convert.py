"""ANN-to-SNN conversion: the converted SNN's readout rate converges to the ANN's logits."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from ldsnn_lava import IF, Network, Schedule, evaluate
from ldsnn_lava.formats.torch_ann import from_torch
from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Flatten


def _trained_bn(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """Give batch norms non-trivial running statistics and affine parameters."""
    model.train()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
                module.momentum = None  # cumulative average
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
        model(x)
    return model.eval()


def _rate_logits(net: Network, x: torch.Tensor, T: int) -> np.ndarray:
    result = evaluate(net, Schedule.uniform(net, T), x.numpy(), dtype=torch.float64)
    return result.readout / T


def test_conv_net_with_batch_norm_and_pool_only_stage_converges():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.AvgPool2d(2), nn.ReLU(),                      # a stage with no weights
        nn.Sequential(nn.Conv2d(4, 6, 3), nn.ReLU()),    # nested Sequential
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(6 * 2 * 2, 12), nn.BatchNorm1d(12), nn.ReLU(),
        nn.Linear(12, 5),
    )
    x = torch.rand(64, 1, 8, 8)
    model = _trained_bn(model, x)
    net = from_torch(model, x, percentile=100.0)
    assert [type(s.neuron).__name__ for s in net.stages] == ["IF"] * 4 + ["NoneType"]
    assert [type(op) for op in net.stages[2].ops] == [Conv2d]
    assert [type(op) for op in net.stages[3].ops] == [Flatten, Dense]
    assert [type(op) for op in net.stages[1].ops] == [AvgPool2d]
    with torch.no_grad():
        logits = model(x).double().numpy()
    error = np.abs(_rate_logits(net, x, 1000) - logits).max()
    assert error < 0.05 * np.abs(logits).max()
    assert model.training is False


def test_training_mode_is_restored():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).train()
    from_torch(model, torch.rand(10, 4))
    assert model.training


def test_thresholds_balanced_by_percentile():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    x = torch.randn(500, 6)
    with torch.no_grad():
        activations = torch.relu(model[0](x)).numpy()
    net = from_torch(model, x, percentile=99.0)
    scale = np.percentile(activations, 99.0)
    dense = net.stages[0].ops[0]
    assert net.stages[0].neuron == IF(threshold=1.0)
    np.testing.assert_allclose(dense.weight, model[0].weight.detach().numpy() / scale, rtol=1e-5)
    np.testing.assert_allclose(net.stages[1].ops[0].weight,
                               model[2].weight.detach().numpy() * scale, rtol=1e-5)
    np.testing.assert_allclose(net.stages[1].ops[0].bias, model[2].bias.detach().numpy(),
                               rtol=1e-6)


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(2, 12), min_size=1, max_size=3), st.integers(0, 1000))
def test_random_mlps_converge(widths, seed):
    torch.manual_seed(seed)
    sizes = [5, *widths]
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(sizes[-1], 3))
    x = torch.rand(40, 5)
    net = from_torch(model, x, percentile=100.0)
    with torch.no_grad():
        logits = model(x).double().numpy()
    error = np.abs(_rate_logits(net, x, 2000) - logits).max()
    assert error < 0.02 * len(widths) * max(np.abs(logits).max(), 0.1)


@pytest.mark.parametrize(("model", "message"), [
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                   nn.Linear(2, 2)), "unsupported module MaxPool2d"),
    (nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 2)), "unsupported module Sigmoid"),
    (nn.Sequential(nn.Linear(4, 3), nn.ReLU()), "must end with a linear layer"),
    (nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.BatchNorm1d(3), nn.Linear(3, 2)),
     "batch norm must directly follow"),
    (nn.Sequential(nn.ReLU(), nn.Linear(4, 2)), "ReLU #1 has no Conv2d"),
    (nn.Sequential(nn.Conv2d(2, 2, 3, groups=2), nn.Flatten(), nn.Linear(8, 2)),
     "grouped or dilated"),
    (nn.Sequential(nn.Conv2d(1, 2, 3, padding="same"), nn.Flatten(), nn.Linear(8, 2)),
     "string padding 'same'"),
    (nn.Sequential(nn.AvgPool2d(2, padding=1), nn.Flatten(), nn.Linear(8, 2)),
     "only AvgPool2d without padding"),
    (nn.Sequential(nn.Flatten(0), nn.Linear(8, 2)), "only Flatten"),
])
def test_unsupported_models_name_the_problem(model, message):
    with pytest.raises(ValueError, match=message):
        from_torch(model, torch.rand(4, 1, 4, 4))


def test_bad_arguments():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    with pytest.raises(ValueError, match="percentile must be in"):
        from_torch(model, torch.rand(4, 4), percentile=0)
    with pytest.raises(ValueError, match="N >= 1"):
        from_torch(model, torch.rand(0, 4))
    with pytest.raises(ValueError, match="does not accept calibration_x of shape"):
        from_torch(model, torch.rand(4, 5))


def test_rate_input_encoding_and_name():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    net = from_torch(model, np.random.default_rng(0).random((8, 4)), input_encoding="rate",
                     name="tiny")
    assert net.input_encoding == "rate" and net.name == "tiny" and net.input_shape == (4,)
