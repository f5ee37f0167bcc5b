"""``window`` process models of :class:`LDStage`: a whole window per clock step.

For simulation speed, not Loihi-faithful timing: in one Lava step the stage receives its
window's input (``(T, *in_shape)``, or one row under direct input), applies its ops to each
row with :mod:`ldsnn_lava.numpy_ops`, advances its neurons T times with the one definition
(``neuron.step``, as the step-faithful models do) and sends the ``(T, *out_shape)`` spike
raster (a readout stage: its currents). Spikes, counts and readout sums are those of the
step-faithful models and the torch engine; only the number of Lava steps, and so Lava's
per-step, per-process overhead, changes. Tags: ``window_floating_pt`` (float64),
``window_fixed_pt`` (int64, the integer definition).
"""

import ldsnn_lava  # noqa: F401  (Lava compatibility fixes before importing lava)

# isort: split
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from ldsnn_lava.processes.ld_stage.process import LDStage
from ldsnn_lava.processes.records import RecordWriter
from ldsnn_lava.processes.tags import FIXED_WINDOW, FLOAT_WINDOW

from ldsnn_lava.numpy_ops import numpy_chain


class _WindowStageModel(PyLoihiProcessModel):
    fixed = False
    dtype = np.float64

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._ops = numpy_chain(proc_params["ops"], self.dtype)
        self._neuron = proc_params["neuron"]
        self._window = proc_params["window"]
        self._steps = proc_params["window_steps"]
        path = proc_params["counts_path"]
        self._record = None if path is None else RecordWriter(path, proc_params["num_samples"])
        self._raster = np.zeros((self._steps, *proc_params["out_shape"]), dtype=self.dtype)

    def run_spk(self):
        step = self.time_step - 1
        if self._window.phase(step) is None:
            return
        inputs = self.a_in.recv()
        if len(inputs) == 1:  # direct input: one current for every step of the window
            currents = [self._ops(inputs[0])] * self._steps
        else:
            currents = [self._ops(row) for row in inputs]
        if self._neuron is None:
            self.s_out.send(np.stack(currents))
            return
        state = self._neuron.initial_state(currents[0], fixed=self.fixed)
        for t, current in enumerate(currents):
            state, self._raster[t] = self._neuron.step(state, current, fixed=self.fixed)
        self.s_out.send(self._raster)
        if self._record is not None:
            self._record.write(self._window.sample(step), np.count_nonzero(self._raster, axis=0))


@implements(proc=LDStage, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_WINDOW)
class PyLDStageWindowModelFloat(_WindowStageModel):
    """float64 currents and state, a window per step."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.float64)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.float64)


@implements(proc=LDStage, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_WINDOW)
class PyLDStageWindowModelFixed(_WindowStageModel):
    """int64 currents and state (the integer definition), a window per step."""

    fixed = True
    dtype = np.int64
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
