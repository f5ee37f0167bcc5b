"""Tutorial: bring a network trained in snnTorch, through NIR, optimize its per-layer timesteps
here, and run the result in Lava.

Run:  .venv/bin/python tutorials/from_other_tools.py [OUT_DIR]      (about a minute on one core)

1. Train a small snnTorch network (``Leaky`` neurons with snnTorch's defaults) on scikit-learn's
   8x8 digits with surrogate gradients, and export it with snnTorch's own NIR exporter.
2. Read the file here. NIR states no time step and snnTorch's exporter does not write its reset
   rule, so say who wrote it: ``convention="snntorch"`` reads it as snnTorch simulates it (its
   dt = 1e-4, reset by subtraction one step after a spike). Check: same predictions as snnTorch.
3. Search per-layer timesteps on the validation split, check on the held-out test split.
4. Run the LD-SNN in Lava's simulation, and write it back to NIR with its schedule.

The same works for sinabs (``convention="sinabs"``), Norse (``"norse"``, with the ``dt`` it
exported for) and SpikingJelly (``"spikingjelly"``, with its ``dt``); a graph that follows NIR's
own definitions needs only ``dt=``.
"""

import contextlib
import io
import sys
import warnings
from pathlib import Path

import nir
import numpy as np
import snntorch as snn
import torch
from snntorch import utils as snn_utils
from snntorch.export_nir import export_to_nir

from ldsnn_lava import Network, Schedule, datasets, evaluate, to_lava
from ldsnn_lava.compare import comparison_table, held_out
from ldsnn_lava.formats.nir import NIRExportWarning, read_schedule
from ldsnn_lava.optimize import optimize

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "out/from_other_tools")
out_dir.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)

# --- 1. Train in snnTorch and export with its exporter ----------------------------------------
data = datasets.load("digits")                        # 8x8 digits in [0, 1], fixed splits
flat = {name: getattr(data, f"x_{name}").reshape(-1, 64) for name in ("train", "val", "test")}
T = 6                                                 # every layer runs T steps


def leaky(size):  # snnTorch's exporter needs one beta and threshold per neuron
    return snn.Leaky(beta=torch.full((size,), 0.9), threshold=torch.ones(size), init_hidden=True)


model = torch.nn.Sequential(torch.nn.Linear(64, 48), leaky(48), torch.nn.Linear(48, 10),
                            leaky(10))


def spike_counts(x):
    snn_utils.reset(model)
    return torch.stack([model(x) for _ in range(T)]).sum(0)   # the input every step


x_train, y_train = torch.as_tensor(flat["train"]), torch.as_tensor(data.y_train)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
for _epoch in range(8):
    for batch in torch.randperm(len(x_train)).split(64):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(spike_counts(x_train[batch]), y_train[batch]).backward()
        optimizer.step()
with torch.no_grad():
    snntorch_test = spike_counts(torch.as_tensor(flat["test"])).argmax(1).numpy()
print(f"snnTorch test accuracy at T={T}: {np.mean(snntorch_test == data.y_test):.3f}")

with contextlib.redirect_stdout(io.StringIO()):      # the exporter prints its progress
    graph = export_to_nir(model, x_train[:1], ignore_dims=[0])
nir.write(out_dir / "digits_snntorch.nir", graph)

# --- 2. Read it here, as snnTorch simulates it --------------------------------------------------
net = Network.from_nir(out_dir / "digits_snntorch.nir", convention="snntorch")
print(net)
given = evaluate(net, Schedule.uniform(net, T), flat["test"])
print(f"ldsnn, uniform T={T}: test accuracy {given.accuracy(data.y_test):.3f}; same predictions "
      f"as snnTorch: {np.mean(given.predictions == snntorch_test):.3f}")

# --- 3. Per-layer timesteps: searched on validation, checked on the held-out test split ---------
result = optimize(net, base_T=T, val=(flat["val"], data.y_val), max_drop=1.0, seed=0,
                  progress=False)
print(f"LD schedule {result.schedule} (cheapest uniform in budget: "
      f"{result.best_uniform.schedule})")
print(comparison_table(held_out(net, result, flat["test"]), data.y_test))

# --- 4. Run it in Lava; write it back to NIR with its schedule ---------------------------------
samples = flat["test"][:12]
in_lava = to_lava(net, result.schedule).run(samples)
engine = evaluate(net, result.schedule, samples)
same = np.array_equal(in_lava.predictions, engine.predictions) and all(
    np.array_equal(a, b) for a, b in zip(in_lava.spike_counts, engine.spike_counts, strict=True))
print(f"Lava ran {len(samples)} test samples: same predictions and spike counts as the engine: "
      f"{same}")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", NIRExportWarning)
    nir.write(out_dir / "digits_ld.nir", net.to_nir(result.schedule))
print(f"written {out_dir / 'digits_ld.nir'} (schedule {read_schedule(out_dir / 'digits_ld.nir')})")
for warning in caught:
    print(f"  note: {warning.message}")
