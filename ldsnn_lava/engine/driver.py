"""The torch engine: evaluates an LD-SNN layer by layer, in batches, on CPU or CUDA.

For each stage it applies the linear ops to all T_l steps of its input at once (one batched
matmul/conv), runs the neuron recurrence over T_l steps, then hands the spike raster to the
buffer, which replays it or re-emits its counts over the next stage's window. Because the
chain is feed-forward, this gives exactly the spikes of stepping all layers together
(``docs/design.md``), while counting the work done.

:class:`StageEngine` exposes the per-stage pieces (the optimizer caches stage outputs with
them); :func:`evaluate` is the public one-call API.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from ldsnn_lava.buffers import quantize_rate_input
from ldsnn_lava.engine.kernels import rate_emit, run_neuron, spike_counts
from ldsnn_lava.engine.result import EvalResult, count_work
from ldsnn_lava.errors import InvalidInput, InvalidNetwork, InvalidOption
from ldsnn_lava.network import Network
from ldsnn_lava.options import BufferKind, InputEncoding, Precision, parse_option
from ldsnn_lava.schedule import Schedule
from ldsnn_lava.torch_ops import torch_op


@dataclass
class StageInput:
    """A stage's input for one batch: a boolean raster ``(T, B, *shape)`` or, for stage 0
    under direct encoding, the constant input ``(B, *shape)`` it sees every step."""

    raster: torch.Tensor | None = None
    constant: torch.Tensor | None = None


@dataclass
class StageOutput:
    """A stage's output for one batch: its spike raster ``(T, B, *shape)`` (spiking stage) or
    readout sums ``(B, classes)``, and the per-sample synaptic updates it did."""

    raster: torch.Tensor | None
    readout: torch.Tensor | None
    synaptic_updates: torch.Tensor


class StageEngine:
    """The network's stages compiled for one device, dtype and precision.

    Parameters
    ----------
    net : Network
    device : str or torch.device
    dtype : torch.dtype
        Floating dtype of currents and membrane state (float32 or float64) in ``float``
        precision. ``fixed`` precision always computes synaptic sums in float64 (exact for
        integers below 2**53) and keeps currents and state in int64.
    precision : Precision or str
        ``"fixed"`` is the Loihi-style integer definition (see :mod:`ldsnn_lava.neurons`); it
        needs integer weights, biases and neuron parameters, e.g. from
        :func:`ldsnn_lava.quantize`, and integer-valued currents.
    """

    def __init__(self, net: Network, device="cpu", dtype: torch.dtype = torch.float32,
                 precision: Precision | str = Precision.FLOAT):
        if dtype not in (torch.float32, torch.float64):
            raise InvalidOption(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.precision = parse_option(Precision, precision, "precision")
        self.net, self.device = net, torch.device(device)
        self.fixed = self.precision == Precision.FIXED
        self.dtype = torch.float64 if self.fixed else dtype
        self._ops = [[torch_op(op, self.device, self.dtype) for op in s.ops] for s in net.stages]
        #: each stage's structural fan-out per input element, flattened; float64 holds every
        #: per-sample count of synaptic updates exactly (below 2**53)
        self.fan_outs = [torch.as_tensor(f, dtype=torch.float64, device=self.device).flatten()
                         for f in net.fan_outs]

    def _apply_ops(self, stage: int, x: torch.Tensor) -> torch.Tensor:
        for fn in self._ops[stage]:
            x = fn(x)
        if not self.fixed:
            return x
        rounded = torch.round(x)
        if not bool((rounded == x).all()):
            raise InvalidNetwork(
                f"stage {stage}: fixed precision needs integer synaptic currents, got "
                f"fractional values; quantize the network (ldsnn_lava.quantize) and give it "
                f"integer inputs"
            )
        return rounded.to(torch.int64)

    def encode(self, x: torch.Tensor, T: int) -> StageInput:
        """Stage 0's input for a batch ``x`` of shape ``(B, *input_shape)``."""
        if self.net.input_encoding == InputEncoding.DIRECT:
            return StageInput(constant=x.to(self.dtype))
        return StageInput(raster=rate_emit(quantize_rate_input(x, T), T, T))

    def forward(self, stage: int, inp: StageInput, T: int) -> StageOutput:
        """Run one stage for ``T`` steps on one batch."""
        neuron = self.net.stages[stage].neuron
        if inp.constant is not None:
            current = self._apply_ops(stage, inp.constant)
            currents = current.expand(T, *current.shape)
            synaptic = torch.zeros(current.shape[0], dtype=torch.float64, device=self.device)
        else:
            steps, batch = inp.raster.shape[:2]
            currents = self._apply_ops(stage, inp.raster.flatten(0, 1).to(self.dtype))
            currents = currents.view(steps, batch, *currents.shape[1:])
            counts = spike_counts(inp.raster).flatten(1).to(torch.float64)
            synaptic = counts @ self.fan_outs[stage]
        if neuron is None:
            return StageOutput(None, currents.sum(0).to(torch.float64), synaptic)
        _, raster = run_neuron(neuron, currents[:T], fixed=self.fixed)
        return StageOutput(raster, None, synaptic)

    @staticmethod
    def buffer(raster: torch.Tensor, mode: str, t_in: int, t_out: int) -> StageInput:
        """Turn a stage's output raster into the next stage's input."""
        if mode == BufferKind.REPLAY:
            return StageInput(raster=raster)
        return StageInput(raster=rate_emit(spike_counts(raster), t_in, t_out))


