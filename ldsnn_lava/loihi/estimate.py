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
the paper as cited elsewhere in this project (:class:`ldsnn_lava.optimize.costs.LoihiEnergy`,
whose energy model this estimate applies per stage) and not
re-checked against the PDF in this offline environment. Intel has published no comparable
per-operation table for Loihi 2, so the estimate is a Loihi-1-cost model applied to a
Loihi-2-resource mapping; treat absolute numbers as order-of-magnitude, ratios between
schedules as the result.

Model (per sample; stage l has N_l neurons, T_l steps, c_l cores):

- dynamic energy ``E = e_syn * (synaptic_updates + input_macs) + e_neuron * (N_l T_l +
  buffer_updates)`` (a rate-buffer update is charged as one neuron update: a buffer is one
  compartment per neuron, our assumption); a ``graded`` buffer sends one event per non-zero
  count, and each synapse it reaches is charged one synaptic operation whatever the payload
  (Loihi 2 multiplies the weight by the payload in the same operation), its buffer one update
  per neuron per window;
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

from dataclasses import dataclass, field

from ldsnn_lava.engine import Counters, evaluate
from ldsnn_lava.errors import InvalidOption
from ldsnn_lava.loihi.limits import LOIHI2, Loihi2Limits
from ldsnn_lava.loihi.resources import WEIGHT_BITS, buffer_neurons, cores_needed, stage_synapses
from ldsnn_lava.network import Network
from ldsnn_lava.optimize.costs import LoihiEnergy
from ldsnn_lava.options import Mode, Precision
from ldsnn_lava.schedule import Schedule


@dataclass(frozen=True)
class LoihiFigures:
    """Energy (J) and time (s) per operation; defaults: Loihi 1 (see the module docstring)."""

    energy: LoihiEnergy = LoihiEnergy()
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
    buffers = buffer_neurons(net, schedule)
    synapses = stage_synapses(net)
    per = counters.per_stage
    stages = []
    for index, neurons in enumerate(net.num_neurons):
        syn = float(per["synaptic_updates"][index] + per["input_macs"][index])
        upd, buf = float(per["neurons_evaluated"][index]), float(per["buffer_updates"][index])
        idle = float(neurons * (period - steps[index]))
        busy = (syn * figures.t_synaptic + (upd + buf) * figures.t_neuron) / cores[index]
        stages.append(StageEstimate(
            stage=index, neurons=neurons, buffer_neurons=buffers[index], cores=cores[index],
            synapses=synapses[index], synaptic_memory_bytes=synapses[index] * WEIGHT_BITS // 8,
            synaptic_updates=syn, neuron_updates=upd, buffer_updates=buf,
            idle_neuron_updates=idle,
            energy_j=figures.energy.joules(syn, upd + buf),
            idle_energy_j=figures.e_neuron_idle * idle, busy_s=busy))
    if schedule.mode == Mode.SEQUENTIAL:
        latency = sum(s.busy_s for s in stages) + period * figures.t_barrier
        throughput = 1.0 / latency
    else:
        step = max(s.busy_s / t for s, t in zip(stages, steps, strict=True)) + figures.t_barrier
        throughput = 1.0 / (period * step)
        latency = net.num_stages * period * step
    return Estimate(label or str(schedule), schedule, stages, latency, throughput)


def compare(net: Network, ld: Schedule, x, *, uniform_T: int | None = None,
            precision: Precision | str = Precision.FIXED, figures: LoihiFigures = LoihiFigures(),
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
    precision : Precision or str
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
    for mode in Mode:
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
        raise InvalidOption(f"fmt must be 'markdown' or 'text', got {fmt!r}")
    rows = [[get(e) for _, get in COLUMNS] for e in estimates]
    head = [name for name, _ in COLUMNS]
    if fmt == "markdown":
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        widths = [max(len(c) for c in col) for col in zip(head, *rows, strict=True)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))
                 for r in [head, *rows]]
    for mode in Mode:
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
