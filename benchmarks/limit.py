"""How far the engine is from this CPU's limits, and how it compares with its peers.

Everything is measured in one run, at ``--threads`` threads (default 1), timings are medians of
round-robin repeats (so background load hits all alike), each repeat running a function often
enough to last ``--min-seconds`` (so a short call is not measured as one scheduler slice):

- **peak**: the best FLOP rate of dense probes timed beside each model (a float32 GEMM and a
  channels-last 3x3 convolution, the fastest shapes this CPU runs);
- **dense limit** of a model at T: its dense arithmetic (:func:`dense_flops`: every multiply-add
  of its ops, stage 0 under direct input once per sample since its input does not change) at the
  peak rate;
- **event-driven limit**: the arithmetic an event-driven simulator would do, from the engine's
  own work counters (two FLOPs per synaptic update, plus stage 0's input multiply-adds once per
  sample), at the same peak rate;
- **ops at their shapes**: the model's own ops (the engine's compiled float32 convolutions,
  products and pools, no neurons) on dense random inputs of the engine's chunk size, every
  stage for every step (stage 0 once per sample under direct input): what torch's kernels take
  for the dense arithmetic at this model's shapes, which for narrow layers is far below the peak
  (:func:`ops_at_shapes`);
- **engine**: :func:`ldsnn_lava.evaluate` on ``--samples`` test images (VGG: ``--vgg-samples``),
  uniform schedule, in float (float32) and fixed point (the Loihi integer definition: the
  trained models quantized by :func:`ldsnn_lava.quantize`, lava-dl's network as shipped);
- **peers** (:mod:`benchmarks.peers`: SpikingJelly, snnTorch, sinabs, Norse, when installed) on
  the same images and weights, float32, IF networks.

Writes ``benchmarks/results/limit.json`` and ``limit.md``. Usage::

    python -m benchmarks.limit [--models ...] [--threads 1] [--samples 256] [--repeats 5]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks import peers
from benchmarks.common import RESULTS, interleaved, machine, write_json
from ldsnn_lava import Schedule, datasets, evaluate, quantize, zoo
from ldsnn_lava._io import atomic_write_text
from ldsnn_lava.engine import StageEngine
from ldsnn_lava.network import Network
from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Scale, SumPool2d
from ldsnn_lava.options import InputEncoding, Precision

SMALL_SAMPLES = {"vgg_animal_mnist": "vgg_samples"}


def static_models() -> list[str]:
    """The zoo models with static input (a sequence model's limits and peers are another
    study)."""
    return [name for name in zoo.names()
            if not zoo.load(name).network.input_encoding.is_sequence]


def repeated(fn, min_seconds: float):
    """``fn`` run as many times as one call must be repeated to last ``min_seconds`` (after a
    calibration call), as one function, with that count."""
    start = time.perf_counter()
    fn()
    count = max(1, math.ceil(min_seconds / max(time.perf_counter() - start, 1e-6)))

    def run():
        for _ in range(count):
            fn()

    return run, count


def stage_flops(net: Network, stage: int) -> float:
    """FLOPs of one sample's step of ``stage``: two per multiply-add of Dense, Conv2d and
    Scale, one per pooled input."""
    shape, flops = net.input_shape_of(stage), 0.0
    for op in net.stages[stage].ops:
        out = op.output_shape(shape)
        if isinstance(op, Dense):
            flops += 2.0 * op.weight.size
        elif isinstance(op, Conv2d):
            flops += 2.0 * np.prod(out) * np.prod(op.weight.shape[1:])
        elif isinstance(op, AvgPool2d | SumPool2d):
            flops += float(np.prod(out) * op.area)
        elif isinstance(op, Scale):
            flops += 2.0 * np.prod(shape)
        shape = out
    return flops


def dense_flops(net: Network, T: int) -> float:
    """Dense FLOPs of one sample under the uniform schedule at T."""
    once = net.input_encoding == InputEncoding.DIRECT
    return sum(stage_flops(net, k) * (1 if k == 0 and once else T)
               for k in range(net.num_stages))


def event_flops(net: Network, counters, T: int) -> float:
    """Event-driven FLOPs of one sample: two per synaptic update, plus stage 0's input
    multiply-adds once (under direct input)."""
    return 2.0 * (counters.total["synaptic_updates"] + counters.total["input_macs"] / T)


def ops_at_shapes(net: Network, T: int, samples: int):
    """A function running the network's ops (float32, no neurons) as the engine would for
    ``samples`` samples at uniform T: per stage, chunks of the engine's cache-sized row count
    of dense random inputs, as many as the stage's T * samples rows need (``samples`` rows for
    stage 0 under direct input)."""
    engine = StageEngine.of(net, "cpu", torch.float32, Precision.FLOAT)
    once = net.input_encoding == InputEncoding.DIRECT
    calls = []
    for k, compiled in enumerate(engine.stages):
        rows = samples * (1 if k == 0 and once else T)
        chunk = min(rows, engine.chunk_rows([k]))
        x = torch.rand(chunk, *compiled.in_shape)
        if compiled.channels_last_in:
            x = x.contiguous(memory_format=torch.channels_last)
        calls.append((compiled.ops, x, math.ceil(rows / chunk)))

    def run():
        for ops, x, count in calls:
            for _ in range(count):
                y = x
                for fn in ops:
                    y = fn(y)

    return run


def _probes() -> dict:
    """Dense probes: name -> (function, FLOPs)."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    x = torch.randn(32, 64, 28, 28).contiguous(memory_format=torch.channels_last)
    w = torch.randn(64, 64, 3, 3).contiguous(memory_format=torch.channels_last)
    return {"peak gemm": (lambda: a @ b, 2.0 * 1024**3),
            "peak conv": (lambda: F.conv2d(x, w, padding=1), 2.0 * 32 * 64 * 64 * 9 * 28 * 28)}


