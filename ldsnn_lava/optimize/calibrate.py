"""Per-stage threshold calibration of an IF network for the timesteps of an LD schedule.

A stage that runs few steps, or that receives counts re-emitted by a ``rate`` buffer, sees a
quantization error the given SNN never saw: with T_l steps a neuron can only say ``c / T_l`` of
its threshold, and anything below half a step is lost. Calibration scales each spiking stage's
threshold by a factor ``s_l`` (its ``v_init`` with it) and the weights of the next stage's first
weighted op by the same factor, so that in the limit of many steps the network computes the
same function (a spike of stage l now stands for ``s_l`` times the value it stood for), while at
few steps the threshold moves to where the quantization error on the data is smallest. It is
a change of the network's parameters only: every backend runs the calibrated network unchanged
(:func:`scale_thresholds`).

The factors are fitted on the **training** split (:class:`Calibrator`), stage after stage: for
stage l under the timesteps ``(T_0, ..., T_l)`` (``rate`` buffers), given the already calibrated
stages before it, ``s_l`` is the factor of :data:`GRID` whose values ``s_l * c / T_l`` are closest
(mean squared error over every neuron and sample) to the reference values ``c_ref / T_ref`` of
the uncalibrated network at the long uniform window ``T_ref`` (ties: the factor closest to 1).
So ``s_l`` depends on ``(T_0, ..., T_l)`` only, and a schedule's calibrated stages 0..k are the
same for every schedule with the same first k + 1 timesteps: the prefix cache stays valid
(:class:`ldsnn_lava.optimize.cache.PrefixCache`, ``network_for``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch

from ldsnn_lava.engine.driver import StageEngine, as_input, run_batch
from ldsnn_lava.errors import InvalidNetwork, InvalidOption
from ldsnn_lava.network import Network, Stage
from ldsnn_lava.neurons import IF
from ldsnn_lava.ops import Conv2d, Dense
from ldsnn_lava.options import BufferKind
from ldsnn_lava.schedule import Schedule

#: Threshold factors tried per stage (1.0: uncalibrated).
GRID = (0.25, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0)


def check_calibratable(net: Network) -> None:
    """Raise :class:`InvalidNetwork` unless every spiking stage is IF and every stage after
    one has a ``Dense`` or ``Conv2d`` op (the one whose weights carry the factor)."""
    if net.input_encoding.is_sequence:
        raise InvalidNetwork("threshold calibration supports static input only, not "
                             f"{net.input_encoding!r}")
    for index, stage in enumerate(net.stages[:-1]):
        if not isinstance(stage.neuron, IF):
            raise InvalidNetwork(f"threshold calibration needs IF neurons; stage {index} has "
                                 f"{type(stage.neuron).__name__}")
        if _weighted_op(net.stages[index + 1]) is None:
            raise InvalidNetwork(f"threshold calibration: stage {index + 1} has no Dense or "
                                 f"Conv2d op to carry stage {index}'s factor")


def _weighted_op(stage: Stage) -> int | None:
    """Index of the stage's first Dense/Conv2d op; ops before it must be linear without bias
    (pools, flatten), so scaling its weights scales the stage's input exactly."""
    for i, op in enumerate(stage.ops):
        if isinstance(op, (Dense, Conv2d)):
            return i
    return None


def scale_thresholds(net: Network, scales: Sequence[float]) -> Network:
    """``net`` with spiking stage l's threshold (and ``v_init``) times ``scales[l]`` and the
    first Dense/Conv2d weights of stage l + 1 times ``scales[l]`` (biases unchanged).

    ``scales`` has one factor per spiking stage (``num_stages - 1``); all 1.0 returns ``net``.
    """
    if len(scales) != net.num_stages - 1:
        raise InvalidOption(f"give one threshold factor per spiking stage "
                            f"({net.num_stages - 1}), got {len(scales)}")
    if all(s == 1.0 for s in scales):
        return net
    check_calibratable(net)
    stages = list(net.stages)
    for index, factor in enumerate(scales):
        if not (np.isfinite(factor) and factor > 0):
            raise InvalidOption(f"threshold factor of stage {index} must be finite and > 0, "
                                f"got {factor}")
        if factor == 1.0:
            continue
        neuron = stages[index].neuron
        v_init = None if neuron.v_init is None else neuron.v_init * factor
        stages[index] = dataclasses.replace(
            stages[index], neuron=IF(neuron.threshold * factor, v_init))
        nxt = stages[index + 1]
        at = _weighted_op(nxt)
        ops = list(nxt.ops)
        ops[at] = dataclasses.replace(ops[at], weight=np.asarray(ops[at].weight) * factor)
        stages[index + 1] = dataclasses.replace(nxt, ops=tuple(ops))
    return Network(net.input_shape, stages, net.input_encoding, net.name)


