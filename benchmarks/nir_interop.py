"""NIR interop with snnTorch, sinabs, Norse and SpikingJelly, measured: the README's table.

Into ldsnn: each tool builds its IF/IAF, LIF and current-based LIF networks (dense 64-16-10 and
conv 1x8x8 -> 4x6x6 -> 10, random weights from a fixed seed), simulates them on the digits test
split (fed every step) and writes them with its own NIR exporter; we read each file with the
tool's convention, and also with NIR's own definitions (``convention="nir"`` at the exporter's time
step, where it loads), and simulate it. Reported: the fraction of neurons with equal spike counts
(worst layer) and of equal predictions, at T = 4, 16, 32.

Out of ldsnn: our zoo models written by ``to_nir`` (at the time step each importer assumes),
imported by each tool's own NIR importer and run there; reported: whether it runs, and its
prediction agreement with our model and with our ``"nir"`` reading of the same graph (what a
tool that follows NIR's definitions computes).

Writes ``benchmarks/results/nir_interop.json`` and ``.md``. Usage::

    python -m benchmarks.nir_interop [--samples 360] [--steps 4 16 32]
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np
import torch

from benchmarks import nir_peers
from benchmarks.common import RESULTS, machine, write_json
from ldsnn_lava import Network, Schedule, datasets, evaluate, zoo
from ldsnn_lava._io import atomic_write_text
from ldsnn_lava.formats.nir import NIRExportWarning, to_nir

VARIANTS = {
    # tool: [(label, network options, convention of the reading)]
    "snntorch": [("defaults (reset by subtraction, delayed)", {}, "snntorch"),
                 ("reset_mechanism='zero', reset_delay=False",
                  {"reset": "zero", "reset_delay": False}, "nir")],
    "sinabs": [("SingleSpike", {}, "sinabs_single_spike"),
               ("MultiSpike (its default)", {"multi_spike": True}, "sinabs")],
    "norse": [("defaults", {}, "norse")],
    "spikingjelly": [("defaults (v_reset=0)", {}, "spikingjelly"),
                     ("v_reset=-0.3", {"v_reset": -0.3}, "spikingjelly")],
}
ZOO = ("mlp_digits", "lenet_mnist5k", "lava_dl_mnist")


def _ours(graph, x, steps, **options) -> list[np.ndarray]:
    net = Network.from_nir(graph, **options)
    return evaluate(net, Schedule.uniform(net, steps), x, dtype=torch.float64,
                    progress=False).spike_counts


def _compare(graph, x, steps, theirs, **options) -> dict:
    """Agreement of our reading (``options``) with the tool's counts, or why it was refused."""
    try:
        return nir_peers.agreement(_ours(graph, x, steps, **options), theirs)
    except ValueError as err:
        return {"refused": str(err).split(": ", 1)[-1]}


def _network(tool, kind, conv, options, steps, in_shape):
    """The tool's network (Norse's conv nets have no Flatten: Norse writes no node for it)."""
    extra = {"steps": steps} if tool == "sinabs" else {}
    return nir_peers.NETWORKS[tool](kind, conv, in_shape, 10, np.random.default_rng(0),
                                    **options, **extra)


def into_ldsnn(x_dense: np.ndarray, steps_list: list[int]) -> list[dict]:
    rows = []
    for tool, variants in VARIANTS.items():
        dt = nir_peers.EXPORT_DT[tool]
        for label, options, convention in variants:
            for kind in nir_peers.KINDS[tool]:
                for conv in (False, True):
                    x = x_dense.reshape(len(x_dense), 1, 8, 8) if conv else x_dense
                    for steps in steps_list:
                        net = _network(tool, kind, conv, options, steps, x.shape[1:])
                        theirs = nir_peers.RUNS[tool](net, x, steps)
                        graph = nir_peers.export(tool, net, x, steps)
                        row = {"tool": tool, "variant": label, "kind": kind,
                               "arch": "conv" if conv else "dense", "steps": steps,
                               "spikes_per_neuron": float(theirs[-1].mean())}
                        needs_dt = tool in ("norse", "spikingjelly") or convention == "nir"
                        row["with_convention"] = _compare(
                            graph, x, steps, theirs, convention=convention,
                            **({"dt": dt} if needs_dt else {}))
                        row["as_nir_defines"] = _compare(graph, x, steps, theirs,
                                                         convention="nir", dt=dt)
                        rows.append(row)
                        print(f"{tool:12s} {label[:28]:28s} {kind:8s} {row['arch']:5s} "
                              f"T={steps:2d} {row['with_convention']} "
                              f"nir: {row['as_nir_defines']}", flush=True)
    return rows


