"""Markdown report and PNG plots of an optimization (matplotlib, Agg backend).

:func:`write_report` writes into one folder:

- ``report.md``: the setup (model, data, preprocessing, seed, command lines, versions, the Lava
  check), warnings, the held-out comparison table with how its wall-clock was measured, the
  schedule notation, the search summary;
- ``pareto.png``: validation accuracy vs cost of every point visited, the Pareto front, the
  given SNN, the cheapest uniform schedule in budget and the LD schedule marked;
- ``timesteps.png``: per-stage T of the given SNN, the cheapest uniform and the LD schedule;
- ``synaptic_per_stage.png``: per-stage synaptic updates on the held-out split, uniform vs LD,
  with stage 0's input MACs (direct input) hatched and labelled apart;
- ``result.json``: the whole :class:`ldsnn_lava.optimize.OptimizeResult`.

The files are written as one set (:func:`ldsnn_lava._io.atomic_write_set`): a failure or a
kill leaves the previous report or the new one; :func:`report_files` hands them to a caller that
commits them together with other files (``ldsnn optimize``: the schedule and the result).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import ticker  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from ldsnn_lava._io import atomic_write_set  # noqa: E402
from ldsnn_lava.compare import LABELS, comparison_table  # noqa: E402
from ldsnn_lava.engine import EvalResult  # noqa: E402
from ldsnn_lava.optimize import OptimizeResult  # noqa: E402
from ldsnn_lava.optimize.result import BUDGET_UNIT  # noqa: E402
from ldsnn_lava.schedule import NOTATION  # noqa: E402

FILES = ("report.md", "pareto.png", "timesteps.png", "synaptic_per_stage.png", "result.json")


def _save(fig, path: Path) -> None:
    try:
        fig.savefig(path, format="png", dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)


def _pareto_panel(ax, result: OptimizeResult) -> None:
    ld = [p for p in result.visited if p.kind == "ld"]
    uniform = [p for p in result.visited if p.kind != "ld"]
    ax.scatter([p.cost for p in ld], [100 * p.accuracy for p in ld], s=10, c="0.75",
               label="LD schedules visited")
    ax.plot([p.cost for p in uniform], [100 * p.accuracy for p in uniform], "o-", c="tab:blue",
            ms=3, lw=1, label="uniform T = 1..base T")
    ax.step([p.cost for p in result.front], [100 * p.accuracy for p in result.front],
            where="post", c="k", lw=1, label="Pareto front")
    marks = (("given", result.given, "s", "tab:blue"),
             ("best_uniform", result.best_uniform, "D", "tab:orange"),
             ("ld", result.chosen, "*", "tab:red"))
    for key, point, marker, colour in marks:
        label = f"{LABELS[key]} {list(point.schedule.timesteps)}"
        ax.scatter([point.cost], [100 * point.accuracy], marker=marker, s=120, c=colour,
                   edgecolors="k", zorder=5, label=label)
    if result.min_accuracy is not None:
        ax.axhline(100 * result.min_accuracy, c="tab:red", ls=":", lw=1, label="budget")
    if result.cost_target is not None:
        ax.axvline(result.cost_target, c="tab:red", ls=":", lw=1, label="cost target")
    ax.set_xscale("log")
    _readable_log_ticks(ax.xaxis)
    ax.set_xlabel(f"{result.cost_name} ({result.cost_unit})")
    ax.grid(alpha=0.3)


def _readable_log_ticks(axis) -> None:
    """At most three labelled ticks per decade (1, 2, 5) in short engineering notation
    (``200k``, ``1M``), no labels on the minor ticks: labels never overlap."""
    axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=12))
    axis.set_major_formatter(ticker.EngFormatter(sep=""))
    axis.set_minor_formatter(ticker.NullFormatter())


def plot_pareto(result: OptimizeResult, path: str | Path) -> None:
    """Accuracy vs cost of every visited point, the front and the three schedules: the whole
    search on the left, zoomed on the schedules near the three marked ones on the right."""
    fig, (whole, zoom) = plt.subplots(1, 2, figsize=(10.0, 4.4))
    for ax in (whole, zoom):
        _pareto_panel(ax, result)
    whole.set_ylabel("validation accuracy (%)")
    whole.set_title("whole search", fontsize=9)
    marked = [result.given, result.best_uniform, result.chosen]
    low = 100 * min(p.accuracy for p in marked) - 2.0
    high = 100 * max(p.accuracy for p in result.visited) + 0.5
    near = [p.cost for p in result.visited if 100 * p.accuracy >= low]
    zoom.set_ylim(low, high)
    zoom.set_xlim(min(near) / 1.15, max(near) * 1.15)
    zoom.set_title("near the budget", fontsize=9)
    handles, labels = whole.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, ncol=3, loc="lower center",
               bbox_to_anchor=(0.5, -0.12), frameon=False)
    _save(fig, Path(path))


def _bars(ax, series: dict[str, np.ndarray], ylabel: str) -> None:
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series.items()):
        ax.bar(np.arange(len(values)) + (i - (len(series) - 1) / 2) * width, values, width,
               label=label)
    ax.set_xticks(np.arange(len(next(iter(series.values())))))
    ax.yaxis.set_major_formatter(ticker.EngFormatter(sep=""))  # 800k, not 800000
    ax.set_xlabel("stage")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, ncol=len(series), loc="lower center", bbox_to_anchor=(0.5, 1.0),
              frameon=False)  # above the axes: never over a bar
    ax.grid(axis="y", alpha=0.3)


def plot_timesteps(result: OptimizeResult, path: str | Path) -> None:
    """Per-stage T of the given SNN, the cheapest uniform and the LD schedule."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    _bars(ax, {LABELS["given"]: np.array(result.given.schedule.timesteps),
               LABELS["best_uniform"]: np.array(result.best_uniform.schedule.timesteps),
               LABELS["ld"]: np.array(result.schedule.timesteps)}, "timesteps T_l")
    _save(fig, Path(path))