class Calibrator:
    """Fits per-stage threshold factors for timesteps on a (training) sample, memoized by
    prefix.

    Parameters
    ----------
    net : Network
        The given (float, IF) SNN.
    x : array-like
        Calibration inputs ``(N, *net.input_shape)``, from the training split.
    reference_T : int
        The long uniform window whose values the calibrated stages match.
    grid : sequence of float
        The factors tried per stage.
    device : str
    """

    def __init__(self, net: Network, x, reference_T: int, grid: Sequence[float] = GRID,
                 device: str = "cpu"):
        check_calibratable(net)
        if reference_T < 1:
            raise InvalidOption(f"reference_T must be >= 1, got {reference_T}")
        self.net, self.device, self.reference_T = net, device, reference_T
        # ties go to the factor closest to 1: try those first, keep the first minimum
        self.grid = tuple(sorted(grid, key=lambda s: (abs(np.log(s)), s)))
        self.x = as_input(x, net).to(device)
        steps = (reference_T,) * net.num_stages
        counts = self._run(net, steps, 0, net.num_stages - 1, None)
        self.reference = [c.to(torch.float64) / reference_T for c in counts]
        # prefix (T_0..T_l) -> (s_l, calibrated counts of stage l)
        self._fitted: dict[tuple[int, ...], tuple[float, torch.Tensor]] = {}
        self._networks: dict[tuple[float, ...], Network] = {}
        self.stage_fits = 0

    def _run(self, net: Network, steps: tuple[int, ...], start: int, stop: int,
             upstream: torch.Tensor | None) -> list[torch.Tensor]:
        engine = StageEngine(net, self.device)
        schedule = Schedule(steps, buffers=BufferKind.RATE)
        with torch.inference_mode():
            states = run_batch(engine, schedule, self.x if start == 0 else None, start=start,
                               start_counts=upstream, stop=stop)
            return [engine.counts(k, states[k]).clone() for k in range(start, stop)]

    def scales(self, timesteps: Sequence[int]) -> tuple[float, ...]:
        """The factors of the spiking stages for these timesteps (fitted on first use)."""
        steps = tuple(int(t) for t in timesteps)
        if len(steps) != self.net.num_stages:
            raise InvalidOption(f"give {self.net.num_stages} timesteps, got {len(steps)}")
        for stage in range(self.net.num_stages - 1):
            if steps[:stage + 1] not in self._fitted:
                self._fit(steps, stage)
        return tuple(self._fitted[steps[:k + 1]][0] for k in range(self.net.num_stages - 1))

    def network(self, timesteps: Sequence[int]) -> Network:
        """The calibrated network for these timesteps (one object per set of factors)."""
        scales = self.scales(timesteps)
        if scales not in self._networks:
            self._networks[scales] = scale_thresholds(self.net, scales)
        return self._networks[scales]

    def _fit(self, steps: tuple[int, ...], stage: int) -> None:
        before = tuple(self._fitted[steps[:k + 1]][0] for k in range(stage))
        upstream = self._fitted[steps[:stage]][1] if stage else None
        rest = (1.0,) * (self.net.num_stages - 1 - stage - 1)
        # the stages after `stage` are not run: their timesteps do not matter
        run_steps = steps[:stage + 1] + (1,) * (self.net.num_stages - stage - 1)
        best = None
        for factor in self.grid:
            net = scale_thresholds(self.net, before + (factor,) + rest)
            (counts,) = self._run(net, run_steps, stage, stage + 1, upstream)
            values = counts.to(torch.float64) * (factor / steps[stage])
            error = float(((values - self.reference[stage]) ** 2).mean())
            if best is None or error < best[0]:
                best = (error, factor, counts)
        self._fitted[steps[:stage + 1]] = (best[1], best[2])
        self.stage_fits += 1
