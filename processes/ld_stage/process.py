"""The stage processes: a stage's ops and neuron population, active in its window.

One Process class per neuron kind, because Lava gives a Process class one fixed set of Vars:
:class:`LDIFStage`, :class:`LDCubaLIFStage` and :class:`LDReadoutStage` (no neurons).
:func:`stage_process` picks the class for a stage's neuron.
"""

from __future__ import annotations

from collections.abc import Sequence

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.variable import Var
from ldsnn_lava.processes.base import LDProcess
from ldsnn_lava.processes.neuron_vars import NEURON_VARS
from ldsnn_lava.processes.records import Record

from ldsnn_lava.clock import Window
from ldsnn_lava.errors import InvalidNetwork
from ldsnn_lava.neurons import IF, CubaLIF, integer_parameter
from ldsnn_lava.numpy_ops import numpy_chain
from ldsnn_lava.ops import Conv2d, Dense, Op, Scale
from ldsnn_lava.options import Precision, parse_option

WEIGHTED_OPS = (Dense, Conv2d, Scale)
"""Op types whose parameters a stage process holds in its ``weights`` and ``bias`` Vars."""


def weighted_op_index(ops: Sequence[Op], where: str) -> int | None:
    """Index of the weighted op (Dense, Conv2d or Scale) in ``ops``, None if there is none, or
    InvalidNetwork if there are several."""
    found = [i for i, op in enumerate(ops) if isinstance(op, WEIGHTED_OPS)]
    if len(found) > 1:
        kinds = ", ".join(type(ops[i]).__name__ for i in found)
        raise InvalidNetwork(f"{where}: a Lava stage process holds one weighted op (Dense, "
                             f"Conv2d or Scale) in its 'weights' and 'bias' Vars; this stage "
                             f"has {len(found)} ({kinds}); split it into stages")
    return found[0] if found else None


