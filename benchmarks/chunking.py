"""How big an engine chunk should be: evaluation time per image against the chunk size.

The driver runs each stage on chunks of (samples x steps) whose largest stage touches about
``CHUNK_BYTES`` (:mod:`ldsnn_lava.engine.driver`): small chunks stay in the caches but pay Python
and call overhead per chunk; large ones amortize it but spill. This script times
:func:`ldsnn_lava.evaluate` on zoo models for several ``CHUNK_BYTES`` (the default batch follows
it), round-robin in one run (medians of interleaved repeats), 1 thread, and records which is
fastest. Writes ``benchmarks/results/chunking.json``. Usage::

    python -m benchmarks.chunking [--models lenet_mnist5k ...] [--mib 1 2 4 8 16 32]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from benchmarks.common import interleaved, machine, write_json
from ldsnn_lava import Schedule, datasets, evaluate, zoo
from ldsnn_lava.engine import driver


def _timed(net, schedule, x, precision, mib):
    def run():
        previous, driver.CHUNK_BYTES = driver.CHUNK_BYTES, int(mib * 2**20)
        try:
            return evaluate(net, schedule, x, precision=precision, record_spikes=False,
                            progress=False)
        finally:
            driver.CHUNK_BYTES = previous
    return run


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mlp_digits", "lenet_mnist5k",
                                                         "vgg_animal_mnist", "lava_dl_mnist"])
    parser.add_argument("--mib", type=float, nargs="+", default=[1, 2, 4, 8, 16, 32])
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.models:
        model = zoo.load(name)
        x = model.preprocess(datasets.load(model.dataset).split("test")[0][:args.samples])
        for T in sorted({model.base_T, 32}):
            schedule = Schedule.uniform(model.network, T)
            fns = {mib: _timed(model.network, schedule, x, model.precision, mib)
                   for mib in args.mib}
            reference = fns[args.mib[0]]()
            for fn in fns.values():  # the chunk size changes speed only
                np.testing.assert_array_equal(fn().readout, reference.readout)
            timing = interleaved(fns, args.repeats)
            ms = {str(mib): 1e3 * t["median_s"] / len(x) for mib, t in timing.items()}
            best = min(ms, key=ms.get)
            rows.append({"model": name, "T": T, "ms_per_image": ms, "best_mib": float(best)})
            print(f"{name} T={T}: " + ", ".join(f"{m} MiB {v:.3f}" for m, v in ms.items())
                  + f" ms/image; best {best} MiB", flush=True)
    record = {"machine": machine(), "samples": args.samples, "repeats": args.repeats,
              "rows": rows}
    write_json("chunking", record)
    return record


if __name__ == "__main__":
    main()
