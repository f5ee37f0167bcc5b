"""The engine's hot path, fused kernels against the plain definitions, side by side in one run.

Currents shaped like LeNet's first stage (3456 neurons per sample by default), batch
``--batch``, window ``--T``; each pair is checked equal before it is timed round-robin:

- neuron window: :func:`~ldsnn_lava.engine.kernels.run_neuron` vs looping ``neuron.step``
  (IF, CubaLIF);
- rate buffer: :func:`~ldsnn_lava.engine.kernels.rate_emit` vs
  :func:`ldsnn_lava.buffers.rate_raster`;
- spike counts: :func:`ldsnn_lava.engine.kernels.spike_counts` vs ``raster.sum(0)``.

Writes ``benchmarks/results/engine_speed.json``. Usage::

    python -m benchmarks.engine_speed [--batch 128] [--T 32] [--threads 2]
"""

from __future__ import annotations

import argparse

import torch

from benchmarks.common import interleaved, machine, write_json
from ldsnn_lava import IF, CubaLIF
from ldsnn_lava.buffers import rate_raster
from ldsnn_lava.engine.kernels import rate_emit, run_neuron, spike_counts


def _definition(neuron, currents):
    state = neuron.initial_state(currents[0])
    raster = torch.empty(currents.shape, dtype=torch.bool)
    for t in range(currents.shape[0]):
        state, raster[t] = neuron.step(state, currents[t])
    return state, raster


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--neurons", type=int, default=3456)
    parser.add_argument("--T", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    currents = torch.randn((args.T, args.batch, args.neurons), generator=generator) * 0.4
    counts = torch.randint(0, args.T + 1, (args.batch, args.neurons), generator=generator)
    pairs = {
        "IF window": (lambda: run_neuron(IF(1.0), currents)[1],
                      lambda: _definition(IF(1.0), currents)[1]),
        "CubaLIF window": (lambda: run_neuron(CubaLIF(1.0, 0.25, 0.125), currents)[1],
                           lambda: _definition(CubaLIF(1.0, 0.25, 0.125), currents)[1]),
        "rate buffer": (lambda: rate_emit(counts, args.T, args.T // 2 + 1),
                        lambda: rate_raster(counts, args.T, args.T // 2 + 1)),
    }
    raster = run_neuron(IF(1.0), currents)[1]
    pairs["spike counts"] = (lambda: spike_counts(raster), lambda: raster.sum(0))
    rows = {}
    for name, (fast, plain) in pairs.items():
        if not torch.equal(fast().to(torch.int64), plain().to(torch.int64)):
            raise AssertionError(f"{name}: fused result differs from the definition")
        timing = interleaved({"fused": fast, "definition": plain}, args.repeats)
        rows[name] = {k: v["median_s"] for k, v in timing.items()}
        rows[name]["speedup"] = rows[name]["definition"] / rows[name]["fused"]
        print(f"| {name} | {rows[name]['definition']:.4f} | {rows[name]['fused']:.4f} | "
              f"{rows[name]['speedup']:.1f}x |", flush=True)
    record = {"machine": machine(), "batch": args.batch, "neurons": args.neurons, "T": args.T,
              "repeats": args.repeats, "rows": rows}
    write_json("engine_speed", record)
    return record


if __name__ == "__main__":
    main()
