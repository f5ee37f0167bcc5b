"""The search's moves: which timesteps a stage may move to, and the neighbours of a schedule."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ldsnn_lava.options import BufferKind

Steps = tuple[int, ...]
Buffers = tuple[BufferKind, ...]
MOVE_KINDS = ("down", "up", "pair", "all-up")


def down_moves(T: int) -> list[int]:
    """Lower timesteps tried for a stage at T: T-1, 3T/4 and T/2 (largest first)."""
    return sorted({t for t in (T - 1, round(0.75 * T), T // 2) if 1 <= t < T}, reverse=True)


def up_moves(T: int, max_T: int) -> list[int]:
    """Higher timesteps tried for a stage at T, up to ``max_T``: T+1, T+2 and 5T/4."""
    return sorted({t for t in (T + 1, T + 2, math.ceil(1.25 * T)) if T < t <= max_T})


def _replace(steps: Steps, stage: int, T: int) -> Steps:
    return steps[:stage] + (T,) + steps[stage + 1:]


def neighbours(steps: Steps, max_T: int, kind: str) -> list[tuple[str, Steps]]:
    """Moves from ``steps`` as ``(label, new timesteps)``, in a fixed order.

    ``kind`` is ``"down"`` (one stage lower), ``"up"`` (one stage higher), ``"pair"`` (one
    stage lower, another higher) or ``"all-up"`` (every stage one higher, up to ``max_T``).
    """
    if kind == "all-up":
        if min(steps) >= max_T:
            return []
        raised = tuple(min(T + 1, max_T) for T in steps)
        return [(f"all stages +1: {list(raised)}", raised)]
    moves = []
    for k, T in enumerate(steps):
        if kind == "up":
            moves += [(f"stage {k}: {T}->{t}", _replace(steps, k, t)) for t in up_moves(T, max_T)]
            continue
        for lower in down_moves(T):
            down = _replace(steps, k, lower)
            if kind == "down":
                moves.append((f"stage {k}: {T}->{lower}", down))
                continue
            for j, Tj in enumerate(steps):
                if j != k:
                    moves += [(f"stage {k}: {T}->{lower}, stage {j}: {Tj}->{higher}",
                               _replace(down, j, higher)) for higher in up_moves(Tj, max_T)]
    return moves


def buffer_moves(steps: Steps, buffers: Buffers, kinds: Sequence[BufferKind]
                 ) -> list[tuple[str, Steps, Buffers]]:
    """Moves that switch one gap's buffer to another of ``kinds``, as ``(label, timesteps,
    buffers)``: the switch alone, and the switch with each lower timestep of the stage after
    the gap (a buffer that keeps counts exact may let that stage run shorter)."""
    moves = []
    for gap, kind in enumerate(buffers):
        for other in kinds:
            if other == kind:
                continue
            switched = buffers[:gap] + (other,) + buffers[gap + 1:]
            label = f"buffer {gap}: {kind}->{other}"
            moves.append((label, steps, switched))
            T = steps[gap + 1]
            moves += [(f"{label}, stage {gap + 1}: {T}->{lower}",
                       _replace(steps, gap + 1, lower), switched) for lower in down_moves(T)]
    return moves
