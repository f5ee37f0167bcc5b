"""The process model of :class:`LDNetwork`: a ``SubProcessModel``.

The network builds its stages and buffers when it is made (as lava-dl's netx ``Network``
does, so their Vars can be probed before a run); this model names them as its sub-processes,
and Lava's compiler then picks each one's own model by the run's tag.
"""

import ldsnn_lava.processes.compat  # noqa: F401  (before any lava import)

# isort: split
from lava.magma.core.decorator import implements
from lava.magma.core.model.sub.model import AbstractSubProcessModel
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from ldsnn_lava.processes.lava_stage import LavaStage
from ldsnn_lava.processes.ld_network.process import LDNetwork


@implements(proc=LDNetwork, protocol=LoihiProtocol)
class PyLDNetworkModel(AbstractSubProcessModel):
    """Exposes the network's stages (or their Lava synapse and neuron) and buffers."""

    def __init__(self, proc: LDNetwork):
        for index, stage in enumerate(proc.stages):
            if isinstance(stage, LavaStage):
                setattr(self, f"stage{index}_synapse", stage.synapse)
                setattr(self, f"stage{index}_neuron", stage.neuron)
            else:
                setattr(self, f"stage{index}", stage)
        for index, buffer in enumerate(proc.buffers):
            setattr(self, f"buffer{index}", buffer)
