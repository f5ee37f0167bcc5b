"""The methodology: find per-stage timesteps of a given SNN within an accuracy budget.

- :mod:`~ldsnn_lava.optimize.optimizer`: :func:`optimize`, the entry point;
- :mod:`~ldsnn_lava.optimize.objective`: accuracy budget or cost target;
- :mod:`~ldsnn_lava.optimize.moves`: the neighbourhood of a schedule;
- :mod:`~ldsnn_lava.optimize.search`: descent, repair and restarts under a work budget;
- :mod:`~ldsnn_lava.optimize.cache`: evaluations that re-run only the stages a move changes;
- :mod:`~ldsnn_lava.optimize.uniform`: every uniform T in one run (the baselines);
- :mod:`~ldsnn_lava.optimize.executor`, :mod:`~ldsnn_lava.optimize.ray_executor`: where the
  evaluations run (in process, the split's shards on threads, or on Ray workers), with
  :mod:`~ldsnn_lava.optimize.shards` and :mod:`~ldsnn_lava.optimize.split`;
- :mod:`~ldsnn_lava.optimize.costs`: the costs minimized;
- :mod:`~ldsnn_lava.optimize.result`: :class:`OptimizeResult` and its JSON.
"""

from ldsnn_lava.optimize.costs import COST_NAMES, Cost, LatencyProfile, LoihiEnergy, get_cost
from ldsnn_lava.optimize.executor import Executor, InProcessExecutor, ThreadExecutor
from ldsnn_lava.optimize.optimizer import DEFAULT_WORK_BUDGET, optimize
from ldsnn_lava.optimize.ray_executor import RayExecutor, make_executor
from ldsnn_lava.optimize.result import OptimizeResult, Point, pareto_front
from ldsnn_lava.optimize.uniform import uniform_sweep

__all__ = ["COST_NAMES", "DEFAULT_WORK_BUDGET", "Cost", "Executor", "InProcessExecutor",
           "LatencyProfile", "LoihiEnergy", "OptimizeResult", "Point", "RayExecutor",
           "ThreadExecutor", "get_cost", "make_executor", "optimize", "pareto_front",
           "uniform_sweep"]
