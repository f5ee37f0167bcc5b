"""The 8-bit product of fixed-point stages against float32, per zoo layer and call size.

For every ``Conv2d`` and ``Dense`` that a quantized zoo model feeds with spikes (the layers
:mod:`ldsnn_lava.engine.int8` can take), integer weights of the layer's shape and 0/1 inputs
(15 % non-zero, the zoo's activity), times the float32 op and the 8-bit op round-robin in one run
(1 thread) at several row counts (sample-steps per call), checks them equal, and reports per
layer the speed-up at each row count and the row count (and multiply-adds per call) from which
the 8-bit op is faster at every larger size tried (what ``MIN_MACS`` is chosen from).

Then, end to end, each static-input zoo model in fixed point (quantized as
``benchmarks/limit.py`` does) at its base T: :func:`ldsnn_lava.evaluate` with the 8-bit path
and without it (two copies of the network, one compiled with ``LDSNN_INT8=0``), round-robin,
with their readouts and spike counts checked equal. Writes ``benchmarks/results/int8.json``.
Usage::

    python -m benchmarks.int8 [--rows 16 64 256 1024 4096] [--repeats 7] [--samples 256]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os

import numpy as np
import torch

from benchmarks.common import interleaved, machine, write_json
from benchmarks.limit import SMALL_SAMPLES, fixed_point_variant, static_models
from ldsnn_lava import Network, Schedule, evaluate, zoo
from ldsnn_lava.engine import int8
from ldsnn_lava.engine.stages import compile_ops
from ldsnn_lava.ops import Conv2d, Dense


def layers() -> list[tuple[str, Conv2d | Dense, tuple[int, ...]]]:
    """(name, op, input shape) of each distinct Conv2d and Dense fed by a spiking stage of a
    static-input zoo model (not stage 0, whose input is the image)."""
    found = {}
    for name in zoo.names():
        net = zoo.load(name).network
        if net.input_encoding.is_sequence:
            continue
        for k, stage in enumerate(net.stages[1:], start=1):
            shape = net.input_shape_of(k)
            for op in stage.ops:
                if isinstance(op, Conv2d | Dense):
                    kind = "conv" if isinstance(op, Conv2d) else "dense"
                    key = (kind, op.weight.shape, shape)
                    found.setdefault(key, (f"{name} stage {k} {kind}", op, shape))
                shape = op.output_shape(shape)
    return list(found.values())


def integer_layer(op: Conv2d | Dense, generator: torch.Generator) -> Conv2d | Dense:
    """``op`` with random integer weights in [-128, 127] and no bias."""
    weight = torch.randint(-128, 128, op.weight.shape, generator=generator)
    return dataclasses.replace(op, weight=weight.double().numpy(), bias=None)


def engine_float32_op(op: Conv2d | Dense, in_shape):
    """``op`` as the engine runs it in float32 (a convolution on channels-last input)."""
    fns, _ = compile_ops([op], in_shape, "cpu", torch.float32, spikes=False,
                         channels_last=isinstance(op, Conv2d))
    return fns[0]


@contextlib.contextmanager
def int8_setting(value: str):
    """``LDSNN_INT8`` set to ``value`` for the networks compiled inside, restored after."""
    before = os.environ.get("LDSNN_INT8")
    os.environ["LDSNN_INT8"] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ["LDSNN_INT8"]
        else:
            os.environ["LDSNN_INT8"] = before


def end_to_end(name: str, samples: int, repeats: int) -> dict:
    """One zoo model in fixed point at its base T, with and without the 8-bit path."""
    net, x = fixed_point_variant(name, samples)
    schedule = Schedule.uniform(net, zoo.load(name).base_T)
    twins, results = {}, {}
    for path, setting in (("int8", "1"), ("float32", "0")):
        twins[path] = Network(net.input_shape, net.stages, input_encoding=net.input_encoding)
        with int8_setting(setting):  # the engine is compiled on first use
            results[path] = evaluate(twins[path], schedule, x, precision="fixed",
                                     progress=False)
    a, b = results["int8"], results["float32"]
    if not (np.array_equal(a.readout, b.readout) and all(
            np.array_equal(p, q) for p, q in zip(a.spike_counts, b.spike_counts, strict=True))):
        raise AssertionError(f"{name}: the 8-bit path changed the results")
    timing = interleaved({path: lambda n=twin: evaluate(n, schedule, x, precision="fixed",
                                                        record_spikes=False, progress=False)
                          for path, twin in twins.items()}, repeats)
    row = {"model": name, "T": schedule.timesteps[0], "samples": len(x),
           **{f"{path}_s": timing[path]["median_s"] for path in twins},
           "times_s": {path: timing[path]["times_s"] for path in twins}}
    row["ratio"] = row["int8_s"] / row["float32_s"]
    spread = {path: f"{min(t) * 1e3:.1f}-{max(t) * 1e3:.1f}" for path, t in row["times_s"].items()}
    print(f"{name} T={row['T']} fixed point, {len(x)} samples, medians of {repeats}: 8-bit "
          f"{row['int8_s'] * 1e3:.1f} ms ({spread['int8']}), float32 "
          f"{row['float32_s'] * 1e3:.1f} ms ({spread['float32']}), ratio {row['ratio']:.2f}",
          flush=True)
    return row


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[16, 64, 256, 1024, 4096])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--samples", type=int, default=256,
                        help="test images per end-to-end evaluation (VGG: 32, as in limit)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if not int8.available("cpu"):
        raise SystemExit("this torch build has no oneDNN quantized ops: no 8-bit product")
    generator = torch.Generator().manual_seed(0)
    results = []
    for name, op, shape in layers():
        integer_op = integer_layer(op, generator)
        reference = engine_float32_op(integer_op, shape)
        if isinstance(op, Conv2d):
            fast = int8.int8_conv(integer_op, shape, reference, min_macs=0)
            macs_per_row = int(np.prod(op.output_shape(shape)) * np.prod(op.weight.shape[1:]))
        else:
            fast = int8.int8_dense(integer_op, reference, min_macs=0)
            macs_per_row = int(op.weight.size)
        speedups = {}
        for rows in args.rows:
            x = (torch.rand((rows, *shape), generator=generator) < 0.15).float()
            if isinstance(op, Conv2d):
                x = x.contiguous(memory_format=torch.channels_last)
            if not torch.equal(fast(x), reference(x)):
                raise AssertionError(f"{name}: the 8-bit product differs from float32")
            timing = interleaved({"float32": lambda x=x, f=reference: f(x),
                                  "int8": lambda x=x, f=fast: f(x)}, args.repeats)
            speedups[rows] = timing["float32"]["median_s"] / timing["int8"]["median_s"]
        slower = [rows for rows, s in speedups.items() if s <= 1]
        larger = [rows for rows in speedups if not slower or rows > max(slower)]
        first = min(larger) if larger else None  # faster from here on, at every size tried
        results.append({"layer": name, "input_shape": list(shape),
                        "macs_per_row": macs_per_row, "speedup": speedups,
                        "faster_from_rows": first,
                        "faster_from_macs": None if first is None else first * macs_per_row})
        print(f"{name} {tuple(shape)}: " + ", ".join(
            f"{rows} rows {s:.2f}x" for rows, s in speedups.items())
            + ("; never faster" if first is None else
               f"; faster from {first} rows ({first * macs_per_row:,} multiply-adds) on"),
            flush=True)
    models = [end_to_end(name, 32 if name in SMALL_SAMPLES else args.samples, args.repeats)
              for name in static_models()]
    record = {"machine": machine(), "rows": args.rows, "repeats": args.repeats,
              "min_macs": int8.MIN_MACS, "layers": results, "models": models}
    write_json("int8", record)
    return record


if __name__ == "__main__":
    main()
