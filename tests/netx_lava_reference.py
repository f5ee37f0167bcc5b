"""Run lava-dl's own netx network in Lava (fixed_pt) on one input: the reference for test_netx.

Kept apart from the tests so the comparison reads clearly; imports lava only when called.
"""

from __future__ import annotations

import numpy as np

import ldsnn_lava  # noqa: F401  (Lava compatibility fixes before any lava import)


def run_netx_in_lava(path, input_bias: np.ndarray, num_steps: int):
    """Run ``lava.lib.dl.netx.hdf5.Network`` for ``num_steps`` steps with the input layer's
    ``bias_mant`` set to ``input_bias`` (how lava-dl feeds images).

    Returns
    -------
    rasters : list of numpy.ndarray
        (neurons, num_steps) spikes of every layer but the last.
    readout_u : numpy.ndarray
        The last layer's current ``u`` after the run.
    """
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc import io

    net = netx.hdf5.Network(net_config=str(path))
    net.in_layer.neuron.bias_mant.init = input_bias.astype(np.int32)
    sinks = []
    for layer in net.layers[:-1]:
        sink = io.sink.RingBuffer(shape=layer.out.shape, buffer=num_steps)
        layer.out.connect(sink.a_in)
        sinks.append(sink)
    try:
        net.run(condition=RunSteps(num_steps=num_steps),
                run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        rasters = [np.asarray(sink.data.get()) for sink in sinks]
        readout_u = np.asarray(net.out_layer.neuron.u.get())
    finally:
        net.stop()
    return rasters, readout_u
