"""lava-dl's own temporal network, ``ntidigits.net`` (delays, LOIHI neurons, average readout),
against the output the lava-dl wheel ships with it."""

import importlib.metadata
from pathlib import Path

import numpy as np
import pytest

from ldsnn_lava import Network, Schedule, evaluate

FOLDER = "tests/lava/lib/dl/netx/gts/ntidigits/"
OFFSET = 4
"""output.npy is our delay-free raster 4 steps later (lava-dl's netx run in Lava: 3 steps,
one per hop; the shipped file one more)."""


def ntidigits_file(name: str) -> Path:
    return Path(importlib.metadata.distribution("lava-dl").locate_file(FOLDER + name))


@pytest.fixture(scope="module")
def ntidigits():
    net = Network.from_netx(ntidigits_file("ntidigits.net"))
    events = np.load(ntidigits_file("input.npy"))  # (64 channels, 3000 steps)
    x = events.T.reshape(1, 3000, *net.input_shape)
    return net, x, np.load(ntidigits_file("output.npy")) > 0


def test_structure(ntidigits):
    net, _, _ = ntidigits
    assert net.input_encoding == "events" and net.num_neurons == [256, 256, 242, 11]
    assert [int(s.delay.max()) if s.delay is not None else 0 for s in net.stages] == [62, 62, 0, 0]


@pytest.mark.parametrize("chunk", [3000, 100])
def test_engine_reproduces_the_shipped_output_spike_for_spike(ntidigits, chunk):
    net, x, expected = ntidigits
    result = evaluate(net, Schedule.uniform(net, chunk), x, precision="fixed",
                      record_rasters=True)
    raster = result.rasters[2][0].T  # (242 neurons, 3000 steps)
    assert expected.sum() == 22572 and not expected[:, :OFFSET].any()
    assert not raster[:, -OFFSET:].any()
    assert np.array_equal(raster[:, :-OFFSET], expected[:, OFFSET:])
    # the readout: each class's group of 22 output neurons, summed over the sample
    assert np.array_equal(result.readout[0], expected.reshape(11, 22, 3000).sum((1, 2)))