class LDStage(LDProcess):
    """Base of the stage processes: ``ops`` then neurons, working only inside a window.

    In each step of its window the stage applies its ops to the input on ``a_in`` (no delay),
    advances its neurons with the one definition of :mod:`ldsnn_lava.neurons`, and sends the
    spikes on ``s_out`` (a readout stage sends its synaptic current). State is reset to the
    neuron's initial state at the first step of every window: a new sample (with ``chunks``,
    of every ``chunks``-th window: a sequence's chunks share it). Outside the window
    it does no work; with ``every_step`` it still receives and sends (zeros) every step, as
    Lava's own processes do, so Lava's sinks and ``Monitor`` can be connected to its ports.

    Vars (``Var.get()``, ``Var.set()``, ``Monitor``):

    - ``weights``, ``bias``: the stage's weighted op (one Dense, Conv2d or Scale; pools and
      Flatten are structure): Dense ``(out, in)`` and ``(out,)``, Conv2d ``(out_c, in_c, kh,
      kw)`` and ``(out_c,)``, Scale broadcast to its input shape; a missing bias is zeros; a
      stage of pools only gets an identity Scale after them (weights 1, bias 0, output shape);
    - ``window``: ``[offset, length, period, lag]`` (:class:`~ldsnn_lava.clock.Window`) and
      ``timesteps``: T_l; the neuron kind's parameters and state (subclasses; see
      :mod:`ldsnn_lava.processes.neuron_vars`); ``counts``: spikes of the current sample.

    In fixed precision every value is an integer of the fixed-point definition.

    Parameters
    ----------
    ops : sequence of Op
    neuron : IF, CubaLIF or None
        Must be of the subclass's kind.
    in_shape : tuple of int
        Shape of the stage's input (the ops' output shape follows from it).
    window : Window
    precision : {"float", "fixed"}
        The models the process will run with (``fixed``: integer parameters are required).
    counts_record : Record, optional
        Receives each sample's per-neuron spike counts at the end of its window (the fast path
        of :func:`ldsnn_lava.to_lava`; shape ``(num_samples, *out_shape)``).
    window_steps : int, optional
        For the ``window`` process models: the stage's timesteps T. One clock step then carries
        the whole window (``window`` is on the window clock): ``a_in`` receives
        ``(input_steps, *in_shape)`` and ``s_out`` sends ``(T, *out_shape)``. ``None``: one
        clock step is one timestep.
    input_steps : int, optional
        Rows of the input window (``window`` models only): default T; 1 for stage 0 under
        direct input, whose one current row holds for every step.
    every_step : bool
        Receive and send every step (step models only); default: only inside the window.
    chunks : int
        Windows per sample (step models only): for sequence input each window is one chunk of
        the sample, and state (neurons, delay line) is reset only at the first window of every
        ``chunks`` windows, carried from chunk to chunk otherwise.
    delays : array-like of int, optional
        Each neuron's delay in the stage's own steps (step models only, already scaled): the
        current it receives is the ops' output ``d`` active steps earlier, through a delay line
        reset with the state.
    graded : (int, int), optional
        ``(T_in, T_out)`` when a ``graded`` buffer feeds the stage: the input of its window's
        first step holds the payloads, and their current is scaled by ``T_out / T_in``
        (:func:`ldsnn_lava.buffers.graded_current`).
    name : str, optional
    """

    neuron_type: type | None = None
    """The neuron kind of the subclass (None: the readout)."""

    def __init__(self, *, ops: Sequence[Op], neuron, in_shape: Sequence[int], window: Window,
                 precision: Precision | str = Precision.FLOAT, counts_record: Record | None = None,
                 window_steps: int | None = None, input_steps: int | None = None,
                 every_step: bool = False, chunks: int = 1, delays: np.ndarray | None = None,
                 graded: tuple[int, int] | None = None, name: str | None = None):
        precision = parse_option(Precision, precision, "precision")
        name = name or type(self).__name__
        if type(neuron) is not self.neuron_type and not (neuron is None
                                                         and self.neuron_type is None):
            raise InvalidNetwork(f"{name}: {type(self).__name__} needs a "
                                 f"{getattr(self.neuron_type, '__name__', 'None')} neuron, got "
                                 f"{type(neuron).__name__}; use stage_process()")
        ops = tuple(ops)
        in_shape = tuple(int(d) for d in in_shape)
        weighted = weighted_op_index(ops, name)
        if weighted is None:  # pools only: an identity Scale after them holds the Vars
            ops, weighted = ops + (Scale(),), len(ops)
        op_in_shape, out_shape = _shapes(ops, weighted, in_shape)
        if precision == Precision.FIXED:
            check_fixed(ops, neuron, name)
        _check_model_options(name, neuron, window_steps, every_step, chunks, delays)
        if delays is not None:
            delays = np.broadcast_to(np.asarray(delays, dtype=np.int64), out_shape).reshape(-1)
        options = {} if neuron is None else NEURON_VARS[type(neuron)].options(neuron)
        super().__init__(ops=ops, in_shape=in_shape, out_shape=out_shape, weighted=weighted,
                         precision=precision, counts_record=counts_record, neuron_options=options,
                         window_steps=window_steps,
                         every_step=bool(every_step), chunks=int(chunks), delays=delays,
                         graded=None if graded is None else (int(graded[0]), int(graded[1])),
                         name=name)
        self.out_shape = out_shape
        port_in, port_out = in_shape, out_shape
        if window_steps is not None:
            rows = window_steps if input_steps is None else input_steps
            if rows not in (1, window_steps):
                raise InvalidNetwork(f"{name}: input_steps must be 1 or window_steps "
                                     f"({window_steps}), got {input_steps}")
            port_in, port_out = (rows, *in_shape), (window_steps, *out_shape)
        elif input_steps is not None:
            raise InvalidNetwork(f"{name}: input_steps needs window_steps")
        self.a_in = InPort(shape=port_in)
        self.s_out = OutPort(shape=port_out)

        weights, bias = _weighted_parameters(ops[weighted], op_in_shape)
        self.weights = Var(shape=weights.shape, init=weights)
        self.bias = Var(shape=bias.shape, init=bias)
        self.window = Var(shape=(4,), init=np.array([window.offset, window.length,
                                                     window.period, window.lag]))
        steps = window.length if window_steps is None else int(window_steps)
        self.timesteps = Var(shape=(1,), init=steps)
        if neuron is not None:
            layout = NEURON_VARS[type(neuron)]
            for var_name, value in layout.values(neuron, precision == Precision.FIXED).items():
                setattr(self, var_name, Var(shape=(1,), init=value))
            for var_name in layout.state:
                setattr(self, var_name, Var(shape=out_shape, init=0))
            self.counts = Var(shape=out_shape, init=0)


