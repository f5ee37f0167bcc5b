"""Build an LD-SNN out of Brian2 objects and stream samples through it.

One Brian2 clock ticks once per timestep. Stage l works in its window of every period, the
windows of :mod:`ldsnn_lava.clock` (sequential: period ``sum(T_l)``, one sample per period;
pipelined: period ``max(T_l)``, stage l working ``l`` periods behind the input). The samples
stream through one network one period after another, so memory does not grow with their number
except for the inputs (one ``TimedArray`` row per sample) and the recorded results.

What runs within every step, in this order:

``start`` slot: the sources, whose spikes reach stages later in the same step.
    1. One ``StateMonitor`` per stage on a clock of one period: the spike counts (readout sums)
       each stage reached by the end of the previous period.
    2. The input group and its synapses into stage 0. ``direct``: it fires once, at the first
       step of stage 0's window, and the synapses add ``w * x`` into a current that stage 0
       holds for its window. ``rate``: the rate rule's integer accumulator.
    3. Per ``rate`` buffer, a group of integer accumulators: at the first step of stage l+1's
       window it latches stage l's spike counts and then emits by the rate rule, through its
       synapses into stage l+1.

``groups`` slot, stage after stage:
    4. Per stage: its code block (window position, neuron step, spike condition gated by the
       window, reset, spike count, next step's current), its threshold (the spikes), and, after
       a ``replay`` buffer, its synapses into the next stage, delayed by the distance between
       the two windows (``T_l`` steps sequential, one period pipelined).

A spike thus reaches its targets in the step it was emitted in, as the delay-free semantics
require. Synapses add their weights into the target's current ``I``; a stage resets ``I`` to its
bias after using it.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass

import numpy as np
import torch

from ldsnn_lava.brian2_backend.neurons import NeuronCode, neuron_code
from ldsnn_lava.buffers import quantize_rate_input
from ldsnn_lava.clock import Window, stage_windows, total_steps
from ldsnn_lava.engine.driver import as_input
from ldsnn_lava.engine.result import EvalResult, count_work, synaptic_updates_from_counts
from ldsnn_lava.errors import BackendUnavailable, InvalidInput, InvalidNetwork, InvalidSchedule
from ldsnn_lava.network import Network
from ldsnn_lava.numpy_ops import numpy_chain
from ldsnn_lava.ops import Scale
from ldsnn_lava.options import BufferKind, InputEncoding, Mode, Precision, parse_option
from ldsnn_lava.schedule import Schedule
from ldsnn_lava.sparse_ops import AffineMap, sparse_chain

_SIGINT_HANDLER = signal.getsignal(signal.SIGINT)
try:
    import brian2
except ImportError as err:
    raise BackendUnavailable(
        "the Brian2 backend needs brian2 2.9.0: pip install 'ldsnn-lava[brian2]' "
        f"(or pip install brian2==2.9.0); importing brian2 failed: {err}") from None
# Importing brian2 installs a SIGINT handler that turns Ctrl-C during a run into a quiet early
# stop (a run cut short would pass for a whole one) and otherwise calls the handler it replaced,
# which fails where that was "ignore" (a background job): keep the process's own handler.
if _SIGINT_HANDLER is not None and threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGINT, _SIGINT_HANDLER)

WINDOW_CODE = """phase = t_in_timesteps % period - offset
active = phase >= 0 and phase < length
first = int(phase == 0)
last = int(phase == length - 1)"""
"""Brian2 code: where this step lies in the group's window (``period``, ``offset``,
``length``)."""

EMIT_CODE = """acc = acc * (1 - first) + (t_in // 2) * first
acc = acc + c
fired = active and acc >= t_in
acc = acc - t_in * int(fired)"""
"""Brian2 code: one emit step of the rate rule, counts ``c`` over an upstream window ``t_in``."""

_DTYPES = {"float": np.float64, "int32": np.int32, "int64": np.int64, "bool": bool}
_UNITS = {"float": "1", "int32": "integer", "int64": "integer", "bool": "boolean"}
_WINDOW_CONSTANTS = {"period": "int64", "offset": "int64", "length": "int64"}


def _model_equations(variables: dict[str, str], constants: dict[str, str],
                     linked: tuple[str, ...] = ()) -> tuple[str, dict]:
    """Brian2 model equations and dtypes for per-neuron ``variables`` and shared
    ``constants`` (each of kind ``float``, ``int32``, ``int64`` or ``bool``), plus integer
    variables ``linked`` to another group."""
    lines = [f"{name} : {_UNITS[kind]}" for name, kind in variables.items()]
    lines += [f"{name} : {_UNITS[kind]} (shared, constant)" for name, kind in constants.items()]
    lines += [f"{name} : integer (linked)" for name in linked]
    dtypes = {name: _DTYPES[kind] for name, kind in (variables | constants).items()}
    return "\n".join(lines), dtypes


@dataclass
class Brian2Graph:
    """The Brian2 objects of one LD-SNN for ``num_samples`` samples, ready to run.

    Attributes
    ----------
    network : brian2.Network
    num_samples : int
    num_steps : int
        Clock steps that stream all samples through, plus one that records the last period.
    monitors : list of brian2.StateMonitor
        Per stage: spike counts (``count``) or the readout's sums (``s``), once per period.
    lags : list of int
        Per stage: how many periods it works behind the input (pipelined).
    shapes : list of tuple of int
        Per stage: its output shape.
    """

    network: brian2.Network
    num_samples: int
    num_steps: int
    monitors: list
    lags: list[int]
    shapes: list[tuple[int, ...]]

    def run(self) -> float:
        """Run every step; returns the seconds ``Network.run`` took."""
        start = time.perf_counter()
        self.network.run(self.num_steps * brian2.ms, namespace={})
        return time.perf_counter() - start

    def _per_sample(self, stage: int) -> np.ndarray:
        monitor = self.monitors[stage]
        (name,) = monitor.record_variables
        # row r is the state at the start of period r: what period r - 1 ended with
        first = 1 + self.lags[stage]
        rows = np.array(monitor.variables[name].get_value()[first:first + self.num_samples])
        return rows.reshape(self.num_samples, *self.shapes[stage])

    def spike_counts(self) -> list[np.ndarray]:
        """One (N, *stage_output_shape) int32 array of spike counts per spiking stage."""
        return [self._per_sample(stage) for stage in range(len(self.monitors) - 1)]

    def readout_sums(self) -> np.ndarray:
        """(N, classes) float64 readout sums."""
        return self._per_sample(len(self.monitors) - 1).astype(np.float64)


class _Builder:
    """Creates the Brian2 objects of one graph and schedules them (see the module docstring).

    Every object generates numpy code (Brian2's ``numpy`` target) whatever Brian2's preferences
    say: it needs no compiler, and its float arithmetic is IEEE statement by statement (the
    Cython target compiles with ``-ffast-math``, which may reorder sums).
    """

    codeobj_class = brian2.NumpyCodeObject

    def __init__(self, inputs, period: int):
        self.clock = brian2.Clock(dt=1 * brian2.ms, name="ldsnn_clock")
        self.period_clock = brian2.Clock(dt=period * brian2.ms, name="ldsnn_period_clock")
        self.inputs = inputs
        self.objects: list = []
        self._orders = {"start": 0, "groups": 0}
        self._code = {}

    def _schedule(self, obj, when: str) -> None:
        obj.when, obj.order = when, self._orders[when]
        self._orders[when] += 1

    def group(self, name: str, size: int, window: Window, code: str, variables: dict,
              constants: dict | None = None, linked: dict | None = None, spikes: bool = True):
        """A NeuronGroup that runs ``WINDOW_CODE`` then ``code`` on every step and spikes
        where ``fired``; placed in a slot by :meth:`schedule_group`."""
        linked = linked or {}
        equations, dtypes = _model_equations(variables | {"fired": "bool"},
                                             (constants or {}) | _WINDOW_CONSTANTS, tuple(linked))
        group = brian2.NeuronGroup(size, equations, threshold="fired" if spikes else None,
                                   reset="" if spikes else None, clock=self.clock, name=name,
                                   dtype=dtypes, codeobj_class=self.codeobj_class,
                                   namespace={"ldsnn_inputs": self.inputs})
        group.period, group.offset, group.length = window.period, window.offset, window.length
        # the code block does all the work: no equations to integrate, resets done in the block
        group.state_updater.active = False
        if spikes:
            group.resetter["spike"].active = False
        for variable, (other, other_variable) in linked.items():
            setattr(group, variable, brian2.linked_var(other, other_variable))
        self._code[name] = group.run_regularly(WINDOW_CODE + "\n" + code,
                                               codeobj_class=self.codeobj_class)
        self.objects.append(group)
        return group

    def schedule_group(self, group, when: str) -> None:
        self._schedule(self._code[group.name], when)
        if "spike" in group.thresholder:
            self._schedule(group.thresholder["spike"], when)

    def synapses(self, source, target, name: str, amap: AffineMap, on_pre: str, delay: int,
                 weight: str, when: str) -> None:
        """Synapses ``source -> target`` with the weights of ``amap``, run in slot ``when``."""
        synapses = brian2.Synapses(
            source, target, f"w : {_UNITS[weight]} (constant)", on_pre=on_pre,
            delay=delay * brian2.ms, clock=self.clock, name=name, dtype={"w": _DTYPES[weight]},
            codeobj_class=self.codeobj_class)
        synapses.connect(i=amap.matrix.col, j=amap.matrix.row)
        synapses.w = amap.matrix.data
        self._schedule(synapses.pre, when)
        self.objects.append(synapses)

    def monitor(self, group, variable: str, index: int):
        """Records ``variable`` of every neuron at the start of every period."""
        monitor = brian2.StateMonitor(group, variable, record=True, clock=self.period_clock,
                                      when="start", order=-1, name=f"ldsnn_record{index}",
                                      codeobj_class=self.codeobj_class)
        self.objects.append(monitor)
        return monitor


class Brian2LDSNN:
    """An LD-SNN ready to run in Brian2; made by :func:`to_brian2`.

    Attributes
    ----------
    net : Network
    schedule : Schedule
    precision : Precision
    maps : list of AffineMap
        Each stage's synapses (stage 0 without a leading ``Scale`` that the input group
        computes, see :attr:`input_scale`).
    neurons : list of NeuronCode or None
        Each stage's neuron code (``None`` for the readout).
    input_scale : Scale or None
        Under direct input, stage 0's leading ``Scale``: the input group computes it (a
        truncating Scale is not affine, so no synapses could carry it).
    """

    def __init__(self, net: Network, schedule: Schedule,
                 precision: Precision | str = Precision.FLOAT):
        self.precision = parse_option(Precision, precision, "precision")
        schedule.check(net)
        if BufferKind.GRADED in schedule.buffers:
            raise InvalidSchedule(f"buffer {schedule.buffers.index(BufferKind.GRADED)} is "
                                  f"'graded': the Brian2 backend runs 'rate' and 'replay' "
                                  f"buffers only")
        self.net, self.schedule = net, schedule
        self.fixed = self.precision == Precision.FIXED
        if net.input_encoding not in self.INPUT_GROUPS:
            known = ", ".join(self.INPUT_GROUPS)
            raise InvalidNetwork(f"input encoding '{net.input_encoding}' has no Brian2 input "
                                 f"group (Brian2 runs {known})")
        first = net.stages[0].ops[0]
        self.input_scale = None
        if net.input_encoding == InputEncoding.DIRECT and isinstance(first, Scale):
            self.input_scale = first
        self.maps: list[AffineMap] = []
        self.neurons: list[NeuronCode | None] = []
        for index, stage in enumerate(net.stages):
            ops = stage.ops[1:] if index == 0 and self.input_scale is not None else stage.ops
            try:
                if stage.delay is not None and stage.delay.any():
                    raise InvalidNetwork("per-neuron input delays do not run in Brian2 here; "
                                         "use the engine (evaluate) or Lava (to_lava)")
                if self.fixed:
                    numpy_chain(stage.ops, np.int64)  # integer parameters, no AvgPool2d
                self.maps.append(sparse_chain(ops, net.input_shape_of(index)))
                self.neurons.append(None if stage.is_readout
                                    else neuron_code(stage.neuron, self.fixed))
            except ValueError as err:  # InvalidNetwork, or a non-integer fixed-point parameter
                name = f" ({stage.name})" if stage.name else ""
                raise InvalidNetwork(f"stage {index}{name}: {err}") from None

    # --- building ----------------------------------------------------------------------------

    def _encode(self, x) -> np.ndarray:
        """The samples as a float64 (N, inputs) array, checked as every backend checks them."""
        x = as_input(x, self.net)
        if len(x) == 0:
            raise InvalidInput("input holds no samples")
        data = x.to("cpu", torch.float64).numpy().reshape(len(x), -1)
        scale = self.input_scale
        if (self.fixed and self.net.input_encoding == InputEncoding.DIRECT
                and not (scale is not None and scale.truncate)):
            current = data
            if scale is not None:
                shape = self.net.input_shape
                current = (data * np.broadcast_to(scale.weight, shape).ravel()
                           + np.broadcast_to(scale.bias, shape).ravel())
            if not np.array_equal(current, np.round(current)):
                raise InvalidInput("fixed precision with direct input needs integer-valued "
                                   "inputs; quantize them (QuantizedNetwork.encode_input)")
        return data

    def build(self, x) -> Brian2Graph:
        """Make the Brian2 objects that stream the samples ``x`` (shape ``(N, *input_shape)``)
        through this LD-SNN."""
        data = self._encode(x)
        n, net, schedule = len(data), self.net, self.schedule
        windows = stage_windows(schedule)
        period = schedule.period
        # row k feeds period k: sample k (a pipeline's drain periods repeat the last row)
        inputs = brian2.TimedArray(data, dt=period * brian2.ms, name="ldsnn_inputs")
        build = _Builder(inputs, period)
        value = "int64" if self.fixed else "float"
        source, on_pre = self.INPUT_GROUPS[net.input_encoding](self, build, value, windows[0])
        build.schedule_group(source, "start")
        monitors = []
        for index, stage in enumerate(net.stages):
            group = self._stage_group(build, index, value, windows[index])
            replay = index > 0 and schedule.buffers[index - 1] == BufferKind.REPLAY
            delay = 0
            if replay:  # the distance between the two windows
                delay = (period if schedule.mode == Mode.PIPELINED
                         else schedule.timesteps[index - 1])
            build.synapses(source, group, f"ldsnn_synapses{index}", self.maps[index], on_pre,
                           delay, value, "groups" if replay else "start")
            build.schedule_group(group, "groups")
            monitors.append(build.monitor(group, "s" if stage.is_readout else "count", index))
            if stage.is_readout:
                break
            if schedule.buffers[index] == BufferKind.REPLAY:
                source = group
            else:
                source = self._rate_buffer(build, index, group, windows[index + 1])
                build.schedule_group(source, "start")
            on_pre = "I_post += w"
        return Brian2Graph(
            network=brian2.Network(*build.objects),
            num_samples=n,
            num_steps=total_steps(schedule, n) + 1,
            monitors=monitors,
            lags=[window.lag for window in windows],
            shapes=[net.output_shape_of(index) for index in range(net.num_stages)],
        )

    def _rate_input(self, build: _Builder, value: str, window: Window):
        """``rate`` input: x in [0, 1] as the count ``floor(x * T_0 + 0.5)``, emitted by the
        rate rule over stage 0's window. Returns the group and its synapses' ``on_pre``."""
        group = build.group(
            "ldsnn_input", int(np.prod(self.net.input_shape)), window,
            "count = floor(clip(ldsnn_inputs(t, i), 0, 1) * t_in + 0.5)\n"
            "c = c * (1 - first) + int(count) * first\n" + EMIT_CODE,
            {"acc": "int32", "c": "int32"}, {"t_in": "int32"})
        group.t_in = self.schedule.timesteps[0]
        return group, "I_post += w"

    def _direct_input(self, build: _Builder, value: str, window: Window):
        """``direct`` input: fires once per sample, at the first step of stage 0's window, and
        its synapses add ``w * x`` into stage 0's held current (after stage 0's leading
        ``Scale``, computed here). Returns the group and its synapses' ``on_pre``."""
        net, scale, variables = self.net, self.input_scale, {"x": value}
        code = ["sample = ldsnn_inputs(t, i)"]
        if scale is not None:
            code += ["sample = sample * scale_weight", "sample = sample + scale_bias"]
            variables |= {"scale_weight": "float", "scale_bias": "float"}
        # int() truncates toward zero: the Scale's truncation, exact on integer inputs
        integral = self.fixed or (scale is not None and scale.truncate)
        code += ["x = int(sample)" if integral else "x = sample",
                 "fired = first == 1 and x != 0"]
        group = build.group("ldsnn_input", int(np.prod(net.input_shape)), window,
                            "\n".join(code), variables)
        if scale is not None:
            group.scale_weight = np.broadcast_to(scale.weight, net.input_shape).ravel()
            group.scale_bias = np.broadcast_to(scale.bias, net.input_shape).ravel()
        return group, "I_post += w * x_pre"

    INPUT_GROUPS = {InputEncoding.DIRECT: _direct_input, InputEncoding.RATE: _rate_input}
    """The input group's builder per input encoding: a new encoding plugs in here."""

    def _stage_group(self, build: _Builder, index: int, value: str, window: Window):
        """Stage ``index``: its neurons (or the readout's sums) and its current ``I``."""
        amap, neuron = self.maps[index], self.neurons[index]
        # under direct input, stage 0's current is set once per window and held
        held = index == 0 and self.net.input_encoding == InputEncoding.DIRECT
        next_current = "I = I * (1 - last) + op_bias * last" if held else "I = op_bias"
        variables = {"I": value, "op_bias": value}
        name = f"ldsnn_stage{index}"
        if neuron is None:
            group = build.group(name, amap.num_outputs, window,
                                f"s = s * (1 - first)\ns = s + I * int(active)\n{next_current}",
                                variables | {"s": value}, spikes=False)
        else:
            code = "\n".join([neuron.start, "count = count * (1 - first)", neuron.step,
                              f"fired = active and {neuron.fire}", neuron.reset,
                              "count = count + int(fired)", next_current])
            variables |= dict.fromkeys(neuron.state, value) | {"count": "int32"}
            group = build.group(name, amap.num_outputs, window, code, variables,
                                dict.fromkeys(neuron.parameters, value))
            for parameter, number in neuron.parameters.items():
                setattr(group, parameter, number)
        group.op_bias = amap.bias
        group.I = amap.bias
        return group

    def _rate_buffer(self, build: _Builder, index: int, upstream, window: Window):
        """The rate buffer after stage ``index``: latches its counts, emits in ``window``."""
        group = build.group(f"ldsnn_buffer{index}", upstream.N, window,
                            "c = c * (1 - first) + upstream_count * first\n" + EMIT_CODE,
                            {"acc": "int32", "c": "int32"}, {"t_in": "int32"},
                            linked={"upstream_count": (upstream, "count")})
        group.t_in = self.schedule.timesteps[index]
        return group

    # --- running -----------------------------------------------------------------------------

    def run(self, x) -> EvalResult:
        """Stream the samples ``x`` through Brian2; returns what :func:`ldsnn_lava.evaluate`
        returns (readout sums, predictions, per-stage spike counts, counters, seconds)."""
        start = time.perf_counter()
        graph = self.build(x)
        graph.run()
        counts, readout = graph.spike_counts(), graph.readout_sums()
        input_counts = None
        if self.net.input_encoding == InputEncoding.RATE:
            input_counts = quantize_rate_input(as_input(x, self.net),
                                               self.schedule.timesteps[0]).numpy()
        synaptic = synaptic_updates_from_counts(self.net, self.schedule, counts,
                                                graph.num_samples, input_counts)
        return EvalResult(
            readout=readout,
            predictions=np.argmax(readout, axis=1),
            spike_counts=counts,
            counters=count_work(self.net, self.schedule, synaptic),
            schedule=self.schedule,
            seconds=time.perf_counter() - start,
        )


def to_brian2(net: Network, schedule: Schedule,
              precision: Precision | str = Precision.FLOAT) -> Brian2LDSNN:
    """Prepare ``net`` under ``schedule`` for Brian2.

    Parameters
    ----------
    net : Network
    schedule : Schedule
        ``schedule.mode`` picks sequential or pipelined streaming (same results).
    precision : {"float", "fixed"}
        ``float``: float64 state and currents. ``fixed``: the integer definition of
        ``evaluate(..., precision="fixed")`` in int64; needs integer parameters (see
        :func:`ldsnn_lava.quantize.quantize`).

    Raises
    ------
    InvalidOption
        On an unknown precision.
    InvalidSchedule
        When the schedule does not fit the network.
    InvalidNetwork
        Naming the stage: an op or neuron model Brian2 cannot run here (a truncating ``Scale``
        other than stage 0's first op under direct input), or (fixed) non-integer parameters
        or an ``AvgPool2d``.

    Examples
    --------
    >>> result = to_brian2(net, Schedule([8, 4], "rate")).run(x)  # doctest: +SKIP
    >>> result.predictions, result.spike_counts[0].shape  # doctest: +SKIP
    """
    return Brian2LDSNN(net, schedule, precision)
