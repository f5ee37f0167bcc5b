"""Where an event-driven Dense beats the dense product: time against input density.

For each Dense layer shape of the zoo models (rows = a chunk of sample-steps), integer weights
and 0/1 inputs of several densities, times :func:`torch.nn.functional.linear` and
:func:`ldsnn_lava.engine.kernels.event_driven_linear` round-robin in one run (1 thread), checks
them equal, and reports per shape the largest density at which the event-driven product is
faster (the crossover). The engine takes the event-driven path in exact (fixed-point) stages
below ``EVENT_DRIVEN_DENSITY`` (:mod:`ldsnn_lava.engine.stages`). Writes
``benchmarks/results/event_driven.json``. Usage::

    python -m benchmarks.event_driven [--rows 2048] [--repeats 7]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from benchmarks.common import interleaved, machine, write_json
from ldsnn_lava import zoo
from ldsnn_lava.engine import native
from ldsnn_lava.engine.kernels import event_driven_linear
from ldsnn_lava.ops import Dense

DENSITIES = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5)


def dense_shapes() -> list[tuple[int, int]]:
    """(inputs, outputs) of every Dense op of the zoo models."""
    shapes = set()
    for name in zoo.names():
        for stage in zoo.load(name).network.stages:
            shapes.update(op.weight.shape[::-1] for op in stage.ops if isinstance(op, Dense))
    return sorted(shapes)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if native.library() is None:
        raise SystemExit("no C compiler here: the event-driven product is not built")
    generator = torch.Generator().manual_seed(0)
    rows = []
    for inputs, outputs in dense_shapes():
        weight = torch.randint(-128, 128, (outputs, inputs), generator=generator).float()
        weight_t = weight.t().contiguous()
        speedups = {}
        for density in DENSITIES:
            x = (torch.rand((args.rows, inputs), generator=generator) < density).float()
            if not torch.equal(event_driven_linear(x, weight_t, None, 1.0), F.linear(x, weight)):
                raise AssertionError("the event-driven product differs from the dense one")
            timing = interleaved({
                "dense": lambda x=x, w=weight: F.linear(x, w),
                "event": lambda x=x, w=weight_t: event_driven_linear(x, w, None, 1.0)},
                args.repeats)
            speedups[density] = timing["dense"]["median_s"] / timing["event"]["median_s"]
        faster = [d for d, s in speedups.items() if s > 1]
        rows.append({"inputs": inputs, "outputs": outputs, "speedup": speedups,
                     "crossover": max(faster) if faster else 0.0})
        print(f"{inputs} -> {outputs}: " + ", ".join(f"{d}: {s:.2f}x" for d, s in speedups.items())
              + f"; event-driven faster up to {rows[-1]['crossover']}", flush=True)
    record = {"machine": machine(), "rows_per_call": args.rows, "repeats": args.repeats,
              "shapes": rows}
    write_json("event_driven", record)
    return record


if __name__ == "__main__":
    main()
