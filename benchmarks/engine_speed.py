"""The engine's kernels three ways, side by side in one run: compiled C loops, torch operations
and looping the definition.

Currents shaped like LeNet's first stage (3456 neurons per sample by default), batch
``--batch``, window ``--T``, cut into chunks of ``--chunk`` steps as the driver runs them. For
each kernel every path is checked equal to the definition, then all are timed round-robin:

- IF and float CubaLIF windows (the kernels of :mod:`ldsnn_lava.engine.kernels` vs
  :class:`~ldsnn_lava.engine.kernels.DefinitionLoop`, which loops ``neuron.step``);
- fixed-point CubaLIF (Loihi's integer definition) on integer currents;
- the rate buffer's emit window (:class:`~ldsnn_lava.engine.kernels.RateEmitter` vs
  :func:`ldsnn_lava.buffers.rate_raster`).

Writes ``benchmarks/results/engine_speed.json``. Usage::

    python -m benchmarks.engine_speed [--batch 32] [--T 32] [--chunk 4] [--threads 1]
"""

from __future__ import annotations

import argparse
from unittest import mock

import torch

from benchmarks.common import interleaved, machine, write_json
from ldsnn_lava import IF, CubaLIF
from ldsnn_lava.buffers import rate_raster
from ldsnn_lava.engine import native
from ldsnn_lava.engine.kernels import DefinitionLoop, RateEmitter, neuron_kernel


def _chunked(kernel, currents, chunk):
    """The kernel over a (T, M) window chunk by chunk, as the driver runs it: state carried,
    spikes into one preallocated raster, counts accumulated."""
    out = torch.empty_like(currents)
    counts = torch.zeros(currents.shape[1], dtype=torch.int32)
    state = kernel.start(currents[0])
    for first in range(0, currents.shape[0], chunk):
        kernel.run(currents[first:first + chunk], state, out[first:first + chunk], counts)
    return out.bool()


def _torch_path(fn):
    """``fn`` run on the torch kernels (as on a machine without a C compiler)."""
    def run():
        with mock.patch.object(native, "library", lambda: None):
            return fn()
    return run


def _emit(counts, t_in, t_out, chunk):
    emitter = RateEmitter(counts, t_in, torch.float32)
    return torch.cat([emitter.emit(min(chunk, t_out - first)) for first in range(0, t_out, chunk)]
                     ).view(t_out, *counts.shape).bool()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--neurons", type=int, default=3456)
    parser.add_argument("--T", type=int, default=32)
    parser.add_argument("--chunk", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    shape = (args.T, args.batch * args.neurons)
    currents = torch.randn(shape, generator=generator) * 0.4
    integers = torch.randint(-40, 120, shape, generator=generator).to(torch.float32)
    counts = torch.randint(0, args.T + 1, (args.batch, args.neurons), generator=generator)
    t_out = args.T // 2 + 1
    cases = {
        "IF": (IF(1.0), currents, False),
        "CubaLIF": (CubaLIF(1.0, 0.25, 0.125), currents, False),
        "CubaLIF fixed": (CubaLIF(100, 1024 / 4096, 256 / 4096, 3), integers, True),
    }
    rows = {}
    with torch.inference_mode():
        for name, (neuron, x, fixed) in cases.items():
            fast, loop = neuron_kernel(neuron, fixed), DefinitionLoop(neuron, fixed)
            fns = {"compiled": lambda k=fast, x=x: _chunked(k, x, args.chunk),
                   "torch": _torch_path(lambda k=fast, x=x: _chunked(k, x, args.chunk)),
                   "definition": lambda k=loop, x=x: _chunked(k, x, args.chunk)}
            rows[name] = _compare(name, fns, args.repeats, native.library() is not None)
        fns = {"compiled": lambda: _emit(counts, args.T, t_out, args.chunk),
               "torch": _torch_path(lambda: _emit(counts, args.T, t_out, args.chunk)),
               "definition": lambda: rate_raster(counts, args.T, t_out)}
        rows["rate buffer"] = _compare("rate buffer", fns, args.repeats,
                                       native.library() is not None)
    record = {"machine": machine(), "batch": args.batch, "neurons": args.neurons, "T": args.T,
              "chunk": args.chunk, "repeats": args.repeats,
              "compiled_available": native.library() is not None, "rows": rows}
    write_json("engine_speed", record)
    return record


def _compare(name: str, fns: dict, repeats: int, compiled: bool) -> dict:
    if not compiled:
        del fns["compiled"]
    results = {path: fn() for path, fn in fns.items()}
    for path, result in results.items():
        if not torch.equal(result, results["definition"]):
            raise AssertionError(f"{name}: the {path} kernels differ from the definition")
    timing = interleaved(fns, repeats)
    row = {path: t["median_s"] for path, t in timing.items()}
    print(f"| {name} | " + " | ".join(f"{path} {seconds * 1e3:.1f} ms "
                                      f"({row['definition'] / seconds:.1f}x)"
                                      for path, seconds in row.items()) + " |", flush=True)
    return row


if __name__ == "__main__":
    main()
