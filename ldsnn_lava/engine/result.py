"""What an evaluation returns: per-sample work counters and the evaluated result.

The work counters (``docs/design.md``, work counters) have one implementation, which every
backend (the engine, the optimizer's cache and uniform sweep, the Lava backend) reports
through: :func:`synaptic_updates` counts each stage's synaptic updates from the spike counts
(input spikes times fan-out), and :func:`count_work` adds what follows from the network and
schedule alone. :class:`Evaluation` is the record of one schedule evaluated on a labelled
split; :class:`EvalResult` is what :func:`ldsnn_lava.evaluate` returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ldsnn_lava.buffers import expected_rate_total
from ldsnn_lava.errors import InvalidInput
from ldsnn_lava.network import Network
from ldsnn_lava.options import BufferKind, InputEncoding
from ldsnn_lava.schedule import Schedule

COUNTER_NAMES = ("synaptic_updates", "neurons_evaluated", "buffer_updates", "input_macs")


@dataclass
class Counters:
    """The work counters of ``docs/design.md``, as per-sample means.

    Attributes
    ----------
    per_stage : dict of str to numpy.ndarray
        One value per stage for each name in :data:`COUNTER_NAMES`. ``buffer_updates`` of
        stage l is the buffer after it; ``input_macs`` is non-zero only for stage 0 under
        ``direct`` input, whose ``synaptic_updates`` are then 0.
    total : dict of str to float
        Sums over stages.
    """

    per_stage: dict[str, np.ndarray]
    total: dict[str, float] = field(init=False)

    def __post_init__(self):
        self.total = {name: float(values.sum()) for name, values in self.per_stage.items()}


@dataclass
class EvalResult:
    """What :func:`evaluate` returns.

    Attributes
    ----------
    readout : numpy.ndarray
        (N, classes) readout sums.
    predictions : numpy.ndarray
        (N,) argmax of the readout (first index on ties).
    spike_counts : list of numpy.ndarray or None
        One (N, *stage_output_shape) array per spiking stage: each neuron's spikes in its
        window. ``None`` when evaluated with ``record_spikes=False``.
    counters : Counters
    schedule : Schedule
    seconds : float
        Wall-clock time of the evaluation.
    """

    readout: np.ndarray
    predictions: np.ndarray
    spike_counts: list[np.ndarray] | None
    counters: Counters
    schedule: Schedule
    seconds: float

    def accuracy(self, labels) -> float:
        """Top-1 accuracy against integer labels."""
        labels = np.asarray(labels)
        if labels.shape != self.predictions.shape:
            raise InvalidInput(f"labels have shape {labels.shape}, predictions "
                               f"{self.predictions.shape}")
        return float(np.mean(self.predictions == labels))


@dataclass(frozen=True)
class Evaluation:
    """One schedule evaluated on a labelled split.

    Attributes
    ----------
    schedule : Schedule
    accuracy : float
        Top-1 accuracy on the split.
    counters : Counters
        Per-sample mean work counters.
    """

    schedule: Schedule
    accuracy: float
    counters: Counters


def weighted_counts(counts, fan_out: torch.Tensor) -> torch.Tensor:
    """Per-sample synaptic updates of a stage: its ``(B, ...)`` input spike counts times each
    input's fan-out (``(n_inputs,)`` float64), summed; float64 (exact below 2**53)."""
    counts = torch.as_tensor(counts, device=fan_out.device)
    return counts.reshape(counts.shape[0], -1).to(torch.float64) @ fan_out


def synaptic_updates(net: Network, schedule: Schedule, counts: Sequence, *,
                     input_counts=None, start: int = 0,
                     fan_outs: Sequence[torch.Tensor] | None = None) -> np.ndarray:
    """Each stage's synaptic updates summed over samples, from the spike counts.

    Stage k's input spikes are stage k-1's spike counts (``replay``) or what its ``rate``
    buffer emits from them, ``round(c * T_k / T_{k-1})``; stage 0's are ``input_counts`` (the
    rate-encoded input's counts), or none under direct input (it does input MACs instead,
    see :func:`count_work`).

    Parameters
    ----------
    net : Network
    schedule : Schedule
    counts : sequence of array-like or None
        ``counts[k]``: the ``(B, *out_shape)`` spike counts of spiking stage k (numpy or torch);
        entries before ``start - 1`` are not read.
    input_counts : array-like, optional
        ``(B, *input_shape)`` counts of a rate-encoded input.
    start : int
        Stages before it are left at 0.
    fan_outs : sequence of torch.Tensor, optional
        Flat float64 fan-outs per stage (default: from ``net.fan_outs``, on the CPU).

    Returns
    -------
    numpy.ndarray
        ``(num_stages,)`` sums over the batch.
    """
    if fan_outs is None:
        fan_outs = [torch.as_tensor(f, dtype=torch.float64).flatten() for f in net.fan_outs]
    steps, totals = schedule.timesteps, np.zeros(net.num_stages)
    for k in range(start, net.num_stages):
        if k == 0:
            inputs = input_counts
        else:
            inputs = counts[k - 1]
            if schedule.buffers[k - 1] == BufferKind.RATE:
                inputs = expected_rate_total(torch.as_tensor(inputs), steps[k - 1], steps[k])
        if inputs is not None:
            totals[k] = float(weighted_counts(inputs, fan_outs[k]).sum())
    return totals


def count_work(net: Network, schedule: Schedule, synaptic: np.ndarray) -> Counters:
    """Per-sample mean counters of ``schedule`` from the measured per-stage synaptic updates.

    Everything but synaptic updates follows from the network and schedule alone: neurons
    evaluated ``N_l * T_l``, rate-buffer updates ``N_l * T_{l+1}``, and under direct input
    stage 0's multiply-accumulates ``sum(fan_out_0) * T_0``. Every backend reports its work
    through this function.
    """
    steps = np.array(schedule.timesteps, dtype=np.float64)
    neurons = np.array(net.num_neurons, dtype=np.float64)
    buffer_updates = np.zeros(net.num_stages)
    for gap, mode in enumerate(schedule.buffers):
        if mode == BufferKind.RATE:
            buffer_updates[gap] = neurons[gap] * steps[gap + 1]
    input_macs = np.zeros(net.num_stages)
    if net.input_encoding == InputEncoding.DIRECT:
        input_macs[0] = float(net.fan_outs[0].sum()) * steps[0]
    return Counters({"synaptic_updates": synaptic, "neurons_evaluated": neurons * steps,
                     "buffer_updates": buffer_updates, "input_macs": input_macs})
