"""Tutorial: carry an LD-SNN toward Loihi.

Steps: take a fixed-point SNN (lava-dl's MNIST network from the zoo: integer weights, Loihi
CUBA-LIF neurons), pick an LD schedule, check Loihi 2 limits, estimate uniform vs LD cost on
Loihi, export as lava-dl netx HDF5 with the schedule, reload, and confirm the reloaded network
gives bit-identical fixed-point outputs and that lava-dl itself loads the file.

The LD schedule here is hand-made (first layers keep T, later ones run shorter), because the
optimizer works in float precision while this network is meant for fixed point; to search
one, see ``ldsnn_lava.optimize.optimize``. The network is already integer, so quantization
(``ldsnn_lava.quantize``) is not needed.

Run: ``python tutorials/toward_loihi.py [output_dir]`` (about half a minute on 2 cores).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import ldsnn_lava  # noqa: F401  (before any lava import)
from ldsnn_lava import Schedule, datasets, evaluate, zoo
from ldsnn_lava.formats.netx import load_netx_with_schedule
from ldsnn_lava.formats.netx import write_network as write_netx
from ldsnn_lava.loihi.constraints import check_loihi2
from ldsnn_lava.loihi.estimate import compare, render_table


def main(out_dir: Path) -> None:
    model = zoo.load("lava_dl_mnist")
    net = model.network
    data = datasets.load(model.dataset)
    x_val, y_val = (a[:100] for a in data.split("validation"))
    x_val = model.preprocess(x_val)
    print(f"network: {net}")

    # 1. the given SNN and a hand-made LD schedule
    T = model.base_T
    uniform = Schedule.uniform(net, T)
    ld = Schedule([T, T, T // 2, T // 4], ["replay", "rate", "rate"])
    for name, s in (("uniform", uniform), ("LD", ld)):
        acc = evaluate(net, s, x_val, precision="fixed").accuracy(y_val)
        print(f"{name:8s} {s}: validation accuracy {acc:.3f} (100 samples, fixed point)")

    # 2. Loihi 2 limits
    problems = check_loihi2(net)
    print("Loihi 2 limits:", "all met" if not problems else "")
    for problem in problems:
        print(f"  {problem}")

    # 3. uniform vs LD on Loihi (per sample)
    print(render_table(compare(net, ld, x_val, uniform_T=T, precision="fixed"), "markdown"))

    # 4. export, reload, compare bit for bit
    path = out_dir / "lava_dl_mnist_ld.net"
    write_netx(net, ld, path)
    net2, ld2 = load_netx_with_schedule(path)
    a = evaluate(net, ld, x_val, precision="fixed")
    b = evaluate(net2, ld2, x_val, precision="fixed")
    same = np.array_equal(a.readout, b.readout) and ld2 == ld
    print(f"exported {path.name}; reloaded schedule {ld2}; fixed-point readout identical: {same}")
    if not same:
        raise SystemExit("round trip changed the outputs")

    # 5. lava-dl's own loader reads the file (the schedule is extra data to it)
    from lava.lib.dl import netx

    print(netx.hdf5.Network(net_config=str(path)))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
