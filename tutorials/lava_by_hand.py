"""Tutorial: compose an LD-SNN from ldsnn-lava's Lava processes by hand, and run it in Lava.

``to_lava(net, schedule).run(x)`` does all of this for you; here each piece is visible, so you
can put these processes into your own Lava scripts. We take the zoo's ``mlp_digits`` network
(8x8 digits, 64-128-64-10, IF neurons, given SNN at T=4), give it an LD schedule (stage 0 keeps
4 steps, stages 1 and 2 run 2, rate buffers between), and wire::

    LDInput -> LDStage 0 -> LDBuffer 0 -> LDStage 1 -> LDBuffer 1 -> LDStage 2 -> LDReadout

The windows (which steps of each period a stage works in) come from
``ldsnn_lava.clock.stage_windows``; results leave the runtime through records in shared memory
that the stages and the readout write and we read once after the run. The run uses the guarded
runtime (``ldsnn_lava.processes.runtime.create_runtime``): an error in any process raises in
this script, and nothing is left running. Finally we check the Lava result against the torch
engine, spike for spike.

Run: ``python tutorials/lava_by_hand.py`` (a few seconds on 2 cores).
"""

from __future__ import annotations

import numpy as np
import torch

import ldsnn_lava  # noqa: F401  (Lava compatibility fixes: before any lava import)

# isort: split
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from ldsnn_lava.processes.ld_buffer.process import LDBuffer
from ldsnn_lava.processes.ld_input.process import LDInput
from ldsnn_lava.processes.ld_readout.process import LDReadout
from ldsnn_lava.processes.ld_stage.process import stage_process
from ldsnn_lava.processes.records import Record
from ldsnn_lava.processes.runtime import create_runtime

from ldsnn_lava import Schedule, datasets, evaluate, zoo
from ldsnn_lava.clock import stage_windows, total_steps

SAMPLES = 40


def main() -> None:
    model = zoo.load("mlp_digits")
    net = model.network
    data = datasets.load(model.dataset)
    x = model.preprocess(data.x_test[:SAMPLES]).astype(np.float64)
    labels = data.y_test[:SAMPLES]
    schedule = Schedule([4, 2, 2], buffers="rate", mode="sequential")
    windows = stage_windows(schedule)
    print(f"network: {net}")
    print(f"schedule: {schedule}, period {schedule.period} steps")

    # 1. the processes: one per stage (its class follows the neuron kind), one buffer per gap,
    #    the input and the readout; each spiking stage writes its spike counts to a record
    source = LDInput(data=x, window=windows[0], encoding=net.input_encoding)
    stages, counts_records = [], []
    for index, stage in enumerate(net.stages):
        counts = None
        if not stage.is_readout:
            counts = Record(SAMPLES, net.output_shape_of(index), np.int32)
            counts_records.append(counts)
        stages.append(stage_process(ops=stage.ops, neuron=stage.neuron,
                                    in_shape=net.input_shape_of(index), window=windows[index],
                                    counts_record=counts, name=f"stage{index}"))
    buffers = [LDBuffer(shape=net.output_shape_of(g), mode=mode, upstream=windows[g],
                        downstream=windows[g + 1], name=f"buffer{g}")
               for g, mode in enumerate(schedule.buffers)]
    readout_record = Record(SAMPLES, (net.num_classes,), np.float64)
    readout = LDReadout(shape=(net.num_classes,), window=windows[-1], record=readout_record)

    # 2. the wiring: a chain of ports
    source.s_out.connect(stages[0].a_in)
    for g, buffer in enumerate(buffers):
        stages[g].s_out.connect(buffer.s_in)
        buffer.s_out.connect(stages[g + 1].a_in)
    stages[-1].s_out.connect(readout.a_in)

    # 3. the run, on the guarded runtime; always stop it, also on error or Ctrl-C
    steps = total_steps(schedule, SAMPLES)
    try:
        create_runtime(source, Loihi2SimCfg(select_tag="floating_pt"))
        source.run(condition=RunSteps(num_steps=steps))
    finally:
        source.stop()
    sums = readout_record.read()
    spike_counts = [record.read() for record in counts_records]

    predictions = sums.argmax(axis=1)
    print(f"Lava ran {steps} steps for {SAMPLES} samples")
    print(f"Lava accuracy: {np.mean(predictions == labels):.3f}")
    ref = evaluate(net, schedule, x, dtype=torch.float64)
    same = np.array_equal(predictions, ref.predictions) and all(
        np.array_equal(a, b) for a, b in zip(spike_counts, ref.spike_counts, strict=True))
    print(f"same predictions and spike counts as the torch engine: {same}")
    print(f"largest readout difference to the engine: {np.abs(sums - ref.readout).max():.3g}")


if __name__ == "__main__":
    main()
