"""An LD-SNN as one hierarchical Lava process with ``s_in`` and ``s_out``."""

from __future__ import annotations

from collections.abc import Sequence

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
import numpy as np
import torch
from lava.magma.core.process.ports.ports import InPort, OutPort
from ldsnn_lava.processes import lava_stage
from ldsnn_lava.processes.base import LDProcess
from ldsnn_lava.processes.graph import LavaLDSNN, graded_input
from ldsnn_lava.processes.ld_buffer.process import LDBuffer
from ldsnn_lava.processes.ld_stage.process import LDStage, stage_process
from ldsnn_lava.processes.runtime import create_runtime

from ldsnn_lava.buffers import rate_raster
from ldsnn_lava.clock import input_windows, period_of, stage_windows, total_steps
from ldsnn_lava.errors import InvalidInput, InvalidNetwork
from ldsnn_lava.network import Network
from ldsnn_lava.ops import Conv2d
from ldsnn_lava.options import InputEncoding, Mode, ModelKind, Precision, parse_option
from ldsnn_lava.schedule import Schedule


class LDNetwork(LDProcess):
    """An LD-SNN (a :class:`~ldsnn_lava.network.Network` under a
    :class:`~ldsnn_lava.schedule.Schedule`) as one Lava process: ``s_in`` -> stages and
    buffers -> ``s_out``, to drop into a Lava script next to Lava's own processes.

    Like lava-dl's netx ``Network``, it builds its sub-processes when it is made, so their Vars
    can be probed and read before and after a run: ``stages[l]`` is a stage process
    (:class:`~ldsnn_lava.processes.ld_stage.process.LDStage`: ``weights``, ``bias``, ``v``,
    ``vth``, ``counts``, ...) or, with ``lava_stages``, a
    :class:`~ldsnn_lava.processes.lava_stage.LavaStage` of Lava's own ``Dense``/``Conv`` and
    ``LIFReset``; ``buffers[l]`` the :class:`LDBuffer` after stage l. Every sub-process receives
    and sends on every step (zeros outside its window), as Lava's processes do, so Lava's
    sinks and ``Monitor`` connect to any port. One Lava step is one timestep (the step models,
    tags ``floating_pt`` / ``fixed_pt``).

    Ports:

    - ``s_in`` (the network's input shape): stage 0's input, read in stage 0's input window of
      each period: under ``direct`` input the sample's value (the stage's current is computed
      from it every step), under ``rate`` input its spikes. :meth:`source_data` makes the
      whole stream for ``lava.proc.io.source.RingBuffer``.
    - ``s_out`` (classes): the readout stage's current on every step of its window, zeros
      elsewhere; :meth:`readout_sums` sums it per sample, as the engine's readout.

    Running it with ``net.run(...)`` uses the guarded runtime
    (:mod:`ldsnn_lava.processes.runtime`): an error in any process raises, and no process or
    shared memory outlives the run.

    Parameters
    ----------
    net : Network
    schedule : Schedule
    precision : {"float", "fixed"}
        Select the models with ``Loihi2SimCfg(select_tag="floating_pt")`` or ``"fixed_pt"``.
    lava_stages : bool or sequence of int
        Build these stages (True: every stage that can be) from Lava's ``Dense``/``Conv`` and
        ``LIFReset`` (see :mod:`ldsnn_lava.processes.lava_stage` for where that is exact; a
        listed stage that cannot be raises InvalidNetwork with the reason). Each adds one
        step of delay, absorbed by the windows.
    name : str, optional
    """

    def __init__(self, *, net: Network, schedule: Schedule,
                 precision: Precision | str = Precision.FLOAT,
                 lava_stages: bool | Sequence[int] = False, name: str | None = None):
        precision = parse_option(Precision, precision, "precision")
        runner = LavaLDSNN(net, schedule, precision, ModelKind.STEP)
        lava = _lava_stage_indices(net, schedule, precision, lava_stages)
        delays = [lava_stage.HOP_DELAY if index in lava else 0
                  for index in range(net.num_stages)]
        super().__init__(net=net, schedule=schedule, precision=precision, lava_stages=lava,
                         name=name or "LDNetwork")
        self.net, self.schedule, self.precision = net, schedule, precision
        self.delays = delays
        self.windows = stage_windows(schedule, ModelKind.STEP, delays)
        self.input_windows = input_windows(schedule, delays)
        self.period = period_of(schedule, ModelKind.STEP, delays)
        self._runner = runner
        self.s_in = InPort(shape=net.input_shape)
        self.s_out = OutPort(shape=(net.num_classes,))
        self.stages: list[LDStage | lava_stage.LavaStage] = []
        self.buffers: list[LDBuffer] = []
        port = self.s_in
        for index, stage in enumerate(net.stages):
            label = stage.name or f"stage{index}"
            if index in lava:
                block = lava_stage.build(
                    stage, net.input_shape_of(index), self.windows[index], precision,
                    graded_input=index == 0 and net.input_encoding == InputEncoding.DIRECT,
                    name=label)
                block.connect_input(port)
                port = block.output()
                self.stages.append(block)
            else:
                proc = stage_process(ops=runner.stage_ops[index], neuron=stage.neuron,
                                     in_shape=net.input_shape_of(index),
                                     window=self.windows[index], precision=precision,
                                     every_step=True, graded=graded_input(schedule, index),
                                     name=label)
                port.connect(proc.a_in)
                port = proc.s_out
                self.stages.append(proc)
            if stage.is_readout:
                break
            buffer = LDBuffer(shape=net.output_shape_of(index), mode=schedule.buffers[index],
                              upstream=self.windows[index],
                              downstream=self.input_windows[index + 1], precision=precision,
                              every_step=True, name=f"buffer{index}")
            port.connect(buffer.s_in)
            port = buffer.s_out
            self.buffers.append(buffer)
        port.connect(self.s_out)

    def create_runtime(self, run_cfg=None, executable=None, compile_config=None):
        """Start the graph on the guarded runtime (Lava's ``run`` calls this on first use)."""
        if executable is not None:
            raise InvalidNetwork("LDNetwork compiles its own graph; pass run_cfg, not an "
                                 "executable")
        create_runtime(self, run_cfg, compile_config)

    def num_steps(self, num_samples: int) -> int:
        """Steps that stream ``num_samples`` samples through every stage."""
        return total_steps(self.schedule, num_samples, ModelKind.STEP, self.delays)

    def source_data(self, x) -> np.ndarray:
        """The input stream for ``lava.proc.io.source.RingBuffer(data=...)``: shape
        ``(*input_shape, num_steps(N))``, sample k in stage 0's input window of period k (its
        value under direct input; its spikes by the rate rule under rate input), zeros
        elsewhere. Fixed precision: integers (a netx input layer's affine map applied)."""
        data = self._runner.encode(x)
        rate = self.net.input_encoding == InputEncoding.RATE
        window, steps = self.input_windows[0], self.schedule.timesteps[0]
        stream = np.zeros((*self.net.input_shape, self.num_steps(len(data))))
        for sample, values in enumerate(data):
            start = sample * self.period + window.offset
            if rate:
                raster = rate_raster(torch.as_tensor(values), steps, steps).numpy()
                stream[..., start:start + steps] = np.moveaxis(raster, 0, -1)
            else:
                stream[..., start:start + steps] = values[..., None]
        return stream

    def readout_sums(self, s_out: np.ndarray) -> np.ndarray:
        """Per-sample readout sums ``(N, classes)`` from the recorded ``s_out`` stream (shape
        ``(classes, steps)``, as a sink ``RingBuffer`` records it), summed step after step."""
        return self._per_sample(s_out, self.windows[-1], np.float64, lambda x: x)

    def spike_counts(self, stage: int, s_out: np.ndarray) -> np.ndarray:
        """Per-sample spike counts ``(N, *shape)`` of spiking stage ``stage`` from its recorded
        ``s_out`` stream (shape ``(*shape, steps)``)."""
        if not 0 <= stage < self.net.num_stages - 1:
            raise InvalidInput(f"stage must be a spiking stage in [0, "
                               f"{self.net.num_stages - 1}), got {stage}")
        return self._per_sample(s_out, self.windows[stage], np.int64, lambda x: x != 0)

    def _per_sample(self, stream: np.ndarray, window, dtype, transform) -> np.ndarray:
        stream = np.asarray(stream)
        lag = window.lag
        drain = self.net.num_stages - 1 if self.schedule.mode == Mode.PIPELINED else 0
        samples = stream.shape[-1] // self.period - drain
        if samples < 1:
            raise InvalidInput(f"the stream has {stream.shape[-1]} steps, fewer than one "
                               f"sample needs ({self.num_steps(1)})")
        totals = np.zeros((samples, *stream.shape[:-1]), dtype=dtype)
        starts = (np.arange(samples) + lag) * self.period + window.offset
        for t in range(window.length):
            totals += np.moveaxis(transform(stream[..., starts + t]), -1, 0)
        return totals


