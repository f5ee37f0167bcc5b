"""An independent simulator of NIR chains, written from NIR's equations and each tool's
documented convention (not from ldsnn_lava's reader): forward Euler at ``dt``, float64, the
input ``x`` fed every step. The NIR tests compare the reader + engine against it."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def chain(graph) -> list:
    """The nodes from Input to Output, in order."""
    successor = dict(graph.edges)
    name = next(k for k, n in graph.nodes.items() if type(n).__name__ == "Input")
    nodes = []
    while name in successor:
        name = successor[name]
        nodes.append(graph.nodes[name])
    return nodes[:-1]  # without Output


def _one(values) -> float:
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    assert np.all(flat == flat[0])
    return float(flat[0])


def _pair(value) -> tuple[int, int]:
    flat = np.asarray(value).reshape(-1)
    return int(flat[0]), int(flat[-1])


def as64(array) -> torch.Tensor:
    return torch.as_tensor(np.asarray(array), dtype=torch.float64)


def _op(node, h: torch.Tensor) -> torch.Tensor:
    kind = type(node).__name__
    if kind in ("Affine", "Linear"):
        h = h.reshape(h.shape[0], -1) @ as64(node.weight).T
        return h + as64(node.bias) if kind == "Affine" else h
    if kind == "Conv2d":
        padding = node.padding if isinstance(node.padding, str) else _pair(node.padding)
        return F.conv2d(h, as64(node.weight), as64(node.bias), _pair(node.stride), padding)
    if kind in ("SumPool2d", "AvgPool2d"):
        kernel = _pair(node.kernel_size)
        area = kernel[0] * kernel[1] if kind == "SumPool2d" else 1
        return F.avg_pool2d(h, kernel, _pair(node.stride)) * area
    if kind == "Flatten":
        return h.reshape(h.shape[0], -1)
    if kind == "Scale":
        return h * as64(node.scale)
    raise NotImplementedError(kind)


class _Neuron:
    """One NIR neuron node's state under a convention."""

    def __init__(self, node, dt: float, convention: str):
        kind = type(node).__name__
        self.kind, self.dt, self.convention = kind, dt, convention
        self.threshold = _one(node.threshold if kind == "Threshold" else node.v_threshold)
        self.v_reset = 0.0 if kind == "Threshold" else _one(node.v_reset)
        self.r = 1.0 if kind == "Threshold" else _one(node.r)
        unit = dt if convention == "norse" else 1.0  # Norse writes dt * tau
        self.tau_mem = {"LIF": "tau", "CubaLIF": "tau_mem"}.get(kind)
        self.tau_mem = np.inf if self.tau_mem is None else _one(getattr(node, self.tau_mem)) / unit
        self.tau_syn = _one(node.tau_syn) / unit if kind == "CubaLIF" else None
        self.w_in = _one(node.w_in) if kind == "CubaLIF" else 1.0
        self.v_leak = _one(node.v_leak) if kind in ("LIF", "CubaLIF") else 0.0
        rest = self.v_leak if kind in ("LIF", "CubaLIF") else self.v_reset
        self.v0 = {"snntorch": 0.0, "sinabs_single_spike": 0.0,
                   "spikingjelly": self.v_reset}.get(convention,
                                                                                    rest)
        self.state = None

    def step(self, x: torch.Tensor) -> torch.Tensor:
        if self.state is None:  # snnTorch decides its first reset from the initial potential
            self.state = (torch.zeros_like(x), torch.full_like(x, self.v0),
                          torch.full_like(x, self.v0 > self.threshold, dtype=torch.bool))
        current, v, fired_before = self.state
        dt, convention = self.dt, self.convention
        if self.kind == "Threshold":
            return x > self.threshold
        if self.tau_syn is None:
            current = x
        elif convention == "norse":  # LIFCell: the input jumps the current
            current = current * (1 - dt / self.tau_syn) + self.w_in * x
        else:
            current = current + dt / self.tau_syn * (self.w_in * x - current)
        if self.kind == "IF":
            v = v + (self.r if convention == "norse" else dt * self.r) * current
        elif convention == "sinabs_single_spike":  # exact decay, input scaled by 1 - alpha
            alpha = np.exp(-dt / self.tau_mem)
            v = alpha * v + (1 - alpha) * (self.v_leak + self.r * current)
        else:
            v = v + dt / self.tau_mem * (self.v_leak - v + self.r * current)
        if convention == "snntorch" and self.kind != "IF":
            v = v - fired_before.double() * self.threshold  # subtract one step late
        fired = v >= self.threshold if convention in ("sinabs_single_spike", "spikingjelly") else \
            v > self.threshold
        if convention == "sinabs_single_spike" or (convention == "snntorch" and self.kind == "IF"):
            v = v - fired.double() * self.threshold
        elif convention != "snntorch":  # snnTorch's LIF keeps v until the next step
            v = torch.where(fired, torch.full_like(v, self.v_reset), v)
        self.state = (current, v, fired)
        return fired


class _DelayLine:
    """NIR's Delay: the input of ``delay / dt`` steps ago (zero before the first step)."""

    def __init__(self, node, dt: float):
        self.steps = np.rint(np.asarray(node.delay, dtype=np.float64) / dt).astype(int)
        self.history: list[torch.Tensor] = []

    def step(self, x: torch.Tensor) -> torch.Tensor:
        self.history.append(x)
        steps = torch.as_tensor(np.broadcast_to(self.steps, x.shape[1:]).copy())
        out = torch.zeros_like(x)
        for lag in torch.unique(steps).tolist():
            if lag < len(self.history):
                mask = (steps == lag).expand_as(x)
                out = torch.where(mask, self.history[-1 - lag], out)
        return out


def simulate(graph, x: np.ndarray, steps: int, dt: float, convention: str = "nir"):
    """Per-neuron spike counts of every neuron node, and the readout: the last neuron node's
    counts, or the sum over steps of what reaches Output (an ``I`` node: times ``dt r``)."""
    nodes = chain(graph)
    neurons = {id(n): _Neuron(n, dt, convention) for n in nodes
               if type(n).__name__ in ("IF", "LIF", "CubaLIF", "Threshold")}
    delays = {id(n): _DelayLine(n, dt) for n in nodes if type(n).__name__ == "Delay"}
    counts = {key: 0 for key in neurons}
    readout = 0
    for _ in range(steps):
        h = torch.as_tensor(x, dtype=torch.float64)
        for node in nodes:
            if id(node) in neurons:
                h = neurons[id(node)].step(h).double()
                counts[id(node)] = counts[id(node)] + h
            elif id(node) in delays:
                h = delays[id(node)].step(h)
            elif type(node).__name__ == "I":
                h = dt * _one(node.r) * h
            else:
                h = _op(node, h)
        readout = readout + h.reshape(h.shape[0], -1)
    return [c.numpy() for c in counts.values()], readout.numpy()
