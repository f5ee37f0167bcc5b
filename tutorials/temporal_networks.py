"""Tutorial: temporal networks, i.e. input that arrives over time, delays, and LD schedules.

Most networks Lava users have are trained by lava-dl's SLAYER on temporal data (event cameras,
silicon cochleas, spike-coded audio or time series), often with axonal delays. This tutorial:

1. runs lava-dl's own ``ntidigits.net`` (spoken digits from a silicon cochlea: 64 channels x
   3000 steps of events, delays up to 62 steps, LOIHI neurons, an average readout) on the input
   shipped with it, and checks our raster against the output shipped with it;
2. builds a small temporal network by hand (``events`` input, per-neuron delays);
3. runs the zoo's SLAYER-trained ``slayer_vowels`` under LD schedules: each stage runs its own
   number of steps per chunk of input steps, and the work drops.

Run it:  .venv/bin/python tutorials/temporal_networks.py   (about a minute on 2 cores)
"""

import importlib.metadata

import numpy as np

from ldsnn_lava import IF, Dense, Network, Schedule, Stage, datasets, evaluate, zoo

# --- 1. lava-dl's ntidigits.net ----------------------------------------------------------------
folder = "tests/lava/lib/dl/netx/gts/ntidigits/"
locate = importlib.metadata.distribution("lava-dl").locate_file
net = Network.from_netx(locate(folder + "ntidigits.net"))
print(net)
events = np.load(locate(folder + "input.npy"))  # (64 channels, 3000 steps)
x = events.T.reshape(1, 3000, *net.input_shape)  # (samples, input steps, *input shape)

# The given SNN at the input's own resolution: every stage steps once per input step. A
# schedule for sequence input names a chunk (input steps per chunk); at T = chunk for every
# stage the result does not depend on the chunk.
given = evaluate(net, Schedule.uniform(net, 100), x, precision="fixed", record_rasters=True)
raster = given.rasters[2][0].T  # the last spiking layer, (242 neurons, 3000 steps)
shipped = np.load(locate(folder + "output.npy")) > 0
print(f"ntidigits: {raster.sum()} spikes; equal to the shipped output.npy 4 steps later: "
      f"{np.array_equal(raster[:, :-4], shipped[:, 4:])}")
print(f"  predicted class {given.predictions[0]}, synaptic updates "
      f"{given.counters.total['synaptic_updates']:,.0f}")

# An LD schedule: chunks of 100 input steps; stage 0 runs 50 steps per chunk (its input events
# re-emitted by the rate rule), stage 1 25, the rest 50; delays are scaled to each stage's steps.
ld = evaluate(net, Schedule([50, 25, 50, 50], chunk=100), x, precision="fixed")
print(f"  LD [50, 25, 50, 50] per chunk of 100: class {ld.predictions[0]}, synaptic updates "
      f"{ld.counters.total['synaptic_updates']:,.0f}")

# --- 2. a temporal network by hand ------------------------------------------------------------
rng = np.random.default_rng(0)
small = Network((4,), [
    Stage([Dense(rng.integers(-1, 3, (6, 4)) / 2)], IF(1.0), delay=[0, 1, 2, 3, 4, 5]),
    Stage([Dense(rng.integers(-1, 3, (2, 6)) / 2)], None),
], input_encoding="events")
spikes = (rng.random((3, 12, 4)) < 0.4).astype(np.float32)  # 3 samples, 12 steps, 4 channels
result = evaluate(small, Schedule.uniform(small, 4), spikes, record_rasters=True)
print(f"by hand: readout {result.readout.tolist()}, raster shape {result.rasters[0].shape}")

# --- 3. the zoo's SLAYER-trained temporal network under LD schedules --------------------------
model = zoo.load("slayer_vowels")
data = datasets.load(model.dataset)
x_test, y_test = model.preprocess(data.x_test), data.y_test
print(f"{model.name}: {model.network}")
for schedule in (Schedule.uniform(model.network, 8),             # the given SNN
                 Schedule.uniform(model.network, 3, chunk=8),    # every stage coarser alike
                 Schedule([4, 2, 2, 2], chunk=8)):               # per-stage steps
    r = evaluate(model.network, schedule, x_test, precision="fixed", record_spikes=False)
    print(f"  {str(schedule):45s} accuracy {r.accuracy(y_test):.3f}  synaptic updates "
          f"{r.counters.total['synaptic_updates']:9,.0f}  neurons "
          f"{r.counters.total['neurons_evaluated']:7,.0f}")
