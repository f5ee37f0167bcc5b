"""What one Lava step costs: one layer three ways, and a whole LD-SNN three ways.

**Layer** (Dense ``n_in -> n_out`` then CubaLIF, active on every step; a RingBuffer of 0/1 spikes
feeds it, a sink RingBuffer records its spikes):

- ``baseline``: RingBuffer -> sink, no layer (what every chain pays);
- ``ld_stage``: our stage process (one process: the op and the neurons, parameters as Vars);
- ``lava_dense_lif``: Lava's own ``Dense`` + ``LIFReset`` (two processes).

**Network** (the zoo's ``lava_dl_mnist``, fixed point, under an LD schedule), per sample:

- ``to_lava``: the fast path (``LDInput`` -> stages and buffers messaging only in their windows
  -> ``LDReadout``; results through records);
- ``ldnetwork``: Lava's RingBuffer -> ``LDNetwork`` -> sink, every sub-process messaging on every
  step (what Lava's sinks and Monitor need);
- ``ldnetwork_lava_stages``: the same with the hidden layers built from Lava's ``Dense`` and
  ``LIFReset`` (one more process and one step of delay each).

Every configuration is built, started on the guarded runtime and warmed up (untimed), then timed;
configurations alternate within each repeat so background load hits all alike. Two measures, medians
with the spread of the repeats: wall-clock time, and CPU time (user + system) of the host and all
of Lava's processes together (read from /proc; on a machine shared with other work it moves far
less than wall-clock time, which also counts waiting for the CPU).

Run: ``python -m benchmarks.lava_step_cost [--steps 500] [--samples 10] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

import ldsnn_lava  # noqa: F401  (Lava compatibility fixes: before any lava import)

# isort: split
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import Dense as LavaDense
from lava.proc.io.sink import RingBuffer as Sink
from lava.proc.io.source import RingBuffer as Source
from lava.proc.lif.process import LIFReset
from ldsnn_lava.processes import LDNetwork, stage_process, to_lava
from ldsnn_lava.processes.runtime import create_runtime

from benchmarks.common import RESULTS, machine, write_json
from ldsnn_lava import CubaLIF, Dense, Schedule, datasets, zoo
from ldsnn_lava._io import atomic_write_text
from ldsnn_lava.clock import Window

WARMUP_STEPS = 10
LAYER_KINDS = ("baseline", "ld_stage", "lava_dense_lif")
NETWORK_KINDS = ("to_lava", "ldnetwork", "ldnetwork_lava_stages")
LD_SCHEDULE = [1, 2, 1, 1]  # the LD schedule `make demo` finds for lava_dl_mnist


def layer_chain(kind: str, weights: np.ndarray, spikes: np.ndarray, steps: int):
    """The process chain of one layer configuration; returns its source."""
    n_out, n_in = weights.shape
    neuron = CubaLIF(threshold=1.0, current_decay=0.5, voltage_decay=0.25)
    source = Source(data=spikes)
    if kind == "baseline":
        source.s_out.connect(Sink(shape=(n_in,), buffer=steps).a_in)
        return source
    sink = Sink(shape=(n_out,), buffer=steps)
    if kind == "ld_stage":
        active = WARMUP_STEPS + steps  # one window over the whole run
        stage = stage_process(ops=[Dense(weights)], neuron=neuron, in_shape=(n_in,),
                              window=Window(0, active, active), name="layer")
        source.s_out.connect(stage.a_in)
        stage.s_out.connect(sink.a_in)
    else:
        dense = LavaDense(weights=weights)
        lif = LIFReset(shape=(n_out,), vth=neuron.threshold, du=neuron.current_decay,
                       dv=neuron.voltage_decay, reset_interval=1 << 30)
        source.s_out.connect(dense.s_in)
        dense.a_out.connect(lif.a_in)
        lif.s_out.connect(sink.a_in)
    return source


def cpu_seconds(runtime) -> float:
    """User + system CPU seconds so far of this process and the runtime's children."""
    total = sum(os.times()[:2])
    tick = os.sysconf("SC_CLK_TCK")
    for actor in runtime._messaging_infrastructure.actors:
        fields = Path(f"/proc/{actor.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def timed_run(process, steps: int) -> tuple[float, float]:
    """(wall, CPU) seconds of ``steps`` steps of a started runtime."""
    cpu, start = cpu_seconds(process.runtime), time.perf_counter()
    process.run(condition=RunSteps(num_steps=steps))
    return time.perf_counter() - start, cpu_seconds(process.runtime) - cpu


def timed_steps(process, steps: int, tag: str) -> tuple[float, float]:
    """(wall, CPU) seconds of ``steps`` steps after the start and a warm-up (both untimed)."""
    try:
        create_runtime(process, Loihi2SimCfg(select_tag=tag))
        process.run(condition=RunSteps(num_steps=WARMUP_STEPS))
        return timed_run(process, steps)
    finally:
        process.stop()


def network_seconds_per_sample(kind: str, model, schedule: Schedule, x: np.ndarray
                               ) -> tuple[float, float]:
    """(wall, CPU) seconds per sample of one network configuration, after start and a warm-up
    period."""
    if kind == "to_lava":
        runner = to_lava(model.network, schedule, model.precision)
        graph = runner.build(x)
        process, period, steps = graph.input, schedule.period, graph.num_steps
    else:
        process = LDNetwork(net=model.network, schedule=schedule, precision=model.precision,
                            lava_stages=kind == "ldnetwork_lava_stages")
        period, steps = process.period, process.num_steps(len(x))
        Source(data=process.source_data(x)).s_out.connect(process.s_in)
        process.s_out.connect(Sink(shape=(model.network.num_classes,), buffer=steps).a_in)
    try:
        create_runtime(process, Loihi2SimCfg(select_tag="fixed_pt"))
        process.run(condition=RunSteps(num_steps=period))
        wall, cpu = timed_run(process, steps - period)
    finally:
        process.stop()
    samples = (steps - period) / period
    return wall / samples, cpu / samples


def summary(times: list[float], scale: float) -> dict:
    return {"median": statistics.median(times) * scale, "min": min(times) * scale,
            "max": max(times) * scale, "all": [t * scale for t in times]}


def summaries(pairs: list[tuple[float, float]], scale: float) -> dict:
    """Wall and CPU summaries of ``(wall, cpu)`` measurements."""
    return {"wall": summary([wall for wall, _ in pairs], scale),
            "cpu": summary([cpu for _, cpu in pairs], scale)}


def measure(n_in: int, n_out: int, steps: int, samples: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    weights = rng.normal(0.0, 0.3, (n_out, n_in))
    spikes = (rng.random((n_in, 200)) < 0.2).astype(np.float64)
    model = zoo.load("lava_dl_mnist")
    x_test, _ = datasets.load(model.dataset).split("test")
    x = model.preprocess(x_test[:samples])
    schedule = Schedule(LD_SCHEDULE, "rate")
    layer = {kind: [] for kind in LAYER_KINDS}
    network = {kind: [] for kind in NETWORK_KINDS}
    for _ in range(repeats):
        for kind in LAYER_KINDS:
            wall, cpu = timed_steps(layer_chain(kind, weights, spikes, steps), steps,
                                    "floating_pt")
            layer[kind].append((wall / steps, cpu / steps))
        for kind in NETWORK_KINDS:
            network[kind].append(network_seconds_per_sample(kind, model, schedule, x))
    layer_us = {kind: summaries(t, 1e6) for kind, t in layer.items()}
    base = {measure: layer_us["baseline"][measure]["median"] for measure in ("wall", "cpu")}
    return {
        "machine": machine(),
        "command": f"python -m benchmarks.lava_step_cost --n-in {n_in} --n-out {n_out} "
                   f"--steps {steps} --samples {samples} --repeats {repeats}",
        "layer": {"shape": [n_in, n_out], "steps": steps, "us_per_step": layer_us,
                  "layer_us_per_step_over_baseline": {
                      kind: {measure: layer_us[kind][measure]["median"] - base[measure]
                             for measure in base} for kind in LAYER_KINDS[1:]}},
        "network": {"model": "lava_dl_mnist", "schedule": LD_SCHEDULE, "samples": samples,
                    "ms_per_sample": {kind: summaries(t, 1e3) for kind, t in network.items()}},
    }


def markdown(record: dict) -> str:
    layer, network = record["layer"], record["network"]
    n_in, n_out = layer["shape"]
    lines = [f"# Lava step cost\n\n`{record['command']}`; load average at start "
             f"{record['machine']['load_average_at_start'][0]:.1f} on "
             f"{record['machine']['cores']} cores.\n",
             f"## One layer, Dense {n_in} -> {n_out} + CubaLIF, active every step "
             f"({layer['steps']} steps)\n",
             "| configuration | CPU us per step | min - max | layer alone (CPU) | wall us per "
             "step | min - max | layer alone (wall) |", "|---|---|---|---|---|---|---|"]
    for kind, value in layer["us_per_step"].items():
        alone = layer["layer_us_per_step_over_baseline"].get(kind)
        cells = []
        for measure in ("cpu", "wall"):
            v = value[measure]
            extra = "-" if alone is None else f"{alone[measure]:.0f}"
            cells.append(f"{v['median']:.0f} | {v['min']:.0f} - {v['max']:.0f} | {extra}")
        lines.append(f"| {kind} | {' | '.join(cells)} |")
    lines += ["", f"## lava_dl_mnist, fixed point, schedule {network['schedule']}, "
              f"{network['samples']} samples\n",
              "| configuration | CPU ms per sample | min - max | wall ms per sample | min - max |",
              "|---|---|---|---|---|"]
    for kind, value in network["ms_per_sample"].items():
        cpu, wall = value["cpu"], value["wall"]
        lines.append(f"| {kind} | {cpu['median']:.1f} | {cpu['min']:.1f} - {cpu['max']:.1f} | "
                     f"{wall['median']:.1f} | {wall['min']:.1f} - {wall['max']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-in", type=int, default=784)
    parser.add_argument("--n-out", type=int, default=100)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="lava_step_cost", help="result file name (no suffix)")
    parser.add_argument("--dir", default=str(RESULTS))
    args = parser.parse_args(argv)
    record = measure(args.n_in, args.n_out, args.steps, args.samples, args.repeats)
    write_json(args.out, record, Path(args.dir))
    atomic_write_text(Path(args.dir) / f"{args.out}.md", markdown(record))
    print(markdown(record))
    return record


if __name__ == "__main__":
    main()
