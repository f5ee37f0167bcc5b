"""Our engine beside SpikingJelly, snnTorch, sinabs and Norse: same network, weights and T.

Builds a zoo IF network (default ``lenet_mnist5k``) in each peer framework, as a user of that
framework would write it:

- SpikingJelly 2.0 (optional): multi-step ``IFNode`` (its torch code: 2.0 has no ``backend``
  option; ``v_reset=None``: reset by subtraction), its initial membrane potential set to
  ours (``0.5 * threshold``), layers wrapped in ``SeqToANNContainer`` so each stage applies
  its ops to all T steps at once;
- snnTorch 1.0 (optional): ``Leaky(beta=1, reset_mechanism="subtract")`` stepped T times,
  ``mem`` starting at ours. snnTorch fires on ``mem > threshold`` (ours ``>=``) and resets one
  step late, so its spikes can differ where a membrane lands exactly on the threshold: the
  script reports the prediction agreement instead of assuming it;
- sinabs 3.1 (optional): ``IAFSqueeze`` with ``SingleSpike`` (fires on ``v - threshold >= 0``,
  one spike per step) and ``MembraneSubtract`` (reset by subtraction), ``v_mem`` starting at
  ours; time folded into the batch, so each stage applies its ops to all T steps at once;
- Norse 1.1 (optional): its integrate-and-fire step ``iaf_feed_forward_step`` stepped T times,
  ``v`` starting at ours. Norse's IAF fires on ``v > threshold`` and resets to 0 (not by
  subtraction): a different neuron, so only the prediction agreement says how close it is.

It checks each peer's predictions against our uniform schedule, then times all frameworks
round-robin in one run and writes images/s and the ratio to ours to
``benchmarks/results/peers_<device>.json``. Peers that are not installed are reported as
skipped. Usage::

    python -m benchmarks.peers [--model lenet_mnist5k] [--T 5 32] [--device cpu] [--threads 2]
"""

from __future__ import annotations

import argparse
import importlib.util

import numpy as np
import torch
from torch import nn

from benchmarks.common import interleaved, machine, write_json
from ldsnn_lava import IF, AvgPool2d, Conv2d, Dense, Flatten, Schedule, zoo
from ldsnn_lava.datasets import load as load_dataset
from ldsnn_lava.engine import evaluate


def torch_ops(ops, device) -> nn.Sequential:
    """Our linear ops as torch modules holding the very same float32 weights."""
    layers = []
    for op in ops:
        if isinstance(op, Dense):
            layer = nn.Linear(op.weight.shape[1], op.weight.shape[0], bias=op.bias is not None)
        elif isinstance(op, Conv2d):
            layer = nn.Conv2d(op.weight.shape[1], op.weight.shape[0], op.kernel, op.stride,
                              op.padding, bias=op.bias is not None)
        elif isinstance(op, AvgPool2d):
            layers.append(nn.AvgPool2d(op.kernel, op.stride))
            continue
        elif isinstance(op, Flatten):
            layers.append(nn.Flatten())
            continue
        else:
            raise NotImplementedError(f"no peer mapping for {type(op).__name__}")
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(op.weight))
            if op.bias is not None:
                layer.bias.copy_(torch.as_tensor(op.bias))
        layers.append(layer)
    return nn.Sequential(*layers).to(device).eval()


def _check_if(net) -> None:
    for stage in net.stages[:-1]:
        if not isinstance(stage.neuron, IF):
            raise ValueError("peers compare IF networks only")


def spikingjelly_runner(net, device):
    """``run(x, T) -> readout`` in SpikingJelly, or None when it is not installed."""
    if importlib.util.find_spec("spikingjelly") is None:
        return None
    from spikingjelly.activation_based import functional, layer, neuron

    _check_if(net)
    modules, nodes = [], []
    for stage in net.stages:
        modules.append(layer.SeqToANNContainer(torch_ops(stage.ops, device)))
        if stage.neuron is not None:
            node = neuron.IFNode(v_threshold=stage.neuron.threshold, v_reset=None,
                                 step_mode="m")
            node._memories_rv["v"] = stage.neuron.initial_v  # reset() restores our v_init
            nodes.append(node)
            modules.append(node)
    model = nn.Sequential(*modules).to(device).eval()

    def run(x: torch.Tensor, T: int) -> torch.Tensor:
        functional.reset_net(model)
        return model(x.unsqueeze(0).expand(T, *x.shape)).sum(0)

    return run


def snntorch_runner(net, device):
    """``run(x, T) -> readout`` in snnTorch, or None when it is not installed."""
    if importlib.util.find_spec("snntorch") is None:
        return None
    import snntorch

    _check_if(net)
    ops = [torch_ops(stage.ops, device) for stage in net.stages]
    cells = [snntorch.Leaky(beta=1.0, threshold=s.neuron.threshold, reset_mechanism="subtract")
             .to(device) for s in net.stages[:-1]]

    def run(x: torch.Tensor, T: int) -> torch.Tensor:
        mems: list = [None] * len(cells)
        total = 0
        for _ in range(T):
            signal = x
            for index, cell in enumerate(cells):
                current = ops[index](signal)
                if mems[index] is None:
                    mems[index] = torch.full_like(current, net.stages[index].neuron.initial_v)
                signal, mems[index] = cell(current, mems[index])
            total = total + ops[-1](signal)
        return total

    return run


