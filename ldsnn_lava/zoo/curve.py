"""Uniform-T accuracy curves in one pass: the accuracy of the given SNN at every T = 1..max_T.

Under a uniform schedule (every stage T steps, replay buffers) stage l's spikes at step t
depend only on steps <= t, and every stage starts from the same initial state whatever T is. So
the first T steps of a run at ``max_T`` are exactly a run at T, and the readout at T is the sum
of the readout stage's input over the first T steps. One run at ``max_T`` thus gives the whole
curve; tests check it against :func:`ldsnn_lava.evaluate` at single T. Under ``rate`` input
encoding the input raster itself depends on T, so each T is evaluated separately.
"""

from __future__ import annotations

import numpy as np
import torch

from ldsnn_lava.engine import StageEngine, StageInput, evaluate
from ldsnn_lava.network import Network
from ldsnn_lava.schedule import Schedule


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
    if max_T < 1 or batch_size < 1:
        raise ValueError(f"max_T and batch_size must be >= 1, got {max_T}, {batch_size}")
    x, y = torch.as_tensor(np.asarray(x)), np.asarray(y)
    if tuple(x.shape[1:]) != net.input_shape or len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x must be (N, *{net.input_shape}) with N = len(y) >= 1, got "
                         f"{tuple(x.shape)} and {y.shape}")
    if net.input_encoding == "rate":
        return np.array([
            evaluate(net, Schedule.uniform(net, T), x, batch_size=batch_size, dtype=dtype,
                     precision=precision, record_spikes=False, progress=False).accuracy(y)
            for T in range(1, max_T + 1)])
    engine = StageEngine(net, dtype=dtype, precision=precision)
    last = net.num_stages - 1
    correct = np.zeros(max_T, dtype=np.int64)
    with torch.inference_mode():
        for begin in range(0, len(x), batch_size):
            inp = engine.encode(x[begin:begin + batch_size], max_T)
            for stage in range(last):
                inp = StageInput(raster=engine.forward(stage, inp, max_T).raster)
            labels = torch.as_tensor(y[begin:begin + batch_size])
            for T in range(1, max_T + 1):
                prefix = inp if inp.constant is not None else StageInput(raster=inp.raster[:T])
                readout = engine.forward(last, prefix, T).readout
                correct[T - 1] += int((readout.argmax(1).cpu() == labels).sum())
    return correct / len(x)
