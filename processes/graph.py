"""Build and run an LD-SNN as a graph of Lava processes (Lava's CPU simulation).

:func:`to_lava` checks a network, schedule and precision and returns a :class:`LavaLDSNN`.
Its :meth:`LavaLDSNN.build` makes the connected processes for one batch of samples::

    LDInput -> stage 0 -> LDBuffer 0 -> stage 1 -> ... -> stage L-1 (readout) -> LDReadout

(each stage the process class of its neuron kind, picked by ``stage_process``)

and :meth:`LavaLDSNN.run` builds, runs them with ``Loihi2SimCfg`` and always stops the runtime
(also on error or KeyboardInterrupt), returning the torch engine's :class:`EvalResult` fields.
Every hop passes its message within the step (no Lava ``Dense``, so no per-hop delay): the
windows of :mod:`ldsnn_lava.clock` need no shift. Results leave the runtime through records in
shared memory (:mod:`ldsnn_lava.processes.records`) read once after the run. Runs use the
guarded runtime of :mod:`ldsnn_lava.processes.runtime`: an exception in any process model
raises :class:`~ldsnn_lava.errors.LavaRunError` naming the process and time step, and no
process or shared memory outlives a run, also when it is interrupted or its caller killed.

Two process-model kinds (``to_lava(..., model=...)``): ``step``, one Lava step per timestep,
the timing of a Loihi mapping; ``window``, one Lava step per window (each stage computes its
T_l timesteps inside the step), faster to simulate, with identical results.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)
import numpy as np
import torch

# isort: split
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from ldsnn_lava.processes.ld_buffer.process import LDBuffer
from ldsnn_lava.processes.ld_input.process import LDInput
from ldsnn_lava.processes.ld_readout.process import LDReadout
from ldsnn_lava.processes.ld_stage.process import (
    LDStage,
    check_fixed,
    stage_process,
    weighted_op_index,
)
from ldsnn_lava.processes.records import Record
from ldsnn_lava.processes.runtime import create_runtime
from ldsnn_lava.processes.tags import TAGS

from ldsnn_lava import guards
from ldsnn_lava.buffers import quantize_rate_input
from ldsnn_lava.clock import stage_windows, total_steps
from ldsnn_lava.engine.driver import as_input, check_call
from ldsnn_lava.engine.result import (
    EvalResult,
    buffered_input_counts,
    count_work,
    fan_out_vectors,
    synaptic_updates,
)
from ldsnn_lava.engine.temporal import stage0_chunk_input
from ldsnn_lava.errors import InvalidInput, InvalidOption
from ldsnn_lava.network import Network
from ldsnn_lava.ops import Scale
from ldsnn_lava.options import BufferKind, InputEncoding, ModelKind, Precision, parse_option
from ldsnn_lava.schedule import Schedule
from ldsnn_lava.sequences import check_delays, check_sequence, scaled_delays
from ldsnn_lava.torch_ops import torch_op


@dataclass
class LavaGraph:
    """Connected Lava processes for one batch of ``num_samples`` samples.

    Attributes
    ----------
    input : LDInput
    stages : list of LDStage
    buffers : list of LDBuffer
    readout : LDReadout
    num_samples : int
    num_steps : int
        Clock steps that stream all samples through.
    readout_record, counts_records : Record
        The records the readout and the spiking stages write.
    model : {"step", "window"}
        The process-model kind the processes were built for (their port shapes differ).
    """

    input: LDInput
    stages: list[LDStage]
    buffers: list[LDBuffer]
    readout: LDReadout
    num_samples: int
    num_steps: int
    readout_record: Record
    counts_records: list[Record]
    model: ModelKind = ModelKind.STEP

    def run(self, tag: str, warmup_steps: int = 0) -> float:
        """Run all steps with ``Loihi2SimCfg(select_tag=tag)`` on a guarded runtime
        (:func:`ldsnn_lava.processes.runtime.create_runtime`), always stopped afterwards.

        Parameters
        ----------
        tag : str
            Process-model tag of the graph's model kind (see :data:`TAGS`).
        warmup_steps : int
            Steps run first, untimed, after the graph is compiled and the runtime's processes
            started; the remaining steps then run in a second call.

        Returns
        -------
        float
            Wall-clock seconds of the steps after ``warmup_steps`` alone (no compile, start-up
            or stop), or of the whole run with its compile and start-up when ``warmup_steps``
            is 0.

        Raises
        ------
        LavaRunError
            A process model raised (the message names it and the time step) or a Lava process
            exited; the runtime's processes are gone.
        """
        allowed = sorted(t for (kind, _), t in TAGS.items() if kind == self.model)
        if tag not in allowed:
            raise InvalidOption(f"the processes were built for the {self.model} models; run "
                                f"them with a tag in {allowed}, not {tag!r}")
        if not 0 <= warmup_steps < self.num_steps:
            raise InvalidOption(f"warmup_steps must be in [0, {self.num_steps}), "
                                f"got {warmup_steps}")
        start = time.perf_counter()
        try:
            create_runtime(self.input, Loihi2SimCfg(select_tag=tag))
            if warmup_steps:
                self.input.run(condition=RunSteps(num_steps=warmup_steps))
                start = time.perf_counter()
            self.input.run(condition=RunSteps(num_steps=self.num_steps - warmup_steps))
            return time.perf_counter() - start
        finally:
            self.input.stop()

    def readout_sums(self) -> np.ndarray:
        """(N, classes) readout sums, read from the readout's record after the run."""
        return self.readout_record.read()

    def spike_counts(self) -> list[np.ndarray]:
        """One (N, *stage_output_shape) int32 array of spike counts per spiking stage."""
        return [record.read() for record in self.counts_records]


