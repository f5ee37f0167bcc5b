"""The SNN tools that speak NIR, driven as their users drive them: build a feed-forward network,
simulate it, export it with the tool's own exporter; and import a NIR graph with the tool's own
importer and run it. Used by ``benchmarks.nir_interop`` (the README table) and by
``tests/test_nir_peers.py`` (the conformance tests).

Pinned versions (installed by the Makefile's set-up): snnTorch 1.0.0, sinabs 3.1.3, Norse 1.1.0,
SpikingJelly 2.0.0, nirtorch 2.6, nir 1.0.8. Every network is fed its input ``x`` (a batch) on
every one of ``steps`` steps, like our ``direct`` input; a simulation returns each spiking layer's
per-neuron spike counts over the steps, ``(N, *shape)`` each, the last one being the output.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

TOOLS = ("snntorch", "sinabs", "norse", "spikingjelly")
KINDS = {"snntorch": ("leaky", "synaptic"), "sinabs": ("iaf", "lif"),
         "norse": ("iaf", "lifbox", "lif"), "spikingjelly": ("if", "lif", "cubalif")}
"""The neuron layers each tool exports: its IF/IAF, LIF and current-based LIF."""
EXPORT_DT = {"snntorch": 1e-4, "sinabs": 1.0, "norse": 1e-3, "spikingjelly": 1e-4}
"""The time step each exporter writes for by default (sinabs: time constants in steps)."""


def _quiet(fn: Callable, *args, **kwargs):
    """Call ``fn`` without the tools' prints, logging and deprecation warnings."""
    import logging

    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    finally:
        logging.disable(logging.NOTSET)


def _init(net: nn.Module, rng: np.random.Generator, gain: float) -> None:
    """Weights ~ N(0, gain / sqrt(fan-in)), biases ~ N(0, 0.1), from ``rng``."""
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Linear | nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.as_tensor(
                    rng.normal(0, gain / np.sqrt(fan_in), module.weight.shape)))
                if module.bias is not None:
                    module.bias.copy_(torch.as_tensor(rng.normal(0, 0.1, module.bias.shape)))