def out_of_ldsnn(samples: int, steps_list: list[int]) -> list[dict]:
    rows = []
    for name in ZOO:
        model = zoo.load(name)
        x = model.preprocess(datasets.load(model.dataset).x_test[:samples])
        for tool in nir_peers.TOOLS:
            dt = nir_peers.EXPORT_DT[tool]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NIRExportWarning)
                graph = to_nir(model.network, dt=dt)
            as_nir = Network.from_nir(graph, convention="nir")
            for steps in sorted({model.base_T, *steps_list}):
                row = {"model": name, "tool": tool, "steps": steps, "dt": dt}
                mine = evaluate(model.network, Schedule.uniform(model.network, steps), x,
                                precision=model.precision, progress=False).predictions
                nir_reading = evaluate(as_nir, Schedule.uniform(as_nir, steps), x,
                                       progress=False).predictions
                try:
                    theirs = np.argmax(nir_peers.import_and_run(tool, graph, x, steps, dt), 1)
                except Exception as err:  # noqa: BLE001 - the tool's own failure, reported
                    row["error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"
                    rows.append(row)
                    print(f"{name} {tool}: {row['error']}", flush=True)
                    break
                row["agreement_with_ours"] = float(np.mean(theirs == mine))
                row["agreement_with_nir_reading"] = float(np.mean(theirs == nir_reading))
                rows.append(row)
                print(f"{name} {tool} T={steps}: {row}", flush=True)
    return rows


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _cell(scores: list[dict]) -> str:
    """The worst neuron and prediction agreement over ``scores``, or the first refusal."""
    refused = [s["refused"] for s in scores if "refused" in s]
    if refused:
        return f"refused: {refused[0].split(';')[0][:90]}"
    return (f"{_pct(min(s['neurons'] for s in scores))} / "
            f"{_pct(min(s['predictions'] for s in scores))}")


def markdown(record: dict) -> str:
    lines = [f"# NIR interop (`{record['command']}`)", "",
             f"Machine: {record['machine']['cpu']}, torch {record['machine']['torch']}; tools "
             f"pinned as in `pyproject.toml`. Into ldsnn: {record['samples']} digits test images; "
             f"out of ldsnn: the first {record['requested_samples']} test images of each model's "
             f"data set.", "",
             "## Into ldsnn (tool's exporter -> our reader, vs the tool's own simulation)", "",
             "Min over dense/conv and T = " + ", ".join(map(str, record["steps"])) +
             ": neurons with equal spike counts / equal predictions.", "",
             "| tool | network | neurons | reading | agreement | NIR's own reading |",
             "|---|---|---|---|---|---|"]
    groups: dict[tuple, list[dict]] = {}
    for row in record["into_ldsnn"]:
        groups.setdefault((row["tool"], row["variant"], row["kind"]), []).append(row)
    for (tool, variant, kind), rows in groups.items():
        convention = VARIANTS[tool][[v[0] for v in VARIANTS[tool]].index(variant)][2]
        lines.append(f"| {tool} | {variant} | {kind} | `{convention}` | "
                     f"{_cell([r['with_convention'] for r in rows])} | "
                     f"{_cell([r['as_nir_defines'] for r in rows])} |")
    lines += ["", "## Out of ldsnn (our `to_nir` -> the tool's importer, run there)", "",
              "Prediction agreement with our model / with our `convention=\"nir\"` reading of "
              "the same graph.", "",
              "| model | tool | dt written | " + " | ".join(
                  f"T={t}" for t in ["base"] + record["steps"]) + " |",
              "|---|---|---|" + "---|" * (1 + len(record["steps"]))]
    groups = {}
    for row in record["out_of_ldsnn"]:
        groups.setdefault((row["model"], row["tool"]), []).append(row)
    for (model, tool), rows in groups.items():
        if "error" in rows[0]:
            cells = [f"fails: {rows[0]['error']}"] + [""] * len(record["steps"])
        else:
            base = zoo.load(model).base_T
            by_steps = {r["steps"]: r for r in rows}
            cells = [f"{_pct(by_steps[t]['agreement_with_ours'])} / "
                     f"{_pct(by_steps[t]['agreement_with_nir_reading'])}"
                     for t in [base] + record["steps"]]
        lines.append(f"| {model} | {tool} | {rows[0]['dt']:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=360)
    parser.add_argument("--steps", type=int, nargs="+", default=[4, 16, 32])
    parser.add_argument("--out", default="nir_interop")
    args = parser.parse_args(argv)
    command = " ".join(["python -m benchmarks.nir_interop",
                        *(sys.argv[1:] if argv is None else argv)])
    digits = datasets.load("digits")
    x = digits.x_test[:args.samples].reshape(-1, 64).astype(np.float32)
    record = {"machine": machine("cpu"), "command": command, "samples": len(x),
              "requested_samples": args.samples,
              "steps": args.steps, "into_ldsnn": into_ldsnn(x, args.steps),
              "out_of_ldsnn": out_of_ldsnn(args.samples, args.steps)}
    write_json(args.out, record)
    atomic_write_text(RESULTS / f"{args.out}.md", markdown(record))
    return record


if __name__ == "__main__":
    main()