def _variants(name: str, samples: int) -> dict:
    """precision -> (network, inputs) for one zoo model."""
    model = zoo.load(name)
    x = model.preprocess(datasets.load(model.dataset).split("test")[0][:samples])
    return {"float": (model.network, x), "fixed": fixed_point_variant(name, samples)}


def fixed_point_variant(name: str, samples: int) -> tuple[Network, np.ndarray]:
    """A zoo model's network and ``samples`` test inputs in fixed point: as shipped for a
    fixed-point model, else quantized (:func:`ldsnn_lava.quantize`) with its inputs encoded."""
    model = zoo.load(name)
    x = model.preprocess(datasets.load(model.dataset).split("test")[0][:samples])
    if model.precision == Precision.FIXED:
        return model.network, x
    quantized = quantize(model.network)
    return quantized.network, quantized.encode_input(x)


def measure(name: str, T: int, samples: int, repeats: int, with_peers: bool,
            min_seconds: float) -> dict:
    """One row: the engine in float and fixed, its limits, and the peers."""
    variants = _variants(name, samples)
    fns, flops, counters = {}, {}, {}
    for precision, (net, x) in variants.items():
        schedule = Schedule.uniform(net, T)
        result = evaluate(net, schedule, x, precision=precision, record_spikes=False,
                          progress=False)
        counters[precision] = result.counters
        flops[precision] = (dense_flops(net, T) * len(x),
                            event_flops(net, result.counters, T) * len(x))
        fns[f"engine {precision}"] = (lambda n=net, s=schedule, x=x, p=precision: evaluate(
            n, s, x, precision=p, record_spikes=False, progress=False))
    probes = _probes()
    fns.update({probe: fn for probe, (fn, _) in probes.items()})
    fns["ops at shapes"] = ops_at_shapes(variants["float"][0], T, len(variants["float"][1]))
    row = {"model": name, "T": T, "samples": len(variants["float"][1]), "peers": {}}
    net, x = variants["float"]
    x = torch.as_tensor(x, dtype=torch.float32)
    ours = evaluate(net, Schedule.uniform(net, T), x, record_spikes=False, progress=False)
    for peer, factory in (peers.RUNNERS.items() if with_peers else ()):
        try:
            run = factory(net, "cpu")
        except ValueError as err:  # e.g. a CubaLIF network
            row["peers"][peer] = {"skipped": str(err)}
            continue
        if run is None:
            row["peers"][peer] = {"skipped": "not installed"}
            continue
        with torch.inference_mode():
            readout = run(x, T).double().numpy()
        row["peers"][peer] = {"prediction_agreement": float(np.mean(
            readout.argmax(1) == ours.predictions))}
        fns[f"peer {peer}"] = (lambda r=run: _inference(r, x, T))
    counts = {}
    for key, fn in list(fns.items()):
        fns[key], counts[key] = repeated(fn, min_seconds)
    timing = interleaved(fns, repeats)
    for key, result in timing.items():  # seconds per call
        result["times_s"] = [t / counts[key] for t in result["times_s"]]
        result["median_s"] = statistics.median(result["times_s"])
    peak = max(flop / timing[probe]["median_s"] for probe, (_, flop) in probes.items())
    row["peak_gflops"] = peak / 1e9
    row["ops_at_shapes_s"] = timing["ops at shapes"]["median_s"]
    row["ops_at_shapes_over_dense"] = row["ops_at_shapes_s"] * peak / flops["float"][0]
    for precision in variants:
        seconds = timing[f"engine {precision}"]["median_s"]
        dense, event = flops[precision]
        row[precision] = {"engine_s": seconds, "dense_limit_s": dense / peak,
                          "event_limit_s": event / peak,
                          "over_dense": seconds * peak / dense,
                          "over_event": seconds * peak / event,
                          "times_s": timing[f"engine {precision}"]["times_s"]}
    for peer, entry in row["peers"].items():
        if "skipped" not in entry:
            entry["s"] = timing[f"peer {peer}"]["median_s"]
            entry["times_s"] = timing[f"peer {peer}"]["times_s"]
            entry["over_ours"] = entry["s"] / row["float"]["engine_s"]
    return row


