"""Cost models the optimizer minimizes (``docs/design.md``, methodology).

A cost turns one schedule's per-sample work counters (:class:`ldsnn_lava.engine.Counters`)
into one number. Four are provided:

``synaptic_updates``
    Synaptic operations per sample: the ``synaptic_updates`` counter plus ``input_macs`` (the
    multiply-accumulates of stage 1 under ``direct`` input, which grow with T_1 and would
    otherwise be free to the search).
``neurons_evaluated``
    ``sum_l N_l * T_l`` per sample.
``energy``
    A Loihi-style energy model in joules per sample (:class:`LoihiEnergy`).
``latency``
    Seconds per sample predicted from a measured per-stage latency profile of this platform
    (:class:`LatencyProfile`, made by :func:`measure_latency_profile`).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ldsnn_lava._io import atomic_write_text, check_readable
from ldsnn_lava.engine.driver import StageEngine, as_input, run_batch
from ldsnn_lava.engine.result import Counters
from ldsnn_lava.errors import FileFormatError, InvalidOption
from ldsnn_lava.network import Network
from ldsnn_lava.options import BufferKind
from ldsnn_lava.schedule import Schedule

MIN_TIMING_S = 0.01
"""Shortest span one latency timing covers (it averages as many runs as that takes)."""

COST_NAMES = ("synaptic_updates", "neurons_evaluated", "energy", "latency")


class Cost:
    """Base class: ``cost(schedule, counters)`` gives the cost of one schedule per sample.

    Attributes
    ----------
    name : str
        Registry name.
    unit : str
        Unit of the value, for reports.
    """

    name = "cost"
    unit = ""

    def __call__(self, schedule: Schedule, counters: Counters) -> float:
        raise NotImplementedError

    def describe(self) -> str:
        """One line for reports."""
        return f"{self.name} ({self.unit})"


class SynapticUpdates(Cost):
    """Synaptic updates plus input MACs, per sample."""

    name, unit = "synaptic_updates", "synaptic ops/sample"

    def __call__(self, schedule: Schedule, counters: Counters) -> float:
        return counters.total["synaptic_updates"] + counters.total["input_macs"]


class NeuronsEvaluated(Cost):
    """Neuron updates ``sum_l N_l * T_l`` per sample."""

    name, unit = "neurons_evaluated", "neuron updates/sample"

    def __call__(self, schedule: Schedule, counters: Counters) -> float:
        return counters.total["neurons_evaluated"]


@dataclass(frozen=True)
class LoihiEnergy(Cost):
    """A Loihi-style energy model: a fixed energy per synaptic and per neuron update.

    ``E = e_synaptic * (synaptic_updates + input_macs)
    + e_neuron * (neurons_evaluated + buffer_updates)`` joules per sample.

    Parameters
    ----------
    e_synaptic : float
        Joules per synaptic operation. Default 23.6e-12: the "synaptic spike op" energy of
        Loihi (14 nm) in Davies et al., "Loihi: A Neuromorphic Manycore Processor with On-Chip
        Learning", IEEE Micro 38(1):82-99, 2018, Table 2 (minimum energy per synaptic spike
        operation).
    e_neuron : float
        Joules per neuron update. Default 81e-12: the "neuron update, active" energy of the
        same table (52 pJ inactive; inactive stages of an LD-SNN do no neuron work here).

    Notes
    -----
    A rate-buffer update is charged as one neuron update: on Loihi a buffer is a compartment
    that integrates and re-emits. That is this project's modelling assumption, not a figure of
    the paper; static power and spike routing (1.7 pJ within a tile, 3.5 pJ per tile hop in
    the same table) are not modelled.
    """

    e_synaptic: float = 23.6e-12
    e_neuron: float = 81e-12

    name = "energy"
    unit = "J/sample"

    def __post_init__(self):
        for field in ("e_synaptic", "e_neuron"):
            value = getattr(self, field)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"LoihiEnergy {field} must be a finite number >= 0, "
                                 f"got {value!r}")

    def joules(self, synaptic_ops: float, neuron_updates: float) -> float:
        """Energy of this many synaptic operations and neuron (or buffer) updates."""
        return self.e_synaptic * synaptic_ops + self.e_neuron * neuron_updates

    def __call__(self, schedule: Schedule, counters: Counters) -> float:
        t = counters.total
        return self.joules(t["synaptic_updates"] + t["input_macs"],
                           t["neurons_evaluated"] + t["buffer_updates"])


@dataclass(frozen=True)
class LatencyProfile(Cost):
    """Per-stage latency of one platform: stage l costs ``fixed[l] + per_step[l] * T_l``
    seconds per sample; the cost is the sum over stages.

    Parameters
    ----------
    fixed : sequence of float
        Seconds per sample independent of T_l (op set-up, buffer hand-off).
    per_step : sequence of float
        Seconds per sample per timestep.
    platform : str
        Where it was measured, for reports.
    """

    fixed: tuple[float, ...]
    per_step: tuple[float, ...]
    platform: str = ""

    name = "latency"
    unit = "s/sample"

    def __post_init__(self):
        try:
            fixed, per_step = tuple(map(float, self.fixed)), tuple(map(float, self.per_step))
        except (TypeError, ValueError):
            raise InvalidOption("latency profile times must be sequences of numbers") from None
        if len(fixed) != len(per_step) or not fixed:
            raise InvalidOption(f"latency profile needs one fixed and one per-step time per "
                                f"stage, got {len(fixed)} and {len(per_step)}")
        if not all(np.isfinite(v) and v >= 0 for v in fixed + per_step):
            raise InvalidOption("latency profile times must be finite and >= 0")
        object.__setattr__(self, "fixed", fixed)
        object.__setattr__(self, "per_step", per_step)

    def __call__(self, schedule: Schedule, counters: Counters) -> float:
        if schedule.num_stages != len(self.fixed):
            raise InvalidOption(f"latency profile has {len(self.fixed)} stages, the schedule "
                                f"{schedule.num_stages}")
        steps = np.asarray(schedule.timesteps, dtype=np.float64)
        return float(np.sum(np.asarray(self.fixed) + np.asarray(self.per_step) * steps))

    def save(self, path: str | Path) -> None:
        """Write the profile as JSON, atomically."""
        atomic_write_text(path, json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> LatencyProfile:
        """Read a profile written by :meth:`save`."""
        path = check_readable(path, "latency profile")
        try:
            data = json.loads(path.read_text())
            return cls(data["fixed"], data["per_step"], data.get("platform", ""))
        except (ValueError, RecursionError, KeyError, TypeError, AttributeError) as err:
            raise FileFormatError(f"{path}: not a latency profile ({err})") from None


def _time_stage(engine: StageEngine, stage: int, x: torch.Tensor, T: int, repeats: int
                ) -> float:
    """Median seconds of one stage's window of ``T`` steps on batch ``x``, its input emitted
    by a ``rate`` buffer (or the network input for stage 0). Each timing averages enough runs
    to last :data:`MIN_TIMING_S`, so that short windows are resolved above the clock's noise."""
    schedule = Schedule((T,) * engine.net.num_stages, buffers=BufferKind.RATE)
    counts = None
    if stage > 0:  # bring the batch to this stage's input
        counts = engine.counts(stage - 1, run_batch(engine, schedule, x, stop=stage)[stage - 1])

    def run() -> None:
        if stage == 0:
            run_batch(engine, schedule, x, stop=1)
        else:
            run_batch(engine, schedule, start=stage, start_counts=counts, stop=stage + 1)
        if engine.device.type == "cuda":
            torch.cuda.synchronize(engine.device)

    start = time.perf_counter()
    run()
    inner = max(1, math.ceil(MIN_TIMING_S / max(time.perf_counter() - start, 1e-9)))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            run()
        times.append((time.perf_counter() - start) / inner)
    return float(np.median(times))


