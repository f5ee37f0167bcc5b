"""One-command GPU check, sized for under 8 minutes on one H100/H200; prints its JSON.

Engine (float32) per image, uniform at base T against the optimizer's LD schedule, timed
round-robin on the device, for the zoo models; then the peers (SpikingJelly, snnTorch) if they
import. Never run in the session that wrote it (no GPU was lent): its numbers come only from a
real GPU run. ``--device cpu --quick`` is a smoke run (one small model, few samples) for tests.
Usage::

    python -m benchmarks.gpu [--device cuda] [--quick]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from benchmarks import peers
from benchmarks.common import RESULTS, interleaved, machine, write_json
from ldsnn_lava import Schedule, evaluate, zoo
from ldsnn_lava.datasets import load as load_dataset
from ldsnn_lava.optimize import optimize


def engine_row(name: str, device: str, samples: int | None, repeats: int) -> dict:
    model = zoo.load(name)
    net = model.network
    xv, yv = load_dataset(model.dataset).split("validation")
    chosen = optimize(net, base_T=model.base_T, val=(model.preprocess(xv), yv), max_drop=1.0,
                      device=device, precision=model.precision, progress=False).schedule
    x, y = load_dataset(model.dataset).split("test")
    x = torch.as_tensor(model.preprocess(x)[:samples], device=device)
    schedules = {"uniform": Schedule.uniform(net, model.base_T), "ld": chosen}
    fns = {k: (lambda s=s: evaluate(net, s, x, device=device, precision=model.precision,
                                    record_spikes=False, progress=False))
           for k, s in schedules.items()}
    timing = interleaved(fns, repeats, device)
    accuracy = {k: evaluate(net, s, x, device=device, precision=model.precision,
                            progress=False).accuracy(y[:len(x)])
                for k, s in schedules.items()}
    return {"model": name, "precision": model.precision,
            "schedules": {k: str(s) for k, s in schedules.items()},
            "test_accuracy": accuracy,
            "s_per_image": {k: t["median_s"] / len(x) for k, t in timing.items()},
            "speedup": timing["uniform"]["median_s"] / timing["ld"]["median_s"]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny and fast")
    parser.add_argument("--out", default=None, help="JSON file name (without .json)")
    parser.add_argument("--dir", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device; use --device cpu --quick for a smoke run")
    models = ["mlp_digits"] if args.quick else zoo.names()
    samples, repeats = (32, 1) if args.quick else (None, 5)
    rows, skipped = [], {}
    for name in models:
        try:
            rows.append(engine_row(name, args.device, samples, repeats))
        except ValueError as err:  # e.g. a zoo model whose files are not built
            skipped[name] = str(err)
    peer_model = "mlp_digits" if args.quick else "lenet_mnist5k"
    record = {"machine": machine(args.device), "engine": rows, "skipped": skipped,
              "peers": peers.compare(peer_model, [4] if args.quick else [5, 32], args.device,
                                     32 if args.quick else 1024, repeats)}
    write_json(args.out or f"gpu_{args.device.split(':')[0]}", record, args.dir)
    print(json.dumps(record, indent=1))
    return record


if __name__ == "__main__":
    main()
