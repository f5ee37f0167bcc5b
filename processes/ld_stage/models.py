"""Process models of :class:`LDStage`: ``floating_pt`` (float64) and ``fixed_pt`` (int64).

Both call the one neuron definition, ``neuron.step(state, current, fixed=...)`` from
:mod:`ldsnn_lava.neurons`, and the numpy op path of :mod:`ldsnn_lava.numpy_ops`. ``fixed_pt``
is the integer definition of the torch engine's ``precision="fixed"``: integer weights and
currents, int64 state (IF: exact integers; CubaLIF: Lava's bit-accurate LIF rule, 24-bit
wrapping current and saturating voltage, see :mod:`ldsnn_lava.neurons`).
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
from ldsnn_lava.processes.tags import FIXED_STEP, FLOAT_STEP

from ldsnn_lava.numpy_ops import numpy_chain


class _StageModel(PyLoihiProcessModel):
    fixed = False
    dtype = np.float64

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._ops = numpy_chain(proc_params["ops"], self.dtype)
        self._neuron = proc_params["neuron"]
        self._window = proc_params["window"]
        path = proc_params["counts_path"]
        self._record = None if path is None else RecordWriter(path, proc_params["num_samples"])
        self._state = None
        self._counts = np.zeros(proc_params["out_shape"], dtype=np.int32)

    def run_spk(self):
        step = self.time_step - 1
        phase = self._window.phase(step)
        if phase is None:
            return
        current = self._ops(self.a_in.recv())
        if self._neuron is None:
            self.s_out.send(current)
            return
        if phase == 0:
            self._state = self._neuron.initial_state(current, fixed=self.fixed)
            self._counts[...] = 0
        self._state, spikes = self._neuron.step(self._state, current, fixed=self.fixed)
        self._counts += spikes
        self.s_out.send(spikes.astype(self.dtype))
        if phase == self._window.length - 1 and self._record is not None:
            self._record.write(self._window.sample(step), self._counts)


@implements(proc=LDStage, protocol=LoihiProtocol)
@requires(CPU)
@tag(FLOAT_STEP)
class PyLDStageModelFloat(_StageModel):
    """float64 currents and state."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.float64)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.float64)


@implements(proc=LDStage, protocol=LoihiProtocol)
@requires(CPU)
@tag(FIXED_STEP)
class PyLDStageModelFixed(_StageModel):
    """int64 currents and state: the integer definition (``fixed=True``)."""

    fixed = True
    dtype = np.int64
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
