"""The Brian2 backend: an LD-SNN in Brian2, spike for spike equal to the engine.

``to_brian2(net, schedule, precision).run(x)`` returns the fields of :func:`ldsnn_lava.evaluate`.

- :mod:`~ldsnn_lava.brian2_backend.network`: the Brian2 objects of an LD-SNN, their order
  within a step, and the run (:func:`to_brian2`, :class:`Brian2LDSNN`, :class:`Brian2Graph`);
- :mod:`~ldsnn_lava.brian2_backend.neurons`: each neuron model's Brian2 code;
- the synapses come from :mod:`ldsnn_lava.sparse_ops`.

Importing this package imports brian2 (``pip install 'ldsnn-lava[brian2]'``) and raises
:class:`~ldsnn_lava.errors.BackendUnavailable` where it is missing.
"""

from ldsnn_lava.brian2_backend.network import Brian2Graph, Brian2LDSNN, to_brian2

__all__ = ["Brian2Graph", "Brian2LDSNN", "to_brian2"]