def _lava_stage_indices(net: Network, schedule: Schedule, precision: Precision,
                        lava_stages: bool | Sequence[int]) -> tuple[int, ...]:
    """The stages to build from Lava's processes (True: every one that can be)."""
    def why_not(index: int) -> str | None:
        stage = net.stages[index]
        if graded_input(schedule, index) is not None:
            return ("a graded buffer feeds it, and Lava's Dense/Conv do not scale the payloads' "
                    "current by T_out / T_in")
        if index == 0 and (isinstance(stage.ops[0], Conv2d) or len(net.input_shape) > 1):
            # a view (transpose, flatten) of the network's own s_in does not compile in Lava 0.10
            return "Lava 0.10 cannot reshape the network's input port on the way to its synapses"
        return lava_stage.refusal(stage, precision)

    if lava_stages is True:
        return tuple(index for index in range(net.num_stages) if why_not(index) is None)
    if lava_stages is False:
        return ()
    chosen = tuple(sorted({int(index) for index in lava_stages}))
    for index in chosen:
        if not 0 <= index < net.num_stages:
            raise InvalidNetwork(f"lava_stages: no stage {index} (the network has "
                                 f"{net.num_stages})")
        reason = why_not(index)
        if reason is not None:
            raise InvalidNetwork(f"stage {index} cannot be built from Lava's Dense/Conv and "
                                 f"LIF: {reason}")
    return chosen
