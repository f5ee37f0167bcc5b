"""The Loihi resources an LD-SNN takes: synapses, fan-in and cores per stage.

A stage's neurons plus the compartments of a ``rate`` or ``graded`` output buffer (one per
neuron: its window's count) are spread over cores by
neurons per core; its synapses (8-bit weights) by synaptic memory per core; it takes whichever
needs more cores (see :class:`~ldsnn_lava.loihi.limits.Loihi2Limits` for the figures).
"""

from __future__ import annotations

import math

from ldsnn_lava.loihi.limits import LOIHI2, Loihi2Limits
from ldsnn_lava.network import Network
from ldsnn_lava.schedule import Schedule

WEIGHT_BITS = 8


def fan_in(net: Network, index: int) -> int:
    """Largest structural fan-in of a neuron of stage ``index`` (synapses into it)."""
    synaptic = [op for op in net.stages[index].ops if not op.is_reshape]
    return synaptic[0].max_fan_in


def cores_for(neurons: int, synapse_bits: int, limits: Loihi2Limits) -> int:
    """Cores one population needs: bound by neurons and by synaptic memory per core."""
    return max(1, math.ceil(neurons / limits.neurons_per_core),
               math.ceil(synapse_bits / limits.synaptic_memory_bits))


def stage_synapses(net: Network) -> list[int]:
    """Explicit synapses per stage (structural edges; convolution weights not shared, a
    conservative assumption: Loihi 2 can share them)."""
    return [int(f.sum()) for f in net.fan_outs]


def cores_needed(net: Network, limits: Loihi2Limits = LOIHI2,
                 schedule: Schedule | None = None) -> list[int]:
    """Cores per stage: neurons (plus the compartments of a ``rate`` or ``graded`` output
    buffer) over neurons per core, and synaptic memory over memory per core, whichever needs
    more."""
    buffers = buffer_neurons(net, schedule)
    return [cores_for(n + b, s * WEIGHT_BITS, limits)
            for n, b, s in zip(net.num_neurons, buffers, stage_synapses(net), strict=True)]


def buffer_neurons(net: Network, schedule: Schedule | None) -> list[int]:
    """Compartments of each stage's output buffer: one per neuron for a buffer that counts
    (``rate``, ``graded``), none for ``replay`` or the readout."""
    if schedule is None:
        return [0] * net.num_stages
    return [n if gap < len(schedule.buffers) and schedule.buffers[gap].from_counts else 0
            for gap, n in enumerate(net.num_neurons)]