def plot_synaptic(test: dict[str, EvalResult], path: str | Path) -> None:
    """Per-stage synaptic updates on the held-out split, with stage 0's input MACs (direct
    input) hatched and labelled apart: they are multiply-accumulates, not spike-driven updates.
    The y axis turns logarithmic when the values span more than two decades, so that small
    stages stay visible."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    work = {LABELS[key]: res.counters.per_stage["synaptic_updates"]
            + res.counters.per_stage["input_macs"] for key, res in test.items()}
    _bars(ax, work, "synaptic updates / sample")
    macs = [res.counters.per_stage["input_macs"] for res in test.values()]
    if any(values.any() for values in macs):
        width = 0.8 / len(macs)
        for i, values in enumerate(macs):  # hatch the MAC bars drawn by _bars
            stages = np.flatnonzero(values)
            ax.bar(stages + (i - (len(macs) - 1) / 2) * width, values[stages], width,
                   color=f"C{i}", hatch="//", edgecolor="white")
        handles, labels = ax.get_legend_handles_labels()
        handles.append(Patch(facecolor="white", edgecolor="0.3", hatch="//"))
        labels.append("hatched: input MACs (direct input)")
        ax.legend(handles, labels, fontsize=8, ncol=2, loc="lower center",
                  bbox_to_anchor=(0.5, 1.0), frameon=False)
        ax.set_ylabel("synaptic updates or input MACs / sample", fontsize=8)
    positive = np.concatenate([values[values > 0] for values in work.values()])
    if positive.size and positive.max() > 100 * positive.min():
        ax.set_yscale("log")
        _readable_log_ticks(ax.yaxis)
    _save(fig, Path(path))


def render_markdown(result: OptimizeResult, test: dict[str, EvalResult], y_test, *,
                    title: str, setup: dict[str, str], timings=None, timing_setup=None,
                    lava_check: str | None = None) -> str:
    """The report's Markdown text (``timings``/``timing_setup`` from
    :func:`ldsnn_lava.compare.time_held_out`: without them the wall-clock is left out)."""
    unit = BUDGET_UNIT[:-1] if result.max_drop == 1 else BUDGET_UNIT  # 1 point, 2 points
    budget = (f"at most {result.max_drop:g} {unit} of top-1 validation accuracy below "
              f"the given SNN" if result.max_drop is not None
              else f"cost at most {result.cost_target:g} {result.cost_unit}")
    lines = [f"# {title}", ""]
    lines += [f"**Warning**: {text}" for text in result.warnings]
    lines += [""] if result.warnings else []
    lines += [f"- **{key}**: {value}" for key, value in setup.items()]
    lines += [f"- **cost minimized**: {result.cost_name} ({result.cost_unit})",
              f"- **budget**: {budget}",
              f"- **Lava check**: {lava_check or 'not run (--lava-samples N runs it)'}", "",
              "## Held-out test split", "",
              "Per-sample means; synaptic updates exclude input MACs (counted apart). Ratios are "
              "baseline / LD (above 1: the LD-SNN does less).", "",
              comparison_table(test, y_test, timings), "",
              timing_setup.describe() if timing_setup is not None else
              "Wall-clock: not measured (no timing repeats asked for).", "", NOTATION, "",
              "## Search (validation split only)", "",
              "| | schedule | validation accuracy | cost |", "|---|---|---|---|"]
    for key, point in (("given", result.given), ("best_uniform", result.best_uniform),
                       ("ld", result.chosen)):
        lines.append(f"| {LABELS[key]} | `{point.schedule}` | {100 * point.accuracy:.2f} % | "
                     f"{point.cost:.4g} |")
    lines += ["", f"{len(result.visited)} schedules evaluated in {result.seconds:.1f} s; stage "
              f"runs over the split: {result.stage_runs}; {len(result.front)} points on the "
              f"Pareto front; {len(result.history)} moves accepted.", "",
              "![Pareto front](pareto.png)", "", "![timesteps](timesteps.png)", "",
              "![synaptic updates per stage](synaptic_per_stage.png)", ""]
    return "\n".join(lines)


def report_files(out_dir: str | Path, result: OptimizeResult, test: dict[str, EvalResult],
                 y_test, *, title: str = "LD-SNN optimization report",
                 setup: dict[str, str] | None = None, timings=None, timing_setup=None,
                 lava_check: str | None = None) -> dict[Path, Callable[[Path], None]]:
    """The report's files in ``out_dir`` (see :data:`FILES`), each with the function that
    writes it to a given path: for :func:`ldsnn_lava._io.atomic_write_set`, which commits
    them (with any other files of the same run) as one set. Arguments as
    :func:`write_report`."""
    out = Path(out_dir)
    markdown = render_markdown(result, test, y_test, title=title, setup=setup or {},
                               timings=timings, timing_setup=timing_setup,
                               lava_check=lava_check)
    return {
        out / "report.md": lambda tmp: tmp.write_text(markdown),
        out / "pareto.png": lambda tmp: plot_pareto(result, tmp),
        out / "timesteps.png": lambda tmp: plot_timesteps(result, tmp),
        out / "synaptic_per_stage.png": lambda tmp: plot_synaptic(test, tmp),
        out / "result.json": lambda tmp: tmp.write_text(result.to_json()),
    }


def write_report(out_dir: str | Path, result: OptimizeResult, test: dict[str, EvalResult],
                 y_test, *, title: str = "LD-SNN optimization report",
                 setup: dict[str, str] | None = None, timings=None, timing_setup=None,
                 lava_check: str | None = None) -> list[Path]:
    """Write the report, plots and result JSON into ``out_dir`` as one set (a failure or a
    kill leaves the previous report or the new one, never a mix); returns the paths written.

    Parameters
    ----------
    out_dir : str or Path
    result : OptimizeResult
    test : dict of str to EvalResult
        From :func:`ldsnn_lava.compare.held_out` on the test split.
    y_test : array-like
        Test labels.
    title : str
    setup : dict of str to str, optional
        Lines such as model and data set shown at the top.
    timings, timing_setup : optional
        From :func:`ldsnn_lava.compare.time_held_out`; without them no wall-clock is shown.
    lava_check : str, optional
        The outcome of running the LD schedule in Lava against the engine.

    Raises
    ------
    FileAccessError
        If a file cannot be written (the folder is a file, no permission, disk full).
    """
    files = report_files(out_dir, result, test, y_test, title=title, setup=setup,
                         timings=timings, timing_setup=timing_setup, lava_check=lava_check)
    atomic_write_set(files)
    return list(files)
