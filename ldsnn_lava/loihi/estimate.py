"""Loihi resource, energy and latency estimates for uniform and LD schedules.

Work per sample comes from the engine's exact counters (:class:`ldsnn_lava.engine.Counters`);
resources come from the network's structure and
:class:`~ldsnn_lava.loihi.constraints.Loihi2Limits`;
energy and time per operation from :class:`LoihiFigures`.

**These per-operation figures are Loihi 1's** (Intel 14 nm), from Davies et al., "Loihi: A
Neuromorphic Manycore Processor with On-Chip Learning", IEEE Micro 38(1):82-99, 2018 (the
chip-performance table): 23.6 pJ and 3.5 ns per synaptic spike operation, 81 pJ / 8.4 ns per
active and 52 pJ / 5.3 ns per inactive neuron update, 113-465 ns for a mesh-wide barrier
synchronisation of 32 tiles (we take the upper value per step). They were transcribed from
the paper as cited elsewhere in this project (:class:`ldsnn_lava.costs.LoihiEnergy`) and not
re-checked against the PDF in this offline environment. Intel has published no comparable
per-operation table for Loihi 2, so the estimate is a Loihi-1-cost model applied to a
Loihi-2-resource mapping; treat absolute numbers as order-of-magnitude, ratios between
schedules as the result.

Model (per sample; stage l has N_l neurons, T_l steps, c_l cores):

- dynamic energy ``E = e_syn * (synaptic_updates + input_macs) + e_neuron * (N_l T_l +
  buffer_updates)`` (a rate-buffer update is charged as one neuron update: a buffer is one
  compartment per neuron, our assumption);
- idle energy: cores of a stage outside its window still update their neurons (inactive):
  ``e_idle * N_l * (P - T_l)`` with P the period (sum of T_l sequential, max pipelined),
  shown apart because a runtime that gates idle cores would not pay it;
- busy time of stage l: ``(synaptic ops * t_syn + neuron and buffer updates * t_neuron) /
  c_l`` (its cores work in parallel); each step also costs one barrier;
- sequential: latency = sum over stages of busy time + P barriers; one sample at a time;
- pipelined: a step lasts the slowest stage's busy time per step plus a barrier; a period is P
  steps; throughput = 1 / period, latency = L periods.

Spike routing energy and latency (1.7 pJ within a tile, a few pJ per hop) and static power
are not modelled.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field

import numpy as np

from ldsnn_lava.costs import LoihiEnergy
from ldsnn_lava.engine import Counters, evaluate
from ldsnn_lava.loihi.constraints import LOIHI2, Loihi2Limits, cores_for
from ldsnn_lava.network import Network
from ldsnn_lava.schedule import Schedule

WEIGHT_BITS = 8


@dataclass(frozen=True)
class LoihiFigures:
    """Energy (J) and time (s) per operation; defaults: Loihi 1 (see the module docstring)."""

    e_synaptic: float = LoihiEnergy.e_synaptic
    e_neuron: float = LoihiEnergy.e_neuron
    e_neuron_idle: float = 52e-12
    t_synaptic: float = 3.5e-9
    t_neuron: float = 8.4e-9
    t_neuron_idle: float = 5.3e-9
    t_barrier: float = 465e-9


@dataclass
class StageEstimate:
    """Resources and per-sample work of one stage (its output buffer included)."""

    stage: int
    neurons: int
    buffer_neurons: int
    cores: int
    synapses: int
    synaptic_memory_bytes: int
    synaptic_updates: float
    neuron_updates: float
    buffer_updates: float
    idle_neuron_updates: float
    energy_j: float
    idle_energy_j: float
    busy_s: float


@dataclass
class Estimate:
    """One schedule in one operating mode."""

    label: str
    schedule: Schedule
    stages: list[StageEstimate]
    latency_s: float
    throughput_hz: float
    total: dict[str, float] = field(init=False)

    def __post_init__(self):
        names = ("cores", "synaptic_memory_bytes", "synaptic_updates", "neuron_updates",
                 "buffer_updates", "idle_neuron_updates", "energy_j", "idle_energy_j")
        self.total = {n: float(sum(getattr(s, n) for s in self.stages)) for n in names}


def stage_synapses(net: Network) -> list[int]:
    """Explicit synapses per stage (structural edges; convolution weights not shared, a
    conservative assumption: Loihi 2 can share them)."""
    return [int(f.sum()) for f in net.fan_outs]


def cores_needed(net: Network, limits: Loihi2Limits = LOIHI2,
                 schedule: Schedule | None = None) -> list[int]:
    """Cores per stage: neurons (plus the compartments of a ``rate`` output buffer) over
    neurons per core, and synaptic memory over memory per core, whichever needs more."""
    buffers = _buffer_neurons(net, schedule)
    return [cores_for(n + b, s * WEIGHT_BITS, limits)
            for n, b, s in zip(net.num_neurons, buffers, stage_synapses(net), strict=True)]


def _buffer_neurons(net: Network, schedule: Schedule | None) -> list[int]:
    if schedule is None:
        return [0] * net.num_stages
    return [n if gap < len(schedule.buffers) and schedule.buffers[gap] == "rate" else 0
            for gap, n in enumerate(net.num_neurons)]


def estimate(net: Network, schedule: Schedule, counters: Counters, *, label: str = "",
             figures: LoihiFigures = LoihiFigures(), limits: Loihi2Limits = LOIHI2) -> Estimate:
    """Per-stage and total resources, work, energy and latency of ``schedule`` on Loihi.

    Parameters
    ----------
    net : Network
    schedule : Schedule
        Its ``mode`` (sequential or pipelined) selects the timing model.
    counters : Counters
        Per-sample work of this schedule, e.g. ``evaluate(net, schedule, x).counters``.
    label : str
        Name shown in tables.
    figures : LoihiFigures
    limits : Loihi2Limits

    Returns
    -------
    Estimate
    """
    schedule.check(net)
    steps = schedule.timesteps
    period = schedule.period
    cores = cores_needed(net, limits, schedule)
    buffer_neurons = _buffer_neurons(net, schedule)
    synapses = stage_synapses(net)
    per = counters.per_stage
    stages = []
    for index, neurons in enumerate(net.num_neurons):
        syn = float(per["synaptic_updates"][index] + per["input_macs"][index])
        upd, buf = float(per["neurons_evaluated"][index]), float(per["buffer_updates"][index])
        idle = float(neurons * (period - steps[index]))
        busy = (syn * figures.t_synaptic + (upd + buf) * figures.t_neuron) / cores[index]
        stages.append(StageEstimate(
            stage=index, neurons=neurons, buffer_neurons=buffer_neurons[index], cores=cores[index],
            synapses=synapses[index], synaptic_memory_bytes=synapses[index] * WEIGHT_BITS // 8,
            synaptic_updates=syn, neuron_updates=upd, buffer_updates=buf,
            idle_neuron_updates=idle,
            energy_j=figures.e_synaptic * syn + figures.e_neuron * (upd + buf),
            idle_energy_j=figures.e_neuron_idle * idle, busy_s=busy))
    if schedule.mode == "sequential":
        latency = sum(s.busy_s for s in stages) + period * figures.t_barrier
        throughput = 1.0 / latency
    else:
        step = max(s.busy_s / t for s, t in zip(stages, steps, strict=True)) + figures.t_barrier
        throughput = 1.0 / (period * step)
        latency = net.num_stages * period * step
    return Estimate(label or str(schedule), schedule, stages, latency, throughput)


def compare(net: Network, ld: Schedule, x, *, uniform_T: int | None = None,
            precision: str = "fixed", figures: LoihiFigures = LoihiFigures(),
            limits: Loihi2Limits = LOIHI2) -> list[Estimate]:
    """Uniform and LD schedules side by side, sequential and pipelined.

    Parameters
    ----------
    net : Network
    ld : Schedule
        The LD schedule (its mode is ignored: both modes are estimated).
    x : array-like
        Inputs whose mean work is measured with :func:`ldsnn_lava.evaluate`.
    uniform_T : int, optional
        T of the uniform baseline; default: the largest T of ``ld``.
    precision : {"fixed", "float"}
        Engine precision of the measurement (``fixed`` is what Loihi runs).

    Returns
    -------
    list of Estimate
        uniform-sequential, LD-sequential, uniform-pipelined, LD-pipelined.
    """
    T = uniform_T or max(ld.timesteps)
    schedules = {f"uniform T={T}": Schedule.uniform(net, T), "LD": ld}
    counters = {name: evaluate(net, s, x, precision=precision, record_spikes=False,
                                  progress=False).counters
                for name, s in schedules.items()}
    out = []
    for mode in ("sequential", "pipelined"):
        for name, s in schedules.items():
            moded = Schedule(s.timesteps, s.buffers, mode)
            out.append(estimate(net, moded, counters[name], label=name, figures=figures,
                                limits=limits))
    return out


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-2:
        return f"{value:.3g}"
    return f"{value:.4g}"


COLUMNS = (
    ("schedule", lambda e: e.label), ("mode", lambda e: e.schedule.mode),
    ("T_l", lambda e: "/".join(map(str, e.schedule.timesteps))),
    ("cores", lambda e: str(int(e.total["cores"]))),
    ("syn. memory (KiB)", lambda e: _fmt(e.total["synaptic_memory_bytes"] / 1024)),
    ("synaptic ops", lambda e: _fmt(e.total["synaptic_updates"])),
    ("neuron updates", lambda e: _fmt(e.total["neuron_updates"])),
    ("buffer updates", lambda e: _fmt(e.total["buffer_updates"])),
    ("energy (uJ)", lambda e: _fmt(e.total["energy_j"] * 1e6)),
    ("idle energy (uJ)", lambda e: _fmt(e.total["idle_energy_j"] * 1e6)),
    ("latency (us)", lambda e: _fmt(e.latency_s * 1e6)),
    ("samples/s", lambda e: _fmt(e.throughput_hz)),
)


def render_table(estimates: list[Estimate], fmt: str = "markdown") -> str:
    """The estimates as a Markdown table or aligned text, one row each, per sample.

    A line per mode after the table gives LD/uniform ratios of energy and latency when the
    list holds one uniform and one LD row for that mode (as :func:`compare` returns).
    """
    if fmt not in ("markdown", "text"):
        raise ValueError(f"fmt must be 'markdown' or 'text', got {fmt!r}")
    rows = [[get(e) for _, get in COLUMNS] for e in estimates]
    head = [name for name, _ in COLUMNS]
    if fmt == "markdown":
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        widths = [max(len(c) for c in col) for col in zip(head, *rows, strict=True)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))
                 for r in [head, *rows]]
    for mode in ("sequential", "pipelined"):
        pair = [e for e in estimates if e.schedule.mode == mode]
        uniform = [e for e in pair if e.schedule.is_uniform]
        ld = [e for e in pair if not e.schedule.is_uniform]
        if len(uniform) == 1 and len(ld) == 1:
            u, d = uniform[0], ld[0]
            energy = d.total["energy_j"] / u.total["energy_j"]
            lines.append(f"{mode}: LD/uniform energy {energy:.3f}, latency "
                         f"{d.latency_s / u.latency_s:.3f}, throughput "
                         f"{d.throughput_hz / u.throughput_hz:.3f}")
    return "\n".join(lines)


# --- CLI -----------------------------------------------------------------------------------


def _load_network(spec: str):
    """A network from a zoo name, a ``.net``/``.h5`` netx file or a :meth:`Network.save` file;
    also the zoo model when ``spec`` names one."""
    from pathlib import Path

    from ldsnn_lava import zoo

    if spec in zoo.names():
        model = zoo.load(spec)
        return model.network, model
    path = Path(spec)
    if not path.is_file():
        raise ValueError(f"{spec!r} is neither a zoo model ({', '.join(zoo.names())}) nor a file")
    if path.suffix in (".net", ".h5", ".hdf5"):
        from ldsnn_lava.loihi.export import load_netx_with_schedule, read_schedule

        try:
            read_schedule(path)
        except ValueError:
            from ldsnn_lava.importers.netx import from_netx

            return from_netx(path), None
        return load_netx_with_schedule(path)[0], None
    return Network.load(path), None


def _inputs(net: Network, model, data: str | None, samples: int, seed: int = 0) -> np.ndarray:
    from ldsnn_lava import datasets

    name = data or (model.dataset if model is not None else None)
    if name is None:
        rng = np.random.default_rng(seed)
        return rng.integers(0, 2, (samples, *net.input_shape)).astype(np.float64)
    split = datasets.load(name).split("validation")
    x = split[0][:samples]
    x = model.preprocess(x) if model is not None else x
    return np.asarray(x, dtype=np.float64).reshape(len(x), *net.input_shape)


def _cmd_estimate(args: argparse.Namespace) -> None:
    net, model = _load_network(args.network)
    if args.schedule:
        ld = Schedule.load(args.schedule, net)
    else:
        T = args.uniform_T or (model.base_T if model is not None else 16)
        ld = Schedule([T] + [max(1, math.ceil(T / 2))] * (net.num_stages - 1), "rate")
        print(f"(no --schedule: a hand-made LD example {ld}, not an optimized one)")
    precision = args.precision or (model.precision if model is not None else "float")
    x = _inputs(net, model, args.data, args.samples)
    uniform_T = args.uniform_T or (model.base_T if model is not None else None)
    print(render_table(compare(net, ld, x, uniform_T=uniform_T, precision=precision),
                       args.format))


def _cmd_export(args: argparse.Namespace) -> None:
    from ldsnn_lava.loihi.constraints import check_loihi2
    from ldsnn_lava.loihi.export import export_netx

    net, _ = _load_network(args.network)
    schedule = Schedule.load(args.schedule, net)
    problems = check_loihi2(net)
    for problem in problems:
        print(f"Loihi 2 limit: {problem}")
    if problems and not args.force:
        raise SystemExit("not exported: fix the limits above or pass --force")
    export_netx(net, schedule, args.output)
    print(f"wrote {args.output}")


def add_subcommands(subparsers) -> None:
    """Add ``export`` and ``estimate`` to an argparse ``subparsers`` object.

    Each sets ``func`` on its namespace; the caller runs ``args.func(args)``.
    """
    est = subparsers.add_parser(
        "estimate", help="Loihi resource/energy/latency estimate, uniform vs LD",
        description="Print the uniform-vs-LD Loihi estimate (sequential and pipelined).")
    est.add_argument("network", help="zoo model name, netx file or Network.save file")
    est.add_argument("--schedule", help="LD schedule JSON (default: a halved uniform one)")
    est.add_argument("--uniform-T", type=int, help="T of the uniform baseline "
                     "(default: the zoo model's base T, else the LD schedule's largest T)")
    est.add_argument("--data", help="data set for the work counters (default: the zoo "
                     "model's; random binary inputs for other files)")
    est.add_argument("--samples", type=int, default=200, help="inputs measured (default 200)")
    est.add_argument("--precision", choices=("fixed", "float"),
                     help="engine precision (default: the model's, else float)")
    est.add_argument("--format", choices=("markdown", "text"), default="markdown")
    est.set_defaults(func=_cmd_estimate)
    exp = subparsers.add_parser(
        "export", help="export a fixed-point LD-SNN as lava-dl netx HDF5 with its schedule",
        description="Check Loihi 2 limits, then write the network and LD schedule as netx.")
    exp.add_argument("network", help="zoo model name, netx file or Network.save file")
    exp.add_argument("schedule", help="LD schedule JSON")
    exp.add_argument("output", help="output .net file")
    exp.add_argument("--force", action="store_true", help="export despite limit violations")
    exp.set_defaults(func=_cmd_export)