def measure_latency_profile(net: Network, x, *, steps: Sequence[int] = (2, 8),
                            device: str = "cpu", repeats: int = 3) -> LatencyProfile:
    """Measure each stage's latency on this platform with the torch engine.

    Each stage is timed on the batch ``x`` at two window lengths; a line through the two
    medians gives its fixed and per-step seconds per sample (negative parts clipped to 0).

    Parameters
    ----------
    net : Network
    x : array-like
        A batch of representative inputs ``(B, *net.input_shape)``; B in the tens or hundreds.
    steps : pair of int
        The two window lengths timed.
    device : str
        ``"cpu"`` or ``"cuda"``.
    repeats : int
        Timings per point; the median is used.

    Returns
    -------
    LatencyProfile
    """
    t_lo, t_hi = (int(s) for s in steps)
    if not 1 <= t_lo < t_hi:
        raise ValueError(f"steps must be two increasing ints >= 1, got {tuple(steps)}")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    x = as_input(x, net)
    if x.shape[0] == 0:
        raise ValueError("latency profiling needs at least one sample")
    engine = StageEngine.of(net, device)
    x = x.to(engine.device)
    fixed, per_step = [], []
    with torch.inference_mode():
        _time_stage(engine, 0, x, t_lo, 1)  # warm-up
        for stage in range(net.num_stages):
            lo = _time_stage(engine, stage, x, t_lo, repeats) / x.shape[0]
            hi = _time_stage(engine, stage, x, t_hi, repeats) / x.shape[0]
            slope = max(0.0, (hi - lo) / (t_hi - t_lo))
            per_step.append(slope)
            fixed.append(max(0.0, lo - slope * t_lo))
    platform = f"torch {torch.__version__} on {engine.device.type}"
    if engine.device.type == "cuda":
        platform += f" ({torch.cuda.get_device_name(engine.device)})"
    return LatencyProfile(tuple(fixed), tuple(per_step), platform)


def get_cost(cost: str | Cost, *, profile: LatencyProfile | None = None) -> Cost:
    """Resolve a cost name (see :data:`COST_NAMES`) or pass a :class:`Cost` through.

    ``"latency"`` needs ``profile`` (see :func:`measure_latency_profile`).
    """
    if isinstance(cost, Cost):
        return cost
    if cost == "synaptic_updates":
        return SynapticUpdates()
    if cost == "neurons_evaluated":
        return NeuronsEvaluated()
    if cost == "energy":
        return LoihiEnergy()
    if cost == "latency":
        if profile is None:
            raise InvalidOption("cost 'latency' needs a measured profile "
                             "(ldsnn_lava.costs.measure_latency_profile)")
        return profile
    raise InvalidOption(f"unknown cost {cost!r}; choose one of {COST_NAMES}")
