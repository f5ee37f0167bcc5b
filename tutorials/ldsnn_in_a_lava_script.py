"""Tutorial: an LD-SNN as one block in a Lava script, with Lava's own source, sink and Monitor.

``LDNetwork`` turns a network and a schedule into one hierarchical Lava process with an input
port ``s_in`` and an output port ``s_out``. Here it is lava-dl's own ``mnist.net`` (the zoo's
``lava_dl_mnist``: an input layer of 784 CUBA neurons, 512-512 hidden CUBA layers, a 10-class
readout; Loihi fixed point) under an LD schedule, wired in a plain Lava script::

    lava.proc.io.source.RingBuffer -> LDNetwork -> lava.proc.io.sink.RingBuffer
                                         ^
                      lava.proc.monitor.Monitor (a hidden layer's voltage and spikes)

With ``lava_stages=True`` the two hidden layers are built from Lava's own ``Dense`` and
``LIFReset`` processes (their one-step hop delay is absorbed by the windows); the input layer,
the buffers and the readout are ldsnn-lava's processes. We read parameters with ``Var.get()``
and check every result against the torch engine.

Run: ``python tutorials/ldsnn_in_a_lava_script.py`` (about half a minute on 2 cores).
"""

from __future__ import annotations

import numpy as np
import torch

import ldsnn_lava  # noqa: F401  (Lava compatibility fixes: before any lava import)

# isort: split
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.io.sink import RingBuffer as Sink
from lava.proc.io.source import RingBuffer as Source
from lava.proc.monitor.process import Monitor
from ldsnn_lava.processes import LDNetwork

from ldsnn_lava import Schedule, datasets, evaluate, zoo

SAMPLES = 20


def main() -> None:
    model = zoo.load("lava_dl_mnist")
    net = model.network
    x_test, y_test = datasets.load(model.dataset).split("test")
    x, labels = model.preprocess(x_test[:SAMPLES]), y_test[:SAMPLES]
    schedule = Schedule([1, 2, 1, 1], buffers="rate")  # the LD schedule `make demo` finds
    print(f"network: {net}")
    print(f"schedule: {schedule}")

    # 1. the LD-SNN as one Lava process; its hidden layers from Lava's Dense and LIFReset
    ldnet = LDNetwork(net=net, schedule=schedule, precision=model.precision, lava_stages=True)
    steps = ldnet.num_steps(SAMPLES)
    print(f"stages built from Lava's own processes: {list(ldnet.proc_params['lava_stages'])}; "
          f"runtime delays {ldnet.delays}, period {ldnet.period} steps")

    # 2. Lava's source, sink and monitors around it
    source = Source(data=ldnet.source_data(x))  # (784, steps): each image in stage 0's window
    sink = Sink(shape=(net.num_classes,), buffer=steps)
    source.s_out.connect(ldnet.s_in)
    ldnet.s_out.connect(sink.a_in)
    hidden = ldnet.stages[1]  # a LavaStage: hidden.synapse is a Dense, hidden.neuron a LIFReset
    voltage, spikes = Monitor(), Monitor()
    voltage.probe(hidden.neuron.v, steps)
    spikes.probe(hidden.neuron.s_out, steps)

    # 3. run (the guarded runtime: an error anywhere raises here, nothing is left running)
    try:
        ldnet.run(condition=RunSteps(num_steps=steps),
                  run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        s_out = sink.data.get()
        v = voltage.get_data()[hidden.neuron.name]["v"]
        raster = spikes.get_data()[hidden.neuron.name]["s_out"]
        threshold = hidden.neuron.vth.get()[0]
        readout_weights = ldnet.stages[3].weights.get()
    finally:
        ldnet.stop()

    # 4. decode and compare with the torch engine
    sums = ldnet.readout_sums(s_out)
    counts = ldnet.spike_counts(1, raster.T)
    ref = evaluate(net, schedule, x, dtype=torch.float64, precision=model.precision)
    print(f"Lava ran {steps} steps for {SAMPLES} images; accuracy "
          f"{np.mean(sums.argmax(axis=1) == labels):.3f}")
    print(f"hidden layer 1: threshold {threshold} (Var.get), voltage recorded "
          f"{v.shape[0]} steps x {v.shape[1]} neurons, {int(counts.sum())} spikes")
    print(f"readout weights read with Var.get(): shape {readout_weights.shape}, equal to the "
          f"network's: {np.array_equal(readout_weights, net.stages[3].ops[0].weight)}")
    same = (np.array_equal(sums, ref.readout) and np.array_equal(counts, ref.spike_counts[1]))
    print(f"same readout sums and hidden-layer spike counts as the torch engine: {same}")


if __name__ == "__main__":
    main()
