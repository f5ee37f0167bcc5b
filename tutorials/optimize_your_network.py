"""Tutorial: find per-layer timesteps for YOUR spiking network (runs in well under a minute).

You bring an SNN as an ``ldsnn_lava.Network`` (build it, import it with ``from_torch``,
``from_netx``, ``from_nir``, or ``Network.load`` it), its timesteps T, and a labelled
validation split. ``optimize`` searches the per-layer timesteps T_l that minimize the work
within an accuracy budget; you then check the result on a held-out test split.

Run it:  .venv/bin/python tutorials/optimize_your_network.py [OUT_DIR]
"""

import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits

from ldsnn_lava import IF, Dense, Network, Schedule, Stage, evaluate
from ldsnn_lava.compare import comparison_table, held_out, schedules_of, time_held_out
from ldsnn_lava.optimize import optimize
from ldsnn_lava.report import write_report

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "out/tutorial")

# --- 1. Your data: 8x8 digits, split into train / validation / test -----------------------
digits = load_digits()
x = (digits.data / 16.0).astype(np.float32)
y = digits.target.astype(np.int64)
order = np.random.default_rng(0).permutation(len(y))
x, y = x[order], y[order]
(x_train, y_train), (x_val, y_val), (x_test, y_test) = (
    (x[:1000], y[:1000]), (x[1000:1400], y[1000:1400]), (x[1400:], y[1400:]))

# --- 2. Your network: here a small ReLU MLP, trained, then converted to an IF SNN ----------
torch.manual_seed(0)
ann = torch.nn.Sequential(torch.nn.Linear(64, 48, bias=False), torch.nn.ReLU(),
                          torch.nn.Linear(48, 24, bias=False), torch.nn.ReLU(),
                          torch.nn.Linear(24, 10, bias=False))
optimizer = torch.optim.Adam(ann.parameters(), lr=1e-2)
for _ in range(80):
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(ann(torch.as_tensor(x_train)),
                                      torch.as_tensor(y_train)).backward()
    optimizer.step()

# Layer-by-layer weight normalization: each hidden layer's threshold is 1 and its weights are
# scaled by the 99.9th percentile of its ReLU activations (the usual ANN-to-SNN conversion;
# ldsnn_lava.formats.torch_ann.from_torch does this for you on supported models).
stages, activation, previous = [], torch.as_tensor(x_train), 1.0
with torch.no_grad():
    for layer in (ann[0], ann[2]):
        activation = torch.relu(layer(activation))
        scale = float(np.percentile(activation.numpy(), 99.9))
        weight = layer.weight.numpy().astype(np.float64) * previous / scale
        stages.append(Stage([Dense(weight)], IF(threshold=1.0)))
        previous = scale
    stages.append(Stage([Dense(ann[4].weight.numpy().astype(np.float64) * previous)], None))
net = Network((64,), stages, name="my-digits-snn")
print(net)

# --- 3. The given SNN: every layer runs T = 8 steps ---------------------------------------
base_T = 8
given = evaluate(net, Schedule.uniform(net, base_T), x_val)
print(f"given SNN, T = {base_T}: validation accuracy {100 * given.accuracy(y_val):.2f} %")

# --- 4. Optimize on the validation split only (budget: 1 point of accuracy) ---------------
result = optimize(net, base_T=base_T, val=(x_val, y_val), max_drop=1.0,
                  cost="synaptic_updates", seed=0)
print(f"LD schedule {result.schedule}: validation accuracy "
      f"{100 * result.chosen.accuracy:.2f} %, {len(result.visited)} schedules searched "
      f"in {result.seconds:.1f} s")
print(f"cheapest uniform schedule in the same budget: {result.best_uniform.schedule}")

# --- 5. The honest check: the held-out test split, never seen by the search ---------------
# Wall-clock is measured, not sampled once: each schedule 5 times after its accuracy run (the
# warm-up), the three interleaved; the table shows medians with their [min-max].
test = held_out(net, result, x_test)
timings, how = time_held_out(net, schedules_of(result), x_test, repeats=5, warm_up=False)
print(comparison_table(test, y_test, timings))
print(how.describe())

# --- 6. Keep the schedule and a report ------------------------------------------------------
result.schedule.save(out_dir / "schedule.json")
write_report(out_dir, result, test, y_test, title="my-digits-snn: LD-SNN optimization",
             setup={"model": repr(net), "data set": "scikit-learn digits"}, timings=timings,
             timing_setup=how)
print(f"schedule and report written to {out_dir}")
# Next: `ldsnn evaluate model.npz --schedule schedule.json --backend lava` runs it in Lava
# (save the network first with net.save("model.npz")).
