"""Uniform-T accuracy curves: the accuracy of the given SNN at every T = 1..max_T, in one pass
(see :func:`ldsnn_lava.uniform.uniform_sweep`)."""

from __future__ import annotations

import numpy as np
import torch

from ldsnn_lava.network import Network
from ldsnn_lava.uniform import uniform_sweep


def uniform_accuracy_curve(
    net: Network,
    x,
    y,
    max_T: int = 64,
    *,
    batch_size: int = 128,
    dtype: torch.dtype = torch.float32,
    precision: str = "float",
) -> np.ndarray:
    """Top-1 accuracy of ``net`` under the uniform schedule for every T in 1..max_T.

    Parameters
    ----------
    net : Network
    x : array-like
        (N, *net.input_shape) inputs, already preprocessed.
    y : array-like
        (N,) integer labels.
    max_T : int
        Largest T of the curve.
    batch_size : int
    dtype : torch.dtype
        As in :func:`ldsnn_lava.evaluate`.
    precision : {"float", "fixed"}
        As in :func:`ldsnn_lava.evaluate`.

    Returns
    -------
    numpy.ndarray
        (max_T,) accuracies; entry ``T - 1`` is the accuracy at T.
    """
    points = uniform_sweep(net, x, y, max_T, batch_size=batch_size, dtype=dtype,
                           precision=precision)
    return np.array([point.accuracy for point in points])
