"""Toward Loihi: hardware limits, resources, constraint checks and estimates.

Modules
-------
limits
    :class:`~ldsnn_lava.loihi.limits.Loihi2Limits`: the limits as data, each with its source.
resources
    Synapses, fan-in and cores per stage.
constraints
    :func:`~ldsnn_lava.loihi.constraints.check_loihi2`.
estimate
    :func:`~ldsnn_lava.loihi.estimate.estimate`, :func:`~ldsnn_lava.loihi.estimate.compare`,
    :func:`~ldsnn_lava.loihi.estimate.render_table`.

The netx export with the LD schedule is :func:`ldsnn_lava.formats.netx.write_network`. Nothing
here imports lava.
"""
