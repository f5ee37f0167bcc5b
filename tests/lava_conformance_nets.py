"""Random small LD-SNNs and schedules for the Lava-vs-engine conformance tests.

Float networks use weights that are multiples of 1/4 and inputs that are multiples of 1/4, so
every float sum is exact whatever its order; fixed networks use small integers.
"""

from __future__ import annotations

import numpy as np

from ldsnn_lava import IF, AvgPool2d, Conv2d, CubaLIF, Dense, Flatten, Network, Schedule, Stage
from ldsnn_lava.ops import SumPool2d

DECAYS = (0.0, 0.125, 0.25, 0.5)


def _weights(rng, shape, fixed: bool) -> np.ndarray:
    w = rng.integers(-4, 5, shape).astype(np.float64)
    return w if fixed else w / 4


def _variant(rng, resets: tuple[str, ...], compares: tuple[str, ...], scale: float) -> dict:
    """A random reset and comparison (the NIR and peer-tool variants of the neurons)."""
    reset = str(rng.choice(resets))
    v_reset = float(rng.integers(-1, 2)) * scale if reset == "hard" else 0.0
    return {"reset": reset, "v_reset": v_reset, "compare": str(rng.choice(compares))}


def _neuron(rng, kind: str, fixed: bool):
    scale = 1.0 if fixed else 0.25
    if kind == "IF":
        variant = _variant(rng, ("subtract", "hard"), (">=", ">"), scale)
        if fixed:  # an integer v_init, as the fixed definition needs
            threshold = int(rng.integers(2, 7))
            return IF(threshold, v_init=threshold // 2, **variant)
        return IF(float(rng.integers(2, 7)) / 4, **variant)
    return CubaLIF(threshold=float(rng.integers(2, 7)) * scale,
                   current_decay=float(rng.choice(DECAYS)),
                   voltage_decay=float(rng.choice(DECAYS)),
                   bias=float(rng.integers(-1, 2)) * scale,
                   v_init=float(rng.integers(-1, 2)) * scale,
                   **_variant(rng, ("hard", "subtract", "delayed_subtract"), (">", ">="), scale))


def random_network(seed: int, arch: str, neuron: str, fixed: bool,
                   encoding: str = "direct") -> Network:
    """A 3-stage ``dense`` or ``conv`` network of ``IF`` or ``CubaLIF`` neurons."""
    rng = np.random.default_rng(seed)
    if arch == "dense":
        sizes = [int(rng.integers(4, 13)) for _ in range(3)] + [3]
        stages = [Stage([Dense(_weights(rng, (sizes[i + 1], sizes[i]), fixed),
                               _weights(rng, sizes[i + 1], fixed))], _neuron(rng, neuron, fixed))
                  for i in range(2)]
        stages.append(Stage([Dense(_weights(rng, (sizes[3], sizes[2]), fixed))], None))
        return Network((sizes[0],), stages, encoding)
    channels = int(rng.integers(1, 3))
    pool = SumPool2d(2) if fixed else AvgPool2d(2)
    stages = [
        Stage([Conv2d(_weights(rng, (2, channels, 3, 3), fixed), padding=1)],
              _neuron(rng, neuron, fixed)),
        Stage([pool, Conv2d(_weights(rng, (3, 2, 2, 2), fixed), _weights(rng, 3, fixed))],
              _neuron(rng, neuron, fixed)),
        Stage([Flatten(), Dense(_weights(rng, (4, 3), fixed))], None),
    ]
    return Network((channels, 4, 4), stages, encoding)


def random_inputs(seed: int, net: Network, n: int, fixed: bool) -> np.ndarray:
    """Inputs in [0, 1] (multiples of 1/4) or, for fixed direct input, integers in [0, 4]."""
    rng = np.random.default_rng(seed + 1)
    x = rng.integers(0, 5, (n, *net.input_shape)).astype(np.float64)
    return x if fixed and net.input_encoding == "direct" else x / 4


def random_schedule(seed: int, stages: int, mode: str, uniform: bool,
                    graded: bool = False) -> Schedule:
    """A uniform schedule, or random T_l in [1, 5] with rate buffers (``graded``: rate or
    graded) and replay where equal T."""
    rng = np.random.default_rng(seed + 2)
    if uniform:
        return Schedule.uniform(stages, int(rng.integers(1, 6)), mode)
    steps = [int(t) for t in rng.integers(1, 6, stages)]
    counted = ["rate", "graded"] if graded else ["rate"]
    buffers = ["replay" if steps[g] == steps[g + 1] and rng.random() < 0.5 else
               str(rng.choice(counted)) for g in range(stages - 1)]
    return Schedule(steps, buffers, mode)