def auto_batch_size(net: Network, schedule: Schedule, budget_bytes: float = 256e6) -> int:
    """A batch size whose largest stage raster and currents stay within ``budget_bytes``."""
    per_sample = max(
        T * (np.prod(net.input_shape_of(i)) + np.prod(net.output_shape_of(i))) * 9
        for i, T in enumerate(schedule.timesteps)
    )
    return int(max(1, min(4096, budget_bytes // per_sample)))


def _as_tensor(x, net: Network) -> torch.Tensor:
    x = torch.as_tensor(x) if not isinstance(x, torch.Tensor) else x
    if tuple(x.shape[1:]) != net.input_shape:
        raise InvalidInput(f"input must have shape (N, *{net.input_shape}), got "
                           f"{tuple(x.shape)}")
    if not torch.is_floating_point(x):
        x = x.to(torch.float64)
    if not bool(torch.isfinite(x).all()):
        raise InvalidInput("input contains NaN or inf values")
    return x


def evaluate(
    net: Network,
    schedule: Schedule,
    x,
    *,
    device: str | torch.device = "cpu",
    batch_size: int | None = None,
    dtype: torch.dtype = torch.float32,
    precision: Precision | str = Precision.FLOAT,
    record_spikes: bool = True,
    record_rasters: bool = False,
    progress: bool | None = None,
) -> EvalResult:
    """Evaluate ``net`` under ``schedule`` on a batch of inputs.

    Parameters
    ----------
    net : Network
    schedule : Schedule
        Must have one timestep per stage of ``net``.
    x : array-like or torch.Tensor
        (N, *net.input_shape) inputs; for sequence input (``events``/``frames``) (N, S,
        *net.input_shape), S a multiple of ``schedule.chunk``.
    device : str or torch.device
        ``"cpu"`` or ``"cuda"``.
    batch_size : int, optional
        Samples per batch; default chosen to bound memory (:func:`auto_batch_size`).
    dtype : torch.dtype
        float32 (default) or float64, in ``float`` precision.
    precision : Precision or str
        ``"fixed"``: the Loihi-style integer definition (see :class:`StageEngine`).
    record_spikes : bool
        Keep each spiking stage's per-neuron spike counts.
    record_rasters : bool
        Also keep each spiking stage's spikes step by step (``EvalResult.rasters``), to compare
        traces with another simulator.
    progress : bool, optional
        Show a progress bar; default: when writing to a terminal.

    Returns
    -------
    EvalResult

    Examples
    --------
    >>> result = evaluate(net, Schedule([8, 4, 4], "rate"), x_test)  # doctest: +SKIP
    >>> result.accuracy(y_test), result.counters.total["synaptic_updates"]  # doctest: +SKIP
    """
    start = time.perf_counter()
    schedule.check(net)
    if net.input_encoding.is_sequence or net.has_delays:
        from ldsnn_lava.engine.temporal import evaluate_chunked

        return evaluate_chunked(net, schedule, x, device=device, batch_size=batch_size,
                                dtype=dtype, precision=precision, record_spikes=record_spikes,
                                record_rasters=record_rasters, progress=progress, start=start)
    x = _as_tensor(x, net)
    n = x.shape[0]
    if n == 0:
        raise InvalidInput("input holds no samples")
    engine = StageEngine(net, device, dtype, precision)
    batch_size = batch_size or auto_batch_size(net, schedule)
    if batch_size < 1:
        raise InvalidOption(f"batch_size must be >= 1, got {batch_size}")
    steps = schedule.timesteps
    readouts, synaptic = [], np.zeros(net.num_stages)
    counts: list[list[np.ndarray]] = [[] for _ in range(net.num_stages - 1)]
    rasters: list[list[np.ndarray]] = [[] for _ in range(net.num_stages - 1)]
    count_dtypes = [np.uint8 if T <= 255 else np.int32 for T in steps]
    batches = range(0, n, batch_size)
    bar = tqdm(batches, desc="evaluate", unit="batch", leave=False,
               disable=(len(batches) < 2) if progress is None else not progress)
    with torch.inference_mode():
        for begin in bar:
            inp = engine.encode(x[begin:begin + batch_size].to(engine.device), steps[0])
            for stage in range(net.num_stages):
                out = engine.forward(stage, inp, steps[stage])
                synaptic[stage] += float(out.synaptic_updates.sum())
                if out.readout is not None:
                    readouts.append(out.readout.cpu().numpy())
                    break
                if record_spikes:
                    counts[stage].append(
                        spike_counts(out.raster).cpu().numpy().astype(count_dtypes[stage]))
                if record_rasters:
                    rasters[stage].append(out.raster.transpose(0, 1).cpu().numpy())
                inp = engine.buffer(out.raster, schedule.buffers[stage], steps[stage],
                                    steps[stage + 1])
    readout = np.concatenate(readouts)
    return EvalResult(
        readout=readout,
        predictions=np.argmax(readout, axis=1),
        spike_counts=[np.concatenate(c) for c in counts] if record_spikes else None,
        counters=count_work(net, schedule, synaptic / n),
        schedule=schedule,
        seconds=time.perf_counter() - start,
        rasters=[np.concatenate(r) for r in rasters] if record_rasters else None,
    )