def _inference(run, x, T):
    with torch.inference_mode():
        return run(x, T)


def _ms(times_s: list[float]) -> str:
    """A median time in ms with its spread (min-max) over the repeats."""
    return (f"{statistics.median(times_s) * 1e3:.1f} ({min(times_s) * 1e3:.1f}-"
            f"{max(times_s) * 1e3:.1f})")


def _peer_cell(entry: dict, ours_s: list[float]) -> str:
    """A peer's time over ours (of the medians), the range of the per-repeat ratios (each
    repeat timed both in turn) and the agreement of predictions."""
    ratios = [theirs / mine for theirs, mine in zip(entry["times_s"], ours_s, strict=True)]
    return (f"{entry['over_ours']:.2f}x [{min(ratios):.2f}-{max(ratios):.2f}] "
            f"({entry['prediction_agreement']:.2f})")


def markdown(record: dict) -> str:
    m = record["machine"]
    names = list(peers.RUNNERS)
    lines = [
        "# The engine against this CPU's limits and its peers", "",
        f"`{record['command']}` on {m['cpu']} ({m['cores']} cores, {m['torch_threads']} torch "
        f"threads, 1-minute load average at start {m['load_average_at_start'][0]:.2f}), torch "
        f"{m['torch']}. Times: medians of {record['repeats']} round-robin repeats, their "
        "spread (min-max) in brackets; ratios are of the medians. Peak: the best of "
        "the dense probes timed beside each model. Engine time over the dense limit (all "
        "multiply-adds at the peak rate) and over the event-driven limit (two FLOPs per "
        "synaptic update at the peak rate); ops: the model's own convolutions, products and "
        "pools alone (float32, dense random inputs, no neurons) at its shapes, over the dense "
        "limit, and the float engine over them; peers: their time over ours (float, same "
        "images and weights; the range of the per-repeat ratios in square brackets, the "
        "agreement of predictions with ours in round ones).", "",
        "| model | T | images | peak GFLOP/s | ops / dense | float ms | / dense | / ops | / event "
        "| fixed ms | / dense | / event | " + " | ".join(names) + " |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(names),
    ]
    for row in record["rows"]:
        cells = []
        for name in names:
            entry = row["peers"].get(name, {"skipped": "not run"})
            cells.append("-" if "skipped" in entry else
                         _peer_cell(entry, row["float"]["times_s"]))
        f, q = row["float"], row["fixed"]
        lines.append(
            f"| {row['model']} | {row['T']} | {row['samples']} | {row['peak_gflops']:.0f} | "
            f"{row['ops_at_shapes_over_dense']:.2f} | {_ms(f['times_s'])} | "
            f"{f['over_dense']:.2f} | {f['engine_s'] / row['ops_at_shapes_s']:.2f} | "
            f"{f['over_event']:.2f} | "
            f"{_ms(q['times_s'])} | {q['over_dense']:.2f} | {q['over_event']:.2f} | "
            + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None,
                        help="zoo models with static input (default: all of them)")
    parser.add_argument("--T", type=int, nargs="+", default=None,
                        help="timesteps (default: each model's base T and 32)")
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--vgg-samples", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--min-seconds", type=float, default=0.3,
                        help="each timed repeat lasts at least this long")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--out", default="limit", help="result name under benchmarks/results")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.models or static_models():
        samples = getattr(args, SMALL_SAMPLES[name]) if name in SMALL_SAMPLES else args.samples
        for T in args.T or sorted({zoo.load(name).base_T, 32}):
            rows.append(measure(name, T, samples, args.repeats, not args.no_peers,
                                args.min_seconds))
            print(markdown({"machine": machine(), "command": "", "repeats": args.repeats,
                            "rows": rows[-1:]}).splitlines()[-1], flush=True)
    command = "python -m benchmarks.limit " + " ".join(argv if argv is not None else
                                                        __import__("sys").argv[1:])
    record = {"machine": machine(), "command": command.strip(), "repeats": args.repeats,
              "rows": rows}
    write_json(args.out, record)
    atomic_write_text(RESULTS / f"{args.out}.md", markdown(record))
    return record


if __name__ == "__main__":
    main()
