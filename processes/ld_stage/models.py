"""Step-faithful process models of the stage processes: ``floating_pt`` and ``fixed_pt``.

One Lava step is one timestep. Both precisions call the one neuron definition,
``neuron.step(state, current, fixed=...)`` of :mod:`ldsnn_lava.neurons`, on the numpy op path of
:mod:`ldsnn_lava.numpy_ops`, with the op, neuron and window rebuilt from the process's Vars.
``fixed_pt`` is the integer definition of the engine's ``precision="fixed"``: integer weights and
currents, int64 state (IF: exact integers; CubaLIF: Lava's bit-accurate LIF rule).

:class:`StageModel` is shared with the ``window`` models (``window_models.py``); the mixins
declare each stage kind's Vars with their dtypes (Lava wants a ``LavaPyType`` for exactly the
Vars and ports of the process).
"""

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
import dataclasses

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from ldsnn_lava.processes.base import LDProcessModel
from ldsnn_lava.processes.ld_stage.process import LDCubaLIFStage, LDIFStage, LDReadoutStage
from ldsnn_lava.processes.neuron_vars import NEURON_VARS
from ldsnn_lava.processes.tags import FIXED_STEP, FLOAT_STEP

from ldsnn_lava.buffers import graded_current
from ldsnn_lava.numpy_ops import numpy_chain

FLOAT = LavaPyType(np.ndarray, np.float64)
INTEGER = LavaPyType(np.ndarray, np.int64)
COUNTS = LavaPyType(np.ndarray, np.int32)


class StageModel(LDProcessModel):
    """What the step and window models of every stage kind share: the Vars read into an op
    chain, a neuron and a window (:meth:`configure`), and the state Vars written back."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        neuron_type = self.implements_process.neuron_type
        self._layout = None if neuron_type is None else NEURON_VARS[neuron_type]
        self._record = proc_params["counts_record"]
        self._every_step = proc_params["every_step"]
        self._zeros = np.zeros(proc_params["out_shape"], dtype=self.dtype)
        self._chunks = proc_params.get("chunks", 1)
        self._delays = proc_params.get("delays")
        self._graded = proc_params.get("graded")
        self._line = None  # the delay line: the last max(delays) currents, flattened

    def _delayed(self, current: np.ndarray, first: bool) -> np.ndarray:
        """``current`` as the neurons receive it through their delays (zeros before the
        sample's first step)."""
        if self._delays is None:
            return current
        depth = int(self._delays.max())
        if first or self._line is None:
            self._line = np.zeros((depth, current.size), dtype=current.dtype)
        full = np.concatenate([self._line, current.reshape(1, -1)])
        self._line = full[1:]
        picked = full[depth - self._delays, np.arange(current.size)]
        return picked.reshape(current.shape)

    def configure(self) -> None:
        ops = list(self.proc_params["ops"])
        index = self.proc_params["weighted"]
        ops[index] = dataclasses.replace(ops[index], weight=self.weights, bias=self.bias)
        self._ops = numpy_chain(ops, self.dtype)
        if self._graded is not None:  # the zero-input current: the rest of a graded window
            self._zero_current = self._ops(np.zeros(self.proc_params["in_shape"], self.dtype))
        self._window = self.window_of(self.window)
        self._steps = int(self.timesteps[0])
        self._neuron = None
        if self._layout is not None:
            values = {name: getattr(self, name)[0].item() for name in self._layout.parameters}
            self._neuron = self._layout.neuron(values, self.fixed,
                                               self.proc_params["neuron_options"])

    def _input_current(self, inputs: np.ndarray, phase: int) -> np.ndarray:
        """The ops' current for the input of window step ``phase``; behind a graded buffer the
        first step's payloads are scaled (:func:`ldsnn_lava.buffers.graded_current`)."""
        current = self._ops(inputs)
        if self._graded is None or phase != 0:
            return current
        t_in, t_out = self._graded
        return graded_current(current, self._zero_current, t_in, t_out, self.fixed).astype(
            self.dtype)

    def _load_state(self) -> tuple:
        return tuple(getattr(self, name) for name in self._layout.state)

    def _store_state(self, state: tuple) -> None:
        for name, value in zip(self._layout.state, state, strict=True):
            getattr(self, name)[...] = value


class _StepStageModel(StageModel):
    def step(self) -> None:
        step = self.time_step - 1
        phase = self._window.phase(step)
        if phase is None:
            if self._every_step:
                self.a_in.recv()
                self.s_out.send(self._zeros)
            return
        first = phase == 0 and self._window.sample(step) % self._chunks == 0
        current = self._delayed(self._input_current(self.a_in.recv(), phase), first)
        if self._neuron is None:
            self.s_out.send(current)
            return
        if first:
            state = self._neuron.initial_state(current, fixed=self.fixed)
        else:
            state = self._load_state()
        if phase == 0:
            self.counts[...] = 0
        state, spikes = self._neuron.step(state, current, fixed=self.fixed)
        self._store_state(state)
        self.counts += spikes
        self.s_out.send(spikes.astype(self.dtype))
        if phase == self._window.length - 1 and self._record is not None:
            self._record.write(self._window.sample(step), self.counts)


# --- Var and port types of each stage kind and precision --------------------------------------

class FloatPorts:
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.float64)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.float64)
    weights: np.ndarray = FLOAT
    bias: np.ndarray = FLOAT
    window: np.ndarray = INTEGER
    timesteps: np.ndarray = INTEGER