def _shapes(ops: tuple[Op, ...], weighted: int, in_shape: tuple[int, ...]
            ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The input shape of the weighted op and the stage's output shape."""
    op_in_shape, out_shape = in_shape, in_shape
    for index, op in enumerate(ops):
        if index == weighted:
            op_in_shape = out_shape
        out_shape = op.output_shape(out_shape)
    return op_in_shape, out_shape


def _check_model_options(name: str, neuron, window_steps: int | None, every_step: bool,
                         chunks: int, delays) -> None:
    """Refuse options that the chosen model kind (step or window) cannot run."""
    if window_steps is not None and every_step:
        raise InvalidNetwork(f"{name}: every_step is for the step models (no window_steps)")
    if window_steps is not None and (chunks != 1 or delays is not None):
        raise InvalidNetwork(f"{name}: chunks and delays are for the step models (no "
                             f"window_steps)")
    if getattr(neuron, "refractory", 0):
        raise InvalidNetwork(f"{name}: the Lava stage processes do not model a refractory "
                             f"period yet (CubaLIF refractory={neuron.refractory})")


class LDIFStage(LDStage):
    """A stage of :class:`~ldsnn_lava.neurons.IF` neurons. Vars besides :class:`LDStage`'s:
    ``vth``, ``v_init``, ``v_reset`` (shape ``(1,)``), ``v`` and ``counts`` (the output shape)."""

    neuron_type = IF


class LDCubaLIFStage(LDStage):
    """A stage of :class:`~ldsnn_lava.neurons.CubaLIF` neurons. Vars besides :class:`LDStage`'s:
    ``vth``, ``du``, ``dv``, ``neuron_bias``, ``v_reset``, ``v_init`` (shape ``(1,)``; fixed:
    ``du``, ``dv`` in 1/4096),
    ``u``, ``v`` and ``counts`` (the output shape; fixed: ``u``, ``v`` 6 bits finer than
    currents, as in Lava's bit-accurate ``LIF``)."""

    neuron_type = CubaLIF


class LDReadoutStage(LDStage):
    """The readout stage (no neurons): sends its synaptic current on ``s_out`` in its window."""

    neuron_type = None


STAGE_CLASSES: dict[type | None, type[LDStage]] = {
    IF: LDIFStage, CubaLIF: LDCubaLIFStage, None: LDReadoutStage}
"""The stage process class of each neuron type (None: the readout)."""


def stage_process(*, neuron, **kwargs) -> LDStage:
    """The stage process of ``neuron``'s kind, built with ``kwargs`` (see :class:`LDStage`)."""
    kind = None if neuron is None else type(neuron)
    if kind not in STAGE_CLASSES:
        raise InvalidNetwork(f"no Lava stage process for neuron {type(neuron).__name__}; "
                             f"known: IF, CubaLIF and None (the readout)")
    return STAGE_CLASSES[kind](neuron=neuron, **kwargs)


def _weighted_parameters(op: Op, in_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``(weights, bias)`` Var values of a weighted op; a missing bias is zeros."""
    if isinstance(op, Scale):
        return (np.broadcast_to(op.weight, in_shape).astype(np.float64),
                np.broadcast_to(op.bias, in_shape).astype(np.float64))
    bias = np.zeros(op.weight.shape[0]) if op.bias is None else op.bias
    return op.weight, bias


def check_fixed(ops: Sequence[Op], neuron, name: str) -> None:
    """InvalidNetwork unless the ops and neuron have the integer parameters fixed point needs."""
    try:
        numpy_chain(ops, np.int64)
        if isinstance(neuron, IF):
            integer_parameter("IF threshold", neuron.threshold)
            integer_parameter("IF v_init", neuron.initial_v)
            integer_parameter("IF v_reset", neuron.v_reset)
        elif isinstance(neuron, CubaLIF):
            neuron.fixed_parameters()
    except ValueError as err:
        raise InvalidNetwork(f"{name}: {err}") from None
