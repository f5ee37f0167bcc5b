"""Small real SNNs for the optimizer's tests: ReLU MLPs trained on scikit-learn's digits and
converted to IF networks (weights scaled layer by layer by the 99.9th activation percentile).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from sklearn.datasets import load_digits

from ldsnn_lava import IF, Dense, Network, Stage


@lru_cache(maxsize=1)
def digits_splits() -> tuple[np.ndarray, ...]:
    """Digits scaled to [0, 1], split 1000 train / 400 validation / 397 test (fixed order)."""
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y[order]
    return x[:1000], y[:1000], x[1000:1400], y[1000:1400], x[1400:], y[1400:]


@lru_cache(maxsize=4)
def digits_snn(hidden: tuple[int, ...] = (32,), seed: int = 0, epochs: int = 60) -> Network:
    """A trained ReLU MLP 64-hidden-10 on digits, converted to an IF SNN (direct input)."""
    x_train, y_train = digits_splits()[:2]
    torch.manual_seed(seed)
    sizes = (64, *hidden, 10)
    layers = [torch.nn.Linear(a, b, bias=False) for a, b in zip(sizes, sizes[1:], strict=False)]
    model = torch.nn.Sequential(*[m for layer in layers[:-1] for m in (layer, torch.nn.ReLU())],
                                layers[-1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    xt, yt = torch.as_tensor(x_train), torch.as_tensor(y_train)
    for _ in range(epochs):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    stages, act, prev_scale = [], xt, 1.0
    with torch.no_grad():
        for layer in layers[:-1]:
            act = torch.relu(layer(act))
            scale = float(np.percentile(act.numpy(), 99.9)) or 1.0
            weight = layer.weight.numpy().astype(np.float64) * prev_scale / scale
            stages.append(Stage([Dense(weight)], IF(threshold=1.0)))
            prev_scale = scale
        last = layers[-1].weight.numpy().astype(np.float64) * prev_scale
    stages.append(Stage([Dense(last)], None))
    return Network((64,), stages, name=f"digits-mlp-{'-'.join(map(str, hidden))}")
