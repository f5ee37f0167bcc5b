"""Tutorial: run an LD-SNN in Brian2 and check it against the engine, spike for spike.

Brian2 is the simulator computational neuroscientists trust. ``to_brian2(net, schedule)``
builds the LD-SNN out of plain Brian2 objects (a ``NeuronGroup`` per stage and per rate buffer,
``Synapses`` with one weight per connection, ``StateMonitor``s for the results) on one clock
whose steps are the schedule's timesteps, and streams the samples through it. Here we take the
zoo's LeNet (``lenet_mnist5k``: conv, IF neurons, 5 stages, given SNN at T = 5), give it the LD
schedule the optimizer found for it, run both the engine and Brian2 on test images, and compare
every stage's spike counts, the readouts and the predictions. Then we look inside: the Brian2
objects and the order in which they run within each step.

Run it:  .venv/bin/python tutorials/brian2_cross_check.py [SAMPLES]   (default 20)
Needs brian2:  pip install 'ldsnn-lava[brian2]'
"""

import sys

import brian2
import numpy as np
import torch

from ldsnn_lava import Schedule, datasets, evaluate, to_brian2, zoo

samples = int(sys.argv[1]) if len(sys.argv) > 1 else 20

# --- 1. A trained SNN, an LD schedule and some test images ---------------------------------
model = zoo.load("lenet_mnist5k")
data = datasets.load(model.dataset)
x, y = model.preprocess(data.x_test[:samples]), data.y_test[:samples]
schedule = Schedule([2, 3, 3, 3, 3], buffers="rate")  # stage 0 runs 2 steps, the rest 3
print(f"network: {model.network}")
print(f"LD schedule: {schedule}")

# --- 2. The same LD-SNN in the engine (float64) and in Brian2 ------------------------------
engine = evaluate(model.network, schedule, x, dtype=torch.float64)
brian = to_brian2(model.network, schedule).run(x)

# --- 3. Spike for spike -------------------------------------------------------------------
for stage, (a, b) in enumerate(zip(engine.spike_counts, brian.spike_counts, strict=True)):
    same = np.array_equal(a, b)
    print(f"stage {stage}: {a.size} neuron spike counts, {int(a.sum())} spikes, "
          f"{'identical' if same else 'DIFFERENT'} in Brian2")
gap = float(np.abs(engine.readout - brian.readout).max())
print(f"readout sums: largest difference {gap:.1e} (float sums in another order)")
print(f"predictions identical: {bool(np.array_equal(engine.predictions, brian.predictions))}; "
      f"accuracy {100 * brian.accuracy(y):.1f} % on {samples} test images")
for name in ("synaptic_updates", "neurons_evaluated", "buffer_updates"):
    print(f"{name} per sample: engine {engine.counters.total[name]:,.0f}, "
          f"Brian2 {brian.counters.total[name]:,.0f}")
print(f"time: engine {engine.seconds:.2f} s, Brian2 {brian.seconds:.2f} s")

# --- 4. Inside: the Brian2 objects, and their order within every step -----------------------
# build() makes the objects without running them; graph.network is an ordinary brian2.Network
# (graph.run() runs it, graph.spike_counts() reads the monitors).
pipelined = Schedule([2, 3, 3, 3, 3], "rate", "pipelined")
graph = to_brian2(model.network, pipelined).build(x[:4])
print(f"\n{pipelined}: {graph.num_steps} clock steps for 4 samples; what runs in each step:")
for obj in graph.network.sorted_objects:
    if obj.active and isinstance(obj, brian2.CodeRunner):  # the objects that run code
        print(f"  {obj.when:6s} {obj.order:3d}  {obj.name} ({type(obj).__name__}, "
              f"on {obj.clock.name})")
graph.run()
same = np.array_equal(graph.readout_sums(), brian.readout[:4])
print(f"pipelined readout sums equal the sequential run's: {same}")
