"""Our netx import + fixed-point neurons against lava-dl's Loihi 2 PilotNet LIF traces."""

from __future__ import annotations

import pytest
from ldsnn_pilotnet_traces import compare_pilotnet_traces

SPIKING = ("input", "conv-0", "conv-1", "conv-2", "conv-3", "conv-4", "fc-0", "fc-1", "fc-2")


@pytest.fixture(scope="module")
def chained():
    return {m.name: m for m in compare_pilotnet_traces(chained=True)}


def test_every_spiking_layer_matches_loihi2_bit_for_bit_end_to_end(chained):
    """Stage l, driven by our own stage l-1, equals the recording at step offset l
    (one step per hop), in spikes, u and v, over every recorded step."""
    for index, name in enumerate(SPIKING):
        match = chained[name]
        assert match.offset == index
        assert match.steps == 24 - index
        assert match.exact, match


@pytest.mark.xfail(strict=True, reason="known mismatch: PilotNet's output layer fc-3 is a "
                   "never-spiking integrator recorded in float on Loihi 2; our readout does not "
                   "reproduce its u/v traces (agreement u 0.75, v 0.125 over 16 steps)")
def test_the_output_integrator_matches(chained):
    match = chained["fc-3"]
    assert match.spikes is None
    assert match.exact