def sinabs_runner(net, device):
    """``run(x, T) -> readout`` in sinabs, or None when it is not installed."""
    if importlib.util.find_spec("sinabs") is None:
        return None
    from sinabs.activation import MembraneSubtract, SingleSpike
    from sinabs.layers import IAFSqueeze

    _check_if(net)
    ops = [torch_ops(stage.ops, device) for stage in net.stages]

    def run(x: torch.Tensor, T: int) -> torch.Tensor:
        batch, modules = x.shape[0], []
        for index, stage in enumerate(net.stages):
            modules.append(ops[index])
            if stage.neuron is not None:
                neurons = IAFSqueeze(batch_size=batch, spike_threshold=stage.neuron.threshold,
                                     spike_fn=SingleSpike, reset_fn=MembraneSubtract(),
                                     min_v_mem=None).to(device)
                neurons.init_state_with_shape((batch, *net.output_shape_of(index)))
                neurons.v_mem.fill_(stage.neuron.initial_v)
                modules.append(neurons)
        folded = x.unsqueeze(1).expand(batch, T, *x.shape[1:]).reshape(batch * T, *x.shape[1:])
        return nn.Sequential(*modules)(folded).view(batch, T, -1).sum(1)

    return run


def norse_runner(net, device):
    """``run(x, T) -> readout`` in Norse, or None when it is not installed."""
    if importlib.util.find_spec("norse") is None:
        return None
    from norse.torch.functional.iaf import (
        IAFFeedForwardState,
        IAFParameters,
        iaf_feed_forward_step,
    )

    _check_if(net)
    ops = [torch_ops(stage.ops, device) for stage in net.stages]
    params = [IAFParameters(v_th=torch.as_tensor(s.neuron.threshold, device=device),
                            v_reset=torch.as_tensor(0.0, device=device))
              for s in net.stages[:-1]]

    def run(x: torch.Tensor, T: int) -> torch.Tensor:
        states: list = [None] * len(params)
        total = 0
        for _ in range(T):
            signal = x
            for index, p in enumerate(params):
                current = ops[index](signal)
                if states[index] is None:
                    states[index] = IAFFeedForwardState(
                        v=torch.full_like(current, net.stages[index].neuron.initial_v))
                signal, states[index] = iaf_feed_forward_step(current, states[index], p)
            total = total + ops[-1](signal)
        return total

    return run


SAME_NEURON = ("spikingjelly", "snntorch", "sinabs")
"""Peers that run our IF neuron (snnTorch up to membranes landing exactly on the threshold);
Norse's IAF resets to zero instead."""
RUNNERS = {"spikingjelly": spikingjelly_runner, "snntorch": snntorch_runner,
           "sinabs": sinabs_runner, "norse": norse_runner}
"""Each peer's runner factory: ``factory(net, device)`` gives ``run(x, T) -> readout`` or
``None`` when the peer is not installed."""


def compare(model_name: str, steps: list[int], device: str, n: int, repeats: int) -> dict:
    """Agreement and speed of every available framework at each T."""
    model = zoo.load(model_name)
    net = model.network
    x_np = model.preprocess(load_dataset(model.dataset).split("test")[0])[:n]
    x = torch.as_tensor(x_np, dtype=torch.float32, device=device)
    peers = {name: factory(net, device) for name, factory in RUNNERS.items()}
    rows = []
    for T in steps:
        schedule = Schedule.uniform(net, T)
        ours = evaluate(net, schedule, x, device=device, batch_size=n, record_spikes=False)
        fns = {"ldsnn_lava": lambda s=schedule: evaluate(net, s, x, device=device, batch_size=n,
                                                         record_spikes=False, progress=False)}
        row = {"T": T, "frameworks": {}}
        with torch.inference_mode():
            for name, run in peers.items():
                if run is None:
                    row["frameworks"][name] = {"skipped": "not installed"}
                    continue
                readout = run(x, T).double().cpu().numpy()
                row["frameworks"][name] = {
                    "prediction_agreement": float(np.mean(readout.argmax(1) == ours.predictions)),
                    "max_abs_readout_difference": float(np.abs(readout - ours.readout).max()),
                }
                fns[name] = lambda r=run, t=T: r(x, t)
            timing = interleaved(fns, repeats, device)
        for name, result in timing.items():
            entry = row["frameworks"].setdefault(name, {})
            entry.update(result, images_per_s=n / result["median_s"])
        for name, result in timing.items():
            row["frameworks"][name]["time_ratio_to_ours"] = (
                result["median_s"] / timing["ldsnn_lava"]["median_s"])
        rows.append(row)
    return {"model": model_name, "samples": n, "repeats": repeats, "rows": rows}


def markdown(record: dict) -> str:
    lines = [f"Model `{record['model']}`, {record['samples']} images per call, median of "
             f"{record['repeats']} (device {record['machine']['device']}, "
             f"{record['machine']['torch_threads']} threads).", "",
             "| T | framework | images/s | time / ours | prediction agreement |",
             "|---|---|---|---|---|"]
    for row in record["rows"]:
        for name, entry in row["frameworks"].items():
            if "skipped" in entry:
                lines.append(f"| {row['T']} | {name} | skipped: {entry['skipped']} | | |")
                continue
            agreement = entry.get("prediction_agreement")
            lines.append(f"| {row['T']} | {name} | {entry['images_per_s']:.0f} | "
                         f"{entry['time_ratio_to_ours']:.2f} | "
                         f"{'-' if agreement is None else f'{agreement:.3f}'} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet_mnist5k")
    parser.add_argument("--T", type=int, nargs="+", default=[5, 32])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=None, help="JSON name under benchmarks/results")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    record = compare(args.model, args.T, args.device, args.samples, args.repeats)
    record["machine"] = machine(args.device)
    write_json(args.out or f"peers_{args.device.split(':')[0]}", record)
    print(markdown(record))
    return record


if __name__ == "__main__":
    main()
