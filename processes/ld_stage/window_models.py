"""``window`` process models of the stage processes: a whole window per clock step.

For simulation speed, not Loihi-faithful timing: in one Lava step the stage receives its window's
input (``(T, *in_shape)``, or one row under direct input), applies its ops to each row, advances
its neurons T times with the one definition (``neuron.step``, as the step models do) and sends the
``(T, *out_shape)`` spike raster (a readout stage: its currents). Spikes, counts and readout sums
are those of the step models and the torch engine; only the number of Lava steps, and so Lava's
per-step, per-process overhead, changes. The state Vars hold the state after the window's last
timestep. Tags: ``window_floating_pt`` (float64), ``window_fixed_pt`` (int64).
"""

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from ldsnn_lava.processes.ld_stage.models import (
    Fixed,
    FixedCubaLIFVars,
    FixedIFVars,
    FixedPorts,
    FloatCubaLIFVars,
    FloatIFVars,
    FloatPorts,
    StageModel,
)
from ldsnn_lava.processes.ld_stage.process import LDCubaLIFStage, LDIFStage, LDReadoutStage
from ldsnn_lava.processes.tags import FIXED_WINDOW, FLOAT_WINDOW


class _WindowStageModel(StageModel):
    def configure(self) -> None:
        super().configure()
        self._raster = np.zeros((self._steps, *self.proc_params["out_shape"]), self.dtype)

    def step(self) -> None:
        step = self.time_step - 1
        if self._window.phase(step) is None:
            return
        inputs = self.a_in.recv()
        if len(inputs) == 1 and self._steps > 1:  # direct input: one current for every step
            currents = [self._ops(inputs[0])] * self._steps
        else:
            currents = [self._input_current(row, t) for t, row in enumerate(inputs)]
        if self._neuron is None:
            self.s_out.send(np.stack(currents))
            return
        state = self._neuron.initial_state(currents[0], fixed=self.fixed)
        for t, current in enumerate(currents):
            state, self._raster[t] = self._neuron.step(state, current, fixed=self.fixed)
        self._store_state(state)
        self.counts[...] = np.count_nonzero(self._raster, axis=0)
        self.s_out.send(self._raster)
        if self._record is not None:
            self._record.write(self._window.sample(step), self.counts)


@implements(proc=LDIFStage, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_WINDOW)
class PyLDIFStageWindowModelFloat(FloatIFVars, _WindowStageModel):
    """IF stage, float64, a window per step."""


@implements(proc=LDIFStage, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_WINDOW)
class PyLDIFStageWindowModelFixed(Fixed, FixedIFVars, _WindowStageModel):
    """IF stage, the integer definition, a window per step."""


@implements(proc=LDCubaLIFStage, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_WINDOW)
class PyLDCubaLIFStageWindowModelFloat(FloatCubaLIFVars, _WindowStageModel):
    """CubaLIF stage, float64, a window per step."""


@implements(proc=LDCubaLIFStage, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_WINDOW)
class PyLDCubaLIFStageWindowModelFixed(Fixed, FixedCubaLIFVars, _WindowStageModel):
    """CubaLIF stage, Lava's bit-accurate LIF rule, a window per step."""


@implements(proc=LDReadoutStage, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_WINDOW)
class PyLDReadoutStageWindowModelFloat(FloatPorts, _WindowStageModel):
    """Readout stage, float64 currents, a window per step."""


@implements(proc=LDReadoutStage, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_WINDOW)
class PyLDReadoutStageWindowModelFixed(Fixed, FixedPorts, _WindowStageModel):
    """Readout stage, int64 currents, a window per step."""