class LavaLDSNN:
    """An LD-SNN ready to run on Lava; made by :func:`to_lava`.

    Attributes
    ----------
    net : Network
    schedule : Schedule
    precision : {"float", "fixed"}
    model : {"step", "window"}
    stage_ops : list of tuple of Op
        Each stage's ops as the processes run them (fixed precision with a netx input layer:
        stage 0's affine map runs on the host, see :meth:`encode`).
    """

    def __init__(self, net: Network, schedule: Schedule,
                 precision: Precision | str = Precision.FLOAT,
                 model: ModelKind | str = ModelKind.STEP):
        precision = parse_option(Precision, precision, "precision")
        model = parse_option(ModelKind, model, "model")
        check_call(net, schedule)
        self.net, self.schedule, self.precision, self.model = net, schedule, precision, model
        self.stage_ops = [stage.ops for stage in net.stages]
        self._host_scale = None
        first = net.stages[0].ops[0]
        if (precision == Precision.FIXED and net.input_encoding == InputEncoding.DIRECT
                and isinstance(first, Scale)):
            # As lava-dl drives its input layer: the host computes the affine map of the
            # input (e.g. a netx input layer's bias_mant) and the stage receives integers.
            self._host_scale = torch_op(first, "cpu", torch.float64)
            self.stage_ops[0] = (Scale(),) + net.stages[0].ops[1:]
        for index, stage in enumerate(net.stages):
            weighted_op_index(stage.ops, f"stage {index}")
            if precision == Precision.FIXED:
                check_fixed(self.stage_ops[index], stage.neuron, f"stage {index}")
        self.temporal = net.input_encoding.is_sequence or net.has_delays
        if self.temporal and model == ModelKind.WINDOW:
            raise InvalidOption("sequence input and delays run on the step models (model="
                                "'step'); the window models do not carry state across windows")
        #: Lava windows per sample: 1, or the chunks of the sequences last encoded
        self.windows_per_sample = 1

    @property
    def tag(self) -> str:
        """The Lava process-model tag this model kind and precision select."""
        return TAGS[self.model, self.precision]

    def encode(self, x) -> np.ndarray:
        """The samples ``x`` as stage 0's input process sends them: rate input as integer
        counts, direct input as values (fixed precision: integers, after a netx input layer's
        affine map, which the host applies), sequences as chunks ``(N * K, T_0, *shape)`` at
        stage 0's resolution (the input gap applied on the host)."""
        x = as_input(x, self.net)  # real, finite, shaped; rate input within [0, 1]
        if self.net.input_encoding.is_sequence:
            return self._encode_sequences(x)
        if self.net.input_encoding == InputEncoding.RATE:
            return quantize_rate_input(x, self.schedule.timesteps[0]).numpy()
        x = x.to(torch.float64)
        data = (x if self._host_scale is None else self._host_scale(x)).numpy()
        if self.precision == Precision.FIXED and not np.array_equal(data, np.round(data)):
            raise InvalidInput("fixed precision with direct input needs integer-valued inputs; "
                               "quantize them (QuantizedNetwork.encode_input)")
        return data

    def _encode_sequences(self, x) -> np.ndarray:
        x = torch.as_tensor(np.asarray(x), dtype=torch.float64)
        check_sequence(self.net, self.schedule, x.numpy())
        check_delays(self.net, self.schedule, x.shape[1])
        chunk = self.schedule.chunk
        self.windows_per_sample = x.shape[1] // chunk
        parts = [stage0_chunk_input(self.net, self.schedule, x[:, k * chunk:(k + 1) * chunk])
                 for k in range(self.windows_per_sample)]
        data = torch.stack(parts, dim=1).transpose(0, 2)  # (N, K, T_0, *shape)
        data = data.reshape(-1, *data.shape[2:]).to(torch.float64).numpy()
        if self.precision == Precision.FIXED and not np.array_equal(data, np.round(data)):
            raise InvalidInput("fixed precision needs integer-valued frames")
        return data

    def _stage_delays(self, index: int) -> np.ndarray | None:
        stage = self.net.stages[index]
        if stage.delay is None or not stage.delay.any():
            return None
        return scaled_delays(self.net.delays_of(index), self.schedule.timesteps[index],
                             self.schedule.chunk)

    def build(self, x) -> LavaGraph:
        """Make and connect the processes for the samples ``x`` (shape ``(N, *input_shape)``)
        and the records they write."""
        net, schedule, precision = self.net, self.schedule, self.precision
        data = self.encode(x)
        n = len(data)
        if not net.input_encoding.is_sequence and net.has_delays:
            check_delays(net, schedule)
        guards.check_time(guards.LAVA_STEP_SECONDS * (2 * net.num_stages + 1)
                          * total_steps(schedule, n, self.model), "the Lava run")
        window = self.model == ModelKind.WINDOW
        direct_input = net.input_encoding == InputEncoding.DIRECT
        steps = schedule.timesteps
        windows = stage_windows(schedule, self.model)

        def per_window(value):
            return value if window else None

        source = LDInput(data=data, window=windows[0], encoding=net.input_encoding,
                         precision=precision, window_steps=per_window(steps[0]), name="input")
        stages, buffers, counts_records = [], [], []
        port = source.s_out
        for index, stage in enumerate(net.stages):
            counts = None
            if not stage.is_readout:
                counts = Record(n, net.output_shape_of(index), np.int32)
                counts_records.append(counts)
            proc = stage_process(ops=self.stage_ops[index], neuron=stage.neuron,
                                 in_shape=net.input_shape_of(index), window=windows[index],
                                 precision=precision, counts_record=counts,
                                 window_steps=per_window(steps[index]),
                                 input_steps=per_window(1 if index == 0 and direct_input
                                                        else None),
                                 chunks=self.windows_per_sample, delays=self._stage_delays(index),
                                 graded=graded_input(schedule, index),
                                 name=stage.name or f"stage{index}")
            port.connect(proc.a_in)
            port = proc.s_out
            stages.append(proc)
            if stage.is_readout:
                break
            buffer = LDBuffer(shape=net.output_shape_of(index), mode=schedule.buffers[index],
                              upstream=windows[index], downstream=windows[index + 1],
                              precision=precision,
                              window_steps=per_window((steps[index], steps[index + 1])),
                              name=f"buffer{index}")
            port.connect(buffer.s_in)
            port = buffer.s_out
            buffers.append(buffer)
        readout_record = Record(n, (net.num_classes,), np.float64)
        readout = LDReadout(shape=(net.num_classes,), window=windows[-1], record=readout_record,
                            precision=precision, window_steps=per_window(steps[-1]),
                            name="readout")
        port.connect(readout.a_in)
        return LavaGraph(source, stages, buffers, readout, n,
                         total_steps(schedule, n, self.model), readout_record, counts_records,
                         self.model)

    def run(self, x) -> EvalResult:
        """Stream the samples ``x`` through Lava; returns what :func:`ldsnn_lava.evaluate`
        returns (readout sums, predictions, per-stage spike counts, counters, seconds)."""
        start = time.perf_counter()
        graph = self.build(x)
        graph.run(self.tag)
        readout, counts = graph.readout_sums(), graph.spike_counts()
        chunks = self.windows_per_sample
        synaptic = self._synaptic_updates(counts, graph) * chunks
        if chunks > 1:  # each window was one chunk: sum a sample's chunks
            readout = readout.reshape(-1, chunks, readout.shape[1]).sum(1)
            counts = [c.reshape(-1, chunks, *c.shape[1:]).sum(1, dtype=np.int32) for c in counts]
        return EvalResult(
            readout=readout,
            predictions=np.argmax(readout, axis=1),
            spike_counts=counts,
            counters=count_work(self.net, self.schedule, synaptic, chunks),
            schedule=self.schedule,
            seconds=time.perf_counter() - start,
        )

    def _synaptic_updates(self, counts: list[np.ndarray], graph: LavaGraph) -> np.ndarray:
        """Per-sample mean synaptic updates per stage, from the input spikes each stage got."""
        rate_input = None
        if self.net.input_encoding == InputEncoding.RATE:
            rate_input = graph.input.proc_params["data"]
        if self.net.input_encoding == InputEncoding.EVENTS:
            rate_input = graph.input.proc_params["data"].sum(1)
        inputs = buffered_input_counts(self.net, self.schedule, counts, rate_input)
        return synaptic_updates(inputs, fan_out_vectors(self.net)) / graph.num_samples


