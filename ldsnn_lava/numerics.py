"""Numerical range of an evaluation: overflow is detected, never silently turned into NaN.

A float32 current or membrane potential that overflows becomes ``inf``, and ``inf - inf`` or
``0 * inf`` becomes NaN; a NaN potential never reaches threshold, so an overflowing network
would quietly stop spiking and its readout turn to NaN. This module bounds every quantity from
the network's parameters, the schedule and the input's largest magnitude, without running it:

- a stage's current per step: ``|I| <= fan_in * max|w| * m + max|b|`` per op in turn (``m``
  the magnitude of the op's input: the input's for stage 0 under direct or frames encoding, 1
  for spikes);
- its state over a window of T steps: IF ``|v| <= |v_init| + |v_reset| + T |I| + threshold``;
  CubaLIF ``|u| <= T |I|`` and ``|v| <= |v_init| + |v_reset| + T (T |I| + |bias| + threshold)``
  (the reset variants included); a readout's sum ``<= T |I|``.

When every bound stays below :data:`SAFE` for the dtype, nothing can overflow and the engine
checks nothing at run time. Otherwise it checks the stage's final state and its readout once
per batch (a non-finite state stays non-finite: ``inf`` and NaN are absorbing under the neuron
updates) and raises :class:`~ldsnn_lava.errors.NumericalError` naming the stage and the
remedy (``dtype=torch.float64``, or smaller weights or inputs).

Fixed point computes synaptic sums in float64, exact only below 2**53, and IF potentials in
int64: a network whose bounds exceed those is refused before it runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ldsnn_lava.errors import NumericalError
from ldsnn_lava.network import Network
from ldsnn_lava.neurons import IF, CubaLIF
from ldsnn_lava.ops import Op
from ldsnn_lava.options import InputEncoding

SAFE = {torch.float32: 1e30, torch.float64: 1e300}
"""Bounds below which a dtype cannot overflow (with a wide margin to the largest finite value:
3.4e38 for float32, 1.8e308 for float64)."""
FIXED_SUM_EXACT = 2.0**53
"""Fixed point: synaptic sums are float64, exact for integers below this."""
FIXED_STATE_MAX = 2.0**62
"""Fixed point: IF potentials are int64."""


def op_bound(op: Op, magnitude: float) -> float:
    """Largest ``|output|`` of ``op`` for inputs of magnitude at most ``magnitude``."""
    if op.is_reshape:
        return magnitude
    params = op.parameters()
    weight = float(np.abs(params["weight"]).max()) if "weight" in params else 1.0
    bias = float(np.abs(params["bias"]).max()) if params.get("bias") is not None else 0.0
    return op.max_fan_in * weight * magnitude + bias


def current_bounds(net: Network, input_magnitude: float) -> list[float]:
    """Largest ``|current|`` per step of every stage."""
    bounds = []
    for index, stage in enumerate(net.stages):
        analog = index == 0 and net.input_encoding in (InputEncoding.DIRECT,
                                                       InputEncoding.FRAMES)
        magnitude = input_magnitude if analog else 1.0
        for op in stage.ops:
            magnitude = op_bound(op, magnitude)
        bounds.append(magnitude)
    return bounds


def state_bound(neuron, steps: int, current: float) -> float:
    """Largest ``|state|`` of ``neuron`` over ``steps`` steps of currents up to ``current``
    (``neuron=None``: the readout's sum)."""
    if neuron is None:
        return steps * current
    if isinstance(neuron, IF):  # a hard reset restarts from v_reset
        return abs(neuron.initial_v) + abs(neuron.v_reset) + steps * current + neuron.threshold
    if isinstance(neuron, CubaLIF):  # the subtracting resets take at most a threshold a step
        return (abs(neuron.v_init) + abs(neuron.v_reset)
                + steps * (steps * current + abs(neuron.bias) + abs(neuron.threshold)))
    return float("inf")  # an unknown model: always checked


def stages_to_watch(net: Network, timesteps: Sequence[int], currents: Sequence[float],
                    dtype: torch.dtype) -> list[bool]:
    """For each stage, whether its values could leave ``dtype``'s safe range (and so must be
    checked at run time), given its :func:`current_bounds`. ``timesteps`` may be an upper
    bound of the schedules to be run."""
    safe = SAFE[dtype]
    return [not (current < safe and state_bound(stage.neuron, steps, current) < safe)
            for stage, steps, current in zip(net.stages, timesteps, currents, strict=True)]


def check_fixed_range(net: Network, timesteps: Sequence[int], currents: Sequence[float]
                      ) -> None:
    """Refuse a fixed-point evaluation whose sums could exceed exact float64 integers or whose
    IF potentials could exceed int64, given the :func:`current_bounds`.

    Raises
    ------
    NumericalError
    """
    for index, (stage, steps, current) in enumerate(zip(
            net.stages, timesteps, currents, strict=True)):
        if current >= FIXED_SUM_EXACT:
            raise NumericalError(
                f"stage {index}: fixed-point synaptic sums could reach {current:.3g}, beyond "
                f"the 2**53 that float64 holds exactly; use smaller weights or inputs "
                f"(requantize)")
        if isinstance(stage.neuron, IF) or stage.neuron is None:
            if state_bound(stage.neuron, steps, current) >= FIXED_STATE_MAX:
                raise NumericalError(
                    f"stage {index}: fixed-point potentials could reach "
                    f"{state_bound(stage.neuron, steps, current):.3g} over {steps} steps, "
                    f"beyond int64; use fewer timesteps or smaller weights")


def check_finite(values: Sequence[torch.Tensor], stage: int, dtype: torch.dtype) -> None:
    """Raise :class:`NumericalError` if any of ``values`` (a stage's final state or readout)
    is not finite."""
    for value in values:
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            remedy = ("evaluate with dtype=torch.float64, or " if dtype == torch.float32
                      else "")
            raise NumericalError(
                f"stage {stage}: currents or membrane potentials overflowed {dtype} (inf or "
                f"NaN); {remedy}use smaller weights or inputs")


__all__ = ["FIXED_STATE_MAX", "FIXED_SUM_EXACT", "SAFE", "check_finite", "check_fixed_range",
           "current_bounds", "op_bound", "stages_to_watch", "state_bound"]
