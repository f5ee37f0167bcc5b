"""Honest evaluation of an optimization on held-out data (``docs/design.md``, methodology).

:func:`held_out` runs the three schedules every result names (the given SNN at its base T,
the cheapest uniform schedule within budget, the LD schedule) on a split the search never
saw; :func:`comparison_table` prints them side by side with each reduction as a ratio.
"""

from __future__ import annotations

from ldsnn_lava.engine import EvalResult, evaluate
from ldsnn_lava.network import Network
from ldsnn_lava.optimize import OptimizeResult

LABELS = {"given": "given SNN", "best_uniform": "cheapest uniform in budget", "ld": "LD-SNN"}
COLUMNS = (("synaptic_updates", "synaptic updates"), ("input_macs", "input MACs"),
           ("neurons_evaluated", "neurons evaluated"), ("buffer_updates", "buffer updates"))


def held_out(net: Network, result: OptimizeResult, x, *, device: str = "cpu",
             precision: str = "float", progress: bool | None = None) -> dict[str, EvalResult]:
    """Evaluate the given SNN, the cheapest uniform schedule and the LD schedule on ``x``.

    Parameters
    ----------
    net : Network
    result : OptimizeResult
    x : array-like
        Held-out inputs (the test split), ``(N, *net.input_shape)``.
    device, precision : str
        As for :func:`ldsnn_lava.evaluate`.
    progress : bool, optional

    Returns
    -------
    dict of str to EvalResult
        Keys ``"given"``, ``"best_uniform"``, ``"ld"``.
    """
    schedules = {"given": result.given.schedule, "best_uniform": result.best_uniform.schedule,
                 "ld": result.schedule}
    return {key: evaluate(net, schedule, x, device=device, precision=precision,
                          record_spikes=False, progress=progress)
            for key, schedule in schedules.items()}


def _ratio(before: float, after: float) -> str:
    if before == 0 or after == 0:
        return "n/a" if before == after else ("LD only" if before == 0 else "inf")
    return f"{before / after:.2f}x"


def comparison_table(results: dict[str, EvalResult], y) -> str:
    """A Markdown table of :func:`held_out`'s results with reductions as ratios.

    Ratios are baseline / LD: above 1 means the LD-SNN does less work (or is faster). Work
    the baseline does not do at all (buffer updates of a uniform schedule) reads "LD only".
    """
    header = ["", "schedule", "accuracy", *[label for _, label in COLUMNS], "wall-clock (s)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key, res in results.items():
        cells = [LABELS[key], f"`{res.schedule}`", f"{100 * res.accuracy(y):.2f} %"]
        cells += [f"{res.counters.total[name]:,.0f}" for name, _ in COLUMNS]
        cells.append(f"{res.seconds:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    ld = results["ld"]
    for key in ("given", "best_uniform"):
        base = results[key]
        drop = 100 * (ld.accuracy(y) - base.accuracy(y))
        cells = [f"reduction vs {LABELS[key]}", "", f"{drop:+.2f} pts"]
        cells += [_ratio(base.counters.total[name], ld.counters.total[name]) for name, _ in COLUMNS]
        cells.append(_ratio(base.seconds, ld.seconds))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