def _layers(conv: bool, in_shape: tuple[int, ...], classes: int, neuron: Callable,
            pool: Callable | None = None, flatten: bool = True) -> list[nn.Module]:
    """Dense: Linear -> neuron -> Linear -> neuron. Conv: Conv2d(4, 3x3) -> neuron -> pool
    (if given) -> Flatten -> Linear -> neuron (without Flatten: Conv2d -> neuron)."""
    if not conv:
        return [nn.Linear(in_shape[0], 16), neuron((16,)), nn.Linear(16, classes),
                neuron((classes,))]
    channels, height, width = in_shape
    shape = (4, height - 2, width - 2)
    layers = [nn.Conv2d(channels, 4, 3), neuron(shape)]
    if not flatten:
        return [*layers, nn.Conv2d(4, classes, shape[1:]), neuron((classes, 1, 1))]
    if pool is not None:
        layers.append(pool(2))
        shape = (4, shape[1] // 2, shape[2] // 2)
    return [*layers, nn.Flatten(), nn.Linear(int(np.prod(shape)), classes),
            neuron((classes,))]


def _hooked_counts(neurons: list[nn.Module], run: Callable[[], None], batch: int,
                   steps: int | None = None) -> list[np.ndarray]:
    """Spike counts of ``neurons`` over ``run()``: their outputs summed over calls (or, with
    ``steps``, over the time axis of one call on ``(batch * steps, ...)`` input)."""
    sums: dict[int, torch.Tensor] = {}

    def hook(index):
        def record(_module, _inputs, output):
            spikes = (output[0] if isinstance(output, tuple) else output).detach().double()
            if steps is not None:
                spikes = spikes.reshape(batch, steps, *spikes.shape[1:]).sum(1)
            sums[index] = sums.get(index, 0) + spikes
        return record

    handles = [m.register_forward_hook(hook(i)) for i, m in enumerate(neurons)]
    try:
        with torch.no_grad():
            run()
    finally:
        for handle in handles:
            handle.remove()
    return [sums[i].reshape(batch, *sums[i].shape[1:]).numpy() for i in range(len(neurons))]


# --- snnTorch 1.0 -------------------------------------------------------------------------------

def snntorch_network(kind: str, conv: bool, in_shape, classes: int, rng, *, beta: float = 0.9,
                     alpha: float = 0.8, threshold: float = 1.0, reset: str = "subtract",
                     reset_delay: bool = True, gain: float = 1.5) -> nn.Sequential:
    """``Leaky`` or ``Synaptic`` layers (per-neuron parameter vectors, which its exporter needs)."""
    import snntorch as snn

    def neuron(shape):
        common = dict(beta=torch.full(shape, beta), threshold=torch.full(shape, threshold),
                      init_hidden=True, reset_mechanism=reset, reset_delay=reset_delay)
        if kind == "leaky":
            return snn.Leaky(**common)
        return snn.Synaptic(alpha=torch.full(shape, alpha), **common)

    net = nn.Sequential(*_layers(conv, in_shape, classes, neuron, nn.AvgPool2d))
    _init(net, rng, gain)
    return net


def snntorch_run(net: nn.Module, x: np.ndarray, steps: int) -> list[np.ndarray]:
    import snntorch as snn

    neurons = [m for m in net if isinstance(m, snn.SpikingNeuron)]
    for neuron in neurons:
        neuron.reset_mem()
    inputs = torch.as_tensor(x, dtype=torch.float32)
    return _hooked_counts(neurons, lambda: [net(inputs) for _ in range(steps)], len(x))


def snntorch_export(net: nn.Module, x: np.ndarray):
    from snntorch.export_nir import export_to_nir

    sample = torch.as_tensor(x[:1], dtype=torch.float32)
    return _quiet(export_to_nir, net, sample, ignore_dims=[0])


# --- sinabs 3.1 ---------------------------------------------------------------------------------

def sinabs_network(kind: str, conv: bool, in_shape, classes: int, rng, *, steps: int,
                   tau: float = 8.0, threshold: float = 1.0, multi_spike: bool = False,
                   gain: float = 1.5) -> nn.Sequential:
    """``IAFSqueeze`` or ``LIFSqueeze`` layers (input ``(batch * steps, ...)``), one spike per step
    (``SingleSpike``) unless ``multi_spike`` (sinabs' default ``MultiSpike``)."""
    import sinabs.layers as sl
    from sinabs.activation import MultiSpike, SingleSpike

    spike_fn = MultiSpike if multi_spike else SingleSpike

    def neuron(_shape):
        if kind == "iaf":
            return sl.IAFSqueeze(num_timesteps=steps, spike_fn=spike_fn,
                                 spike_threshold=torch.tensor(threshold))
        return sl.LIFSqueeze(tau_mem=torch.tensor(tau), num_timesteps=steps, spike_fn=spike_fn,
                             spike_threshold=torch.tensor(threshold))

    net = nn.Sequential(*_layers(conv, in_shape, classes, neuron, sl.SumPool2d))
    _init(net, rng, gain * (np.sqrt(tau) if kind == "lif" else 1.0))  # LIF input is / tau
    return net


def sinabs_run(net: nn.Module, x: np.ndarray, steps: int) -> list[np.ndarray]:
    import sinabs
    import sinabs.layers as sl

    sinabs.reset_states(net)
    neurons = [m for m in net if isinstance(m, sl.IAF | sl.LIF)]
    inputs = torch.as_tensor(x, dtype=torch.float32)
    batched = inputs[:, None].expand(len(x), steps, *inputs.shape[1:]).flatten(0, 1)
    counts = _hooked_counts(neurons, lambda: net(batched), len(x), steps)
    sinabs.reset_states(net)
    return counts


def sinabs_export(net: nn.Module, x: np.ndarray, steps: int):
    import sinabs
    from sinabs.nir import to_nir

    sinabs.reset_states(net)
    sample = torch.as_tensor(x[:1], dtype=torch.float32).expand(steps, *x.shape[1:])
    graph = _quiet(to_nir, net, sample)
    sinabs.reset_states(net)
    return graph


# --- Norse 1.1 ----------------------------------------------------------------------------------

def norse_network(kind: str, conv: bool, in_shape, classes: int, rng, *,
                  tau_mem_inv: float = 100.0, tau_syn_inv: float = 200.0, v_leak: float = 0.0,
                  threshold: float = 1.0, gain: float = 1.5):
    """``IAFCell``, ``LIFBoxCell`` or ``LIFCell`` layers in a ``SequentialState``. Conv nets have no
    Flatten (Norse writes no node for it): Conv2d -> cell -> Conv2d over the whole map -> cell."""
    import norse.torch as norse
    from norse.torch.functional.iaf import IAFParameters
    from norse.torch.functional.lif import LIFParameters
    from norse.torch.functional.lif_box import LIFBoxParameters

    def neuron(shape):
        def full(value: float) -> torch.Tensor:
            return torch.full(shape, float(value))

        if kind == "iaf":
            return norse.IAFCell(IAFParameters(v_th=full(threshold)))
        if kind == "lifbox":
            return norse.LIFBoxCell(LIFBoxParameters(tau_mem_inv=full(tau_mem_inv),
                                                     v_leak=full(v_leak), v_th=full(threshold)))
        return norse.LIFCell(LIFParameters(tau_mem_inv=full(tau_mem_inv),
                                           tau_syn_inv=full(tau_syn_inv), v_leak=full(v_leak),
                                           v_th=full(threshold)))

    net = norse.SequentialState(*_layers(conv, in_shape, classes, neuron, flatten=False))
    _init(net, rng, gain * (10.0 if kind != "iaf" else 1.0))  # LIF input is * dt / tau
    return net


def norse_run(net: nn.Module, x: np.ndarray, steps: int) -> list[np.ndarray]:
    import norse.torch as norse

    neurons = [m for m in net if isinstance(m, norse.IAFCell | norse.LIFBoxCell | norse.LIFCell)]
    inputs = torch.as_tensor(x, dtype=torch.float32)

    def run():
        state = None
        for _ in range(steps):
            _, state = net(inputs, state)

    return _hooked_counts(neurons, run, len(x))


def norse_export(net: nn.Module, x: np.ndarray, dt: float = EXPORT_DT["norse"]):
    from norse.torch.utils.export_nir import to_nir

    return _quiet(to_nir, net, torch.as_tensor(x[:1], dtype=torch.float32), dt=dt)


# --- SpikingJelly 2.0 ---------------------------------------------------------------------------

def spikingjelly_network(kind: str, conv: bool, in_shape, classes: int, rng, *,
                         tau: float = 2.0, decay_input: bool = True, v_reset: float = 0.0,
                         c_decay: float = 0.5, v_decay: float = 0.75, threshold: float = 1.0,
                         gain: float = 1.5) -> nn.Sequential:
    """``IFNode``, ``LIFNode`` or ``CUBALIFNode`` layers (single-step mode)."""
    from spikingjelly.activation_based import layer, neuron

    def node(_shape):
        if kind == "if":
            return neuron.IFNode(v_threshold=threshold, v_reset=v_reset)
        if kind == "lif":
            return neuron.LIFNode(tau=tau, decay_input=decay_input, v_threshold=threshold,
                                  v_reset=v_reset)
        return neuron.CUBALIFNode(c_decay=c_decay, v_decay=v_decay, v_threshold=threshold,
                                  v_reset=v_reset)

    net = nn.Sequential(*_layers(conv, in_shape, classes, node, layer.AvgPool2d))
    _init(net, rng, gain)
    return net


def spikingjelly_run(net: nn.Module, x: np.ndarray, steps: int) -> list[np.ndarray]:
    from spikingjelly.activation_based import functional, neuron

    neurons = [m for m in net if isinstance(m, neuron.BaseNode)]
    functional.reset_net(net)
    inputs = torch.as_tensor(x, dtype=torch.float32)
    counts = _hooked_counts(neurons, lambda: [net(inputs) for _ in range(steps)], len(x))
    functional.reset_net(net)
    return counts


def spikingjelly_export(net: nn.Module, x: np.ndarray, dt: float = EXPORT_DT["spikingjelly"]):
    from spikingjelly.activation_based.nir_exchange import export_to_nir

    return _quiet(export_to_nir, net, torch.as_tensor(x[:1], dtype=torch.float32), dt=dt)


# --- one interface ------------------------------------------------------------------------------

NETWORKS = {"snntorch": snntorch_network, "sinabs": sinabs_network, "norse": norse_network,
            "spikingjelly": spikingjelly_network}
RUNS = {"snntorch": snntorch_run, "sinabs": sinabs_run, "norse": norse_run,
        "spikingjelly": spikingjelly_run}


def export(tool: str, net: nn.Module, x: np.ndarray, steps: int):
    """The tool's own NIR export of ``net`` (``steps``: sinabs' squeezed time axis)."""
    if tool == "sinabs":
        return sinabs_export(net, x, steps)
    return {"snntorch": snntorch_export, "norse": norse_export,
            "spikingjelly": spikingjelly_export}[tool](net, x)


def import_and_run(tool: str, graph, x: np.ndarray, steps: int, dt: float) -> np.ndarray:
    """Import ``graph`` with the tool's own NIR importer, run it on ``x`` for ``steps`` steps and
    return its output summed over the steps, ``(N, outputs)``."""
    inputs = torch.as_tensor(x, dtype=torch.float32)
    if tool == "sinabs":
        from sinabs.nir import from_nir

        module = _quiet(from_nir, graph, num_timesteps=steps)
        batched = inputs[:, None].expand(len(x), steps, *inputs.shape[1:]).flatten(0, 1)
        with torch.no_grad():
            out = _quiet(module, batched)
        out = out[0] if isinstance(out, tuple) else out
        return out.reshape(len(x), steps, -1).sum(1).double().numpy()
    if tool == "snntorch":
        from snntorch.import_nir import import_from_nir

        module = _quiet(import_from_nir, graph)
    elif tool == "norse":
        from norse.torch.utils.import_nir import from_nir

        module = _quiet(from_nir, graph, dt=dt)
    else:
        from spikingjelly.activation_based import functional
        from spikingjelly.activation_based.nir_exchange import import_from_nir

        module = _quiet(import_from_nir, graph, dt=dt)
        functional.reset_net(module)
    total, state = 0, None
    with torch.no_grad():
        for _ in range(steps):  # nirtorch modules return (output, state) and take the state back
            out, state = _quiet(module, inputs, state)
            total = total + out.reshape(len(x), -1).double()
    return total.numpy()


def agreement(ours: list[np.ndarray], theirs: list[np.ndarray]) -> dict[str, float]:
    """The fraction of neurons with equal spike counts (the worst layer) and of equal
    predictions (argmax of the last layer's counts, first index on ties)."""
    neurons = min(float(np.mean(a.reshape(b.shape) == b)) for a, b in zip(ours, theirs,
                                                                          strict=True))
    ours_pred = np.argmax(ours[-1].reshape(len(ours[-1]), -1), axis=1)
    their_pred = np.argmax(theirs[-1].reshape(len(theirs[-1]), -1), axis=1)
    return {"neurons": neurons, "predictions": float(np.mean(ours_pred == their_pred))}
