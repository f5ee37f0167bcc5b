"""The 8-bit product of fixed-point stages against float32, per zoo layer and call size.

For every ``Conv2d`` and ``Dense`` that a quantized zoo model feeds with spikes (the layers
:mod:`ldsnn_lava.engine.int8` can take), integer weights of the layer's shape and 0/1 inputs
(15 % non-zero, the zoo's activity), times the float32 op and the 8-bit op round-robin in one run
(1 thread) at several row counts (sample-steps per call), checks them equal, and reports per
layer the speed-up at each row count and the row count (and multiply-adds per call) from which
the 8-bit op is faster at every larger size tried (what ``MIN_MACS`` is chosen from). Writes
``benchmarks/results/int8.json``. Usage::

    python -m benchmarks.int8 [--rows 16 64 256 1024 4096] [--repeats 7]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.common import interleaved, machine, write_json
from ldsnn_lava import zoo
from ldsnn_lava.engine import int8
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


def float32_op(op: Conv2d | Dense, generator: torch.Generator):
    """``op`` with random integer weights in [-128, 127], in float32 (channels-last for a
    convolution, as the engine runs it), and the same weights as an op."""
    weight = torch.randint(-128, 128, op.weight.shape, generator=generator).float()
    if isinstance(op, Dense):
        return (lambda x: F.linear(x, weight)), Dense(weight.numpy())
    weight_cl = weight.contiguous(memory_format=torch.channels_last)
    return ((lambda x: F.conv2d(x, weight_cl, None, op.stride, op.padding)),
            Conv2d(weight.numpy(), None, op.stride, op.padding))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[16, 64, 256, 1024, 4096])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if not int8.available("cpu"):
        raise SystemExit("this torch build has no oneDNN quantized ops: no 8-bit product")
    generator = torch.Generator().manual_seed(0)
    results = []
    for name, op, shape in layers():
        reference, integer_op = float32_op(op, generator)
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
    record = {"machine": machine(), "rows": args.rows, "repeats": args.repeats,
              "min_macs": int8.MIN_MACS, "layers": results}
    write_json("int8", record)
    return record


if __name__ == "__main__":
    main()
