"""What an evaluation returns: per-sample work counters and the evaluated result.

:func:`count_work` is the one definition of the work counters (``docs/design.md``, work
counters) from a schedule and the synaptic updates a backend measured; the engine, the
optimizer's cache and the Lava backend all report through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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


def count_work(net: Network, schedule: Schedule, synaptic: np.ndarray,
               chunks: int = 1) -> Counters:
    """Per-sample mean counters of ``schedule`` from the measured per-stage synaptic updates.

    Everything but synaptic updates follows from the network and schedule alone: neurons
    evaluated ``N_l * T_l``, rate-buffer updates ``N_l * T_{l+1}``, and under direct input
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
    if net.input_encoding == InputEncoding.EVENTS and schedule.timesteps[0] != schedule.chunk:
        buffer_updates[0] += float(np.prod(net.input_shape)) * steps[0]
    input_macs = np.zeros(net.num_stages)
    if net.input_encoding in (InputEncoding.DIRECT, InputEncoding.FRAMES):
        input_macs[0] = float(net.fan_outs[0].sum()) * steps[0]
    return Counters({"synaptic_updates": synaptic, "neurons_evaluated": chunks * neurons * steps,
                     "buffer_updates": chunks * buffer_updates, "input_macs": chunks * input_macs})