def graded_input(schedule: Schedule, index: int) -> tuple[int, int] | None:
    """``(T_in, T_out)`` when a ``graded`` buffer feeds stage ``index``, else ``None``."""
    if index and schedule.buffers[index - 1] == BufferKind.GRADED:
        return schedule.timesteps[index - 1], schedule.timesteps[index]
    return None


def to_lava(net: Network, schedule: Schedule, precision: Precision | str = Precision.FLOAT,
            model: ModelKind | str = ModelKind.STEP) -> LavaLDSNN:
    """Prepare ``net`` under ``schedule`` for Lava.

    Parameters
    ----------
    net : Network
    schedule : Schedule
        ``schedule.mode`` picks sequential or pipelined streaming.
    precision : {"float", "fixed"}
        ``float`` runs the ``floating_pt`` models (float64), ``fixed`` the ``fixed_pt`` models:
        the integer definition of ``evaluate(..., precision="fixed")``; the network needs
        integer parameters (see :func:`ldsnn_lava.quantize.quantize`).
    model : {"step", "window"}
        ``step`` (default): one Lava step is one timestep, each stage works in its own
        window of T_l steps (the timing a Loihi mapping has). ``window``: one Lava step
        carries a stage's whole window (its T_l steps computed inside the step), for
        simulation speed: the same spikes, counts and readout sums, but not Loihi-faithful
        timing. Lava 0.10 costs about 0.1 ms per process per step whatever the process does,
        so the step models pay per timestep and the window models per window; an LD
        schedule's fewer timesteps then show as less compute per step.

    Raises
    ------
    InvalidOption, InvalidSchedule, InvalidNetwork
        On an unknown precision or model, a schedule that does not fit the network, a stage
        with more than one weighted op (Dense, Conv2d or Scale), or (fixed) a network with
        non-integer parameters or an AvgPool2d.

    Examples
    --------
    >>> result = to_lava(net, Schedule([8, 4], "rate")).run(x)  # doctest: +SKIP
    >>> result.predictions, result.spike_counts[0].shape  # doctest: +SKIP
    """
    return LavaLDSNN(net, schedule, precision, model)
