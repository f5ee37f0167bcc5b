"""What every process and process model of ours shares.

- :class:`LDProcess`: a constructor that refuses its arguments before Lava's
  ``AbstractProcess.__init__`` ran leaves an object Lava's ``__del__`` can still stop.

- An exception raised while a model steps gets a note ``at time step t`` (Lava's ``time_step``,
  counted from 1), so :class:`~ldsnn_lava.processes.runtime.GuardedRuntime` can name the step
  along with the process.
- Parameters live in Lava ``Var``s. A model derives what it computes with from them
  (:meth:`LDProcessModel.configure`) before its first step and again after a ``Var.set()``.
- A model checks that it runs in the precision its process was built for: the Var values of a
  ``fixed`` process are integers in fixed-point units, which a float model must not read.
"""

from __future__ import annotations

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
import numpy as np
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.process.process import AbstractProcess

from ldsnn_lava.clock import Window
from ldsnn_lava.errors import InvalidOption
from ldsnn_lava.options import Precision


class LDProcess(AbstractProcess):
    """Base of our Process classes."""

    _runtime = None
    """Lava's ``__del__`` stops ``_runtime``, which ``AbstractProcess.__init__`` sets: this
    default serves objects whose constructor raised before (bad arguments)."""


class LDProcessModel(PyLoihiProcessModel):
    """Base of our ``PyLoihiProcessModel``s: subclasses implement :meth:`configure` and
    :meth:`step` (the spiking phase), and set :attr:`fixed` and :attr:`dtype`."""

    fixed = False
    """Whether the model runs the fixed-point (integer) definition."""
    dtype = np.float64
    """Arithmetic and message dtype: float64, or int64 for fixed point."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._configured = False

    def run_spk(self):
        try:
            if not self._configured:
                self._check_precision()
                self.configure()
                self._configured = True
            self.step()
        except Exception as err:
            err.add_note(f"at time step {self.time_step}")
            raise

    def on_var_update(self):
        self._configured = False

    def configure(self) -> None:
        """Derive the model's working objects from its Vars (before the first step and after
        every ``Var.set()``)."""

    def step(self) -> None:
        """The spiking phase of one Lava step."""
        raise NotImplementedError

    def _check_precision(self) -> None:
        built = self.proc_params["precision"]
        runs = Precision.FIXED if self.fixed else Precision.FLOAT
        if built != runs:
            raise InvalidOption(f"process {self.proc_params['name']!r} was built for {built} "
                                f"precision but runs with a {runs} process model; select the "
                                f"tag of {built} precision")

    @staticmethod
    def window_of(values: np.ndarray) -> Window:
        """The :class:`~ldsnn_lava.clock.Window` of a ``window`` Var ``[offset, length, period,
        lag]``."""
        offset, length, period, lag = (int(v) for v in values)
        return Window(offset, length, period, lag)