class FixedPorts:
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
    weights: np.ndarray = INTEGER
    bias: np.ndarray = INTEGER
    window: np.ndarray = INTEGER
    timesteps: np.ndarray = INTEGER


class FloatIFVars(FloatPorts):
    vth: np.ndarray = FLOAT
    v_init: np.ndarray = FLOAT
    v_reset: np.ndarray = FLOAT
    v: np.ndarray = FLOAT
    counts: np.ndarray = COUNTS


class FixedIFVars(FixedPorts):
    vth: np.ndarray = INTEGER
    v_init: np.ndarray = INTEGER
    v_reset: np.ndarray = INTEGER
    v: np.ndarray = INTEGER
    counts: np.ndarray = COUNTS


class FloatCubaLIFVars(FloatPorts):
    vth: np.ndarray = FLOAT
    du: np.ndarray = FLOAT
    dv: np.ndarray = FLOAT
    neuron_bias: np.ndarray = FLOAT
    v_reset: np.ndarray = FLOAT
    v_init: np.ndarray = FLOAT
    u: np.ndarray = FLOAT
    v: np.ndarray = FLOAT
    counts: np.ndarray = COUNTS


class FixedCubaLIFVars(FixedPorts):
    vth: np.ndarray = INTEGER
    du: np.ndarray = INTEGER
    dv: np.ndarray = INTEGER
    neuron_bias: np.ndarray = INTEGER
    v_reset: np.ndarray = INTEGER
    v_init: np.ndarray = INTEGER
    u: np.ndarray = INTEGER
    v: np.ndarray = INTEGER
    counts: np.ndarray = COUNTS


class Fixed:
    """Mixin of the fixed-point models: int64 arithmetic, the integer definition."""

    fixed = True
    dtype = np.int64


# --- the models --------------------------------------------------------------------------------

@implements(proc=LDIFStage, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_STEP)
class PyLDIFStageModelFloat(FloatIFVars, _StepStageModel):
    """IF stage, float64."""


@implements(proc=LDIFStage, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_STEP)
class PyLDIFStageModelFixed(Fixed, FixedIFVars, _StepStageModel):
    """IF stage, the integer definition."""


@implements(proc=LDCubaLIFStage, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_STEP)
class PyLDCubaLIFStageModelFloat(FloatCubaLIFVars, _StepStageModel):
    """CubaLIF stage, float64."""


@implements(proc=LDCubaLIFStage, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_STEP)
class PyLDCubaLIFStageModelFixed(Fixed, FixedCubaLIFVars, _StepStageModel):
    """CubaLIF stage, Lava's bit-accurate LIF rule."""


@implements(proc=LDReadoutStage, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_STEP)
class PyLDReadoutStageModelFloat(FloatPorts, _StepStageModel):
    """Readout stage, float64 currents."""


@implements(proc=LDReadoutStage, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_STEP)
class PyLDReadoutStageModelFixed(Fixed, FixedPorts, _StepStageModel):
    """Readout stage, int64 currents."""
