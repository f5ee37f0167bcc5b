"""What an evaluation returns: per-sample work counters and the evaluated result.

The work counters (``docs/design.md``, work counters) have one implementation, which every
backend (the engine, the optimizer's cache and uniform sweep, the Lava backend) reports
through: :func:`synaptic_updates` counts each stage's synaptic updates from its input spike
counts times their fan-out (the engine counts the input spikes as it emits them; a backend that
records only each stage's output spikes derives them by the buffer rule,
:func:`buffered_input_counts`), and :func:`count_work` adds what follows from the network and
schedule alone. :class:`Evaluation` is the record of one schedule evaluated on a labelled
split; :class:`EvalResult` is what :func:`ldsnn_lava.evaluate` returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ldsnn_lava.buffers import expected_rate_total, graded_events
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
    rasters : list of numpy.ndarray or None
        With ``evaluate(..., record_rasters=True)``: one boolean (N, steps, *stage_output_shape)
        array per spiking stage, its spikes step by step (for sequence input all chunks in order:
        K * T_l steps).
    """

    readout: np.ndarray
    predictions: np.ndarray
    spike_counts: list[np.ndarray] | None
    counters: Counters
    schedule: Schedule
    seconds: float
    rasters: list[np.ndarray] | None = None

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
    """Synaptic updates per row: ``(rows, n_inputs)`` input spike counts times each input's
    fan-out (``(n_inputs,)`` float64), summed; float64 (exact below 2**53)."""
    counts = torch.as_tensor(counts, device=fan_out.device)
    return counts.reshape(counts.shape[0], -1).to(torch.float64) @ fan_out


def synaptic_updates(input_counts: Sequence, fan_outs: Sequence[torch.Tensor]) -> np.ndarray:
    """Each stage's synaptic updates, summed over a batch: for every input spike of a stage,
    its fan-out in that stage.

    Parameters
    ----------
    input_counts : sequence of array-like or None
        Per stage, the ``(B, ...)`` spike counts of its inputs (numpy or torch), in the order
        of ``fan_outs[k]``; ``None`` for a stage that gets no spikes (stage 0 under direct input,
        which does input MACs instead, see :func:`count_work`) or was not run.
    fan_outs : sequence of torch.Tensor
        Per stage, each input's structural fan-out, flat float64.

    Returns
    -------
    numpy.ndarray
        ``(num_stages,)`` sums over the batch.
    """
    totals = np.zeros(len(fan_outs))
    for k, (counts, fan_out) in enumerate(zip(input_counts, fan_outs, strict=True)):
        if counts is not None:
            counts = torch.as_tensor(counts, device=fan_out.device)
            per_input = counts.reshape(counts.shape[0], -1).sum(0, dtype=torch.int64)
            totals[k] = float(weighted_counts(per_input[None], fan_out)[0])
    return totals


def buffered_input_counts(net: Network, schedule: Schedule, counts: Sequence,
                          rate_input=None) -> list:
    """Every stage's input spike counts from the spike counts of the stages (for backends that
    record only those, as the Lava backend): stage k gets stage k-1's counts through a
    ``replay`` buffer, ``round(c * T_k / T_{k-1})`` through a ``rate`` buffer and one event per
    non-zero count through a ``graded`` buffer; stage 0 gets ``rate_input`` (the rate-encoded
    input's counts) or nothing under direct input."""
    steps, inputs = schedule.timesteps, [rate_input]
    for k in range(1, net.num_stages):
        fired = counts[k - 1]
        if schedule.buffers[k - 1] == BufferKind.RATE:
            fired = expected_rate_total(fired, steps[k - 1], steps[k])
        elif schedule.buffers[k - 1] == BufferKind.GRADED:
            fired = graded_events(np.asarray(fired))
        inputs.append(fired)
    return inputs


def fan_out_vectors(net: Network, device="cpu") -> list[torch.Tensor]:
    """Each stage's fan-out per input element, flat float64 (the order of its logical input)."""
    return [torch.as_tensor(f, dtype=torch.float64, device=device).flatten()
            for f in net.fan_outs]


def count_work(net: Network, schedule: Schedule, synaptic: np.ndarray,
               chunks: int = 1) -> Counters:
    """Per-sample mean counters of ``schedule`` from the measured per-stage synaptic updates.

    Everything but synaptic updates follows from the network and schedule alone: neurons
    evaluated ``N_l * T_l``, rate-buffer updates ``N_l * T_{l+1}``, graded-buffer updates
    ``N_l`` (each neuron's count read once per window), and under direct input
    stage 0's multiply-accumulates ``sum(fan_out_0) * T_0``. For sequence input each of these
    is per chunk, times the sample's ``chunks``; ``frames`` count input MACs as ``direct`` does,
    and an ``events`` input gap that re-emits counts (T_0 != chunk) adds ``N_in * T_0`` buffer
    updates per chunk to stage 0's. Every backend reports its work through this function.
    """
    steps = np.array(schedule.timesteps, dtype=np.float64)
    neurons = np.array(net.num_neurons, dtype=np.float64)
    buffer_updates = np.zeros(net.num_stages)
    for gap, mode in enumerate(schedule.buffers):
        if mode == BufferKind.RATE:
            buffer_updates[gap] = neurons[gap] * steps[gap + 1]
        elif mode == BufferKind.GRADED:
            buffer_updates[gap] = neurons[gap]
    if net.input_encoding == InputEncoding.EVENTS and schedule.timesteps[0] != schedule.chunk:
        buffer_updates[0] += float(np.prod(net.input_shape)) * steps[0]
    input_macs = np.zeros(net.num_stages)
    if net.input_encoding in (InputEncoding.DIRECT, InputEncoding.FRAMES):
        input_macs[0] = float(net.fan_outs[0].sum()) * steps[0]
    return Counters({"synaptic_updates": synaptic, "neurons_evaluated": chunks * neurons * steps,
                     "buffer_updates": chunks * buffer_updates, "input_macs": chunks * input_macs})


def synaptic_updates_from_counts(net: Network, schedule: Schedule, spike_counts: list[np.ndarray],
                                 num_samples: int, input_counts: np.ndarray | None = None
                                 ) -> np.ndarray:
    """Per-sample mean synaptic updates per stage, from the spikes each stage received.

    For a backend that records each spiking stage's spike counts: a stage after a ``replay``
    buffer receives those spikes, after a ``rate`` buffer ``round(c * T_{l+1} / T_l)`` of them
    (the rate rule's total), each reaching its structural fan-out.

    Parameters
    ----------
    net, schedule
    spike_counts : list of numpy.ndarray
        One (N, *stage_output_shape) array per spiking stage.
    num_samples : int
        N.
    input_counts : numpy.ndarray, optional
        (N, *input_shape) spike counts of ``rate`` input (stage 0's input spikes); ignored under
        ``direct`` input, whose stage 0 does input MACs instead.
    """
    synaptic, n = np.zeros(net.num_stages), num_samples
    if net.input_encoding == InputEncoding.RATE:
        synaptic[0] = float((np.asarray(input_counts) * net.fan_outs[0]).sum()) / n
    steps = schedule.timesteps
    for stage in range(1, net.num_stages):
        received = spike_counts[stage - 1].astype(np.int64)
        if schedule.buffers[stage - 1] == BufferKind.RATE:
            received = expected_rate_total(received, steps[stage - 1], steps[stage])
        synaptic[stage] = float((received * net.fan_outs[stage]).sum()) / n
    return synaptic
