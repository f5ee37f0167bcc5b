"""Where an event-driven Dense beats the dense product: time against input density.

For each Dense layer shape of the zoo models (rows = a chunk of sample-steps), integer weights
and 0/1 inputs of several densities, times :func:`torch.nn.functional.linear`, the 8-bit product
(:func:`ldsnn_lava.engine.int8.int8_dense`, where this torch has it) and
:func:`ldsnn_lava.engine.kernels.event_driven_linear` round-robin in one run (1 thread), checks
them equal, and reports per shape the largest density at which the event-driven product is
faster than each dense one (the crossovers). The engine takes the event-driven path in exact
(fixed-point) stages below ``EVENT_DRIVEN_DENSITY`` against a float32 product and
``EVENT_DRIVEN_DENSITY_INT8`` against an 8-bit one (:mod:`ldsnn_lava.engine.stages`). Writes
``benchmarks/results/event_driven.json``. Usage::

    python -m benchmarks.event_driven [--rows 2048] [--repeats 7]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from benchmarks.common import interleaved, machine, write_json
from ldsnn_lava import zoo
from ldsnn_lava.engine import int8, native
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
        products = {"float32": lambda x, w=weight: F.linear(x, w)}
        if int8.available("cpu"):  # the 8-bit product on every call
            products["int8"] = int8.int8_dense(Dense(weight.numpy()), products["float32"],
                                               min_macs=0)
        speedups = {name: {} for name in products}
        for density in DENSITIES:
            x = (torch.rand((args.rows, inputs), generator=generator) < density).float()
            event = event_driven_linear(x, weight_t, None, 1.0)
            if not all(torch.equal(event, product(x)) for product in products.values()):
                raise AssertionError("the event-driven product differs from a dense one")
            timing = interleaved({
                **{name: lambda x=x, p=product: p(x) for name, product in products.items()},
                "event": lambda x=x, w=weight_t: event_driven_linear(x, w, None, 1.0)},
                args.repeats)
            for name in products:
                speedups[name][density] = (timing[name]["median_s"]
                                           / timing["event"]["median_s"])
        crossovers = {name: max([d for d, s in by_density.items() if s > 1], default=0.0)
                      for name, by_density in speedups.items()}
        rows.append({"inputs": inputs, "outputs": outputs, "speedup": speedups,
                     "crossover": crossovers})
        for name, by_density in speedups.items():
            print(f"{inputs} -> {outputs} against {name}: "
                  + ", ".join(f"{d}: {s:.2f}x" for d, s in by_density.items())
                  + f"; event-driven faster up to {crossovers[name]}", flush=True)
    record = {"machine": machine(), "rows_per_call": args.rows, "repeats": args.repeats,
              "shapes": rows}
    write_json("event_driven", record)
    return record


if __name__ == "__main__":
    main()
