"""Toward Loihi: netx export and import with the LD schedule, Loihi 2 constraint checks,
resource/energy/latency estimates, and a check against lava-dl's Loihi 2 PilotNet traces.

Modules
-------
export
    :func:`~ldsnn_lava.loihi.export.export_netx` and
    :func:`~ldsnn_lava.loihi.export.load_netx_with_schedule`.
constraints
    :func:`~ldsnn_lava.loihi.constraints.check_loihi2`.
estimate
    :func:`~ldsnn_lava.loihi.estimate.estimate`, :func:`~ldsnn_lava.loihi.estimate.compare`,
    :func:`~ldsnn_lava.loihi.estimate.render_table`.
traces
    :func:`~ldsnn_lava.loihi.traces.compare_pilotnet_traces`.

Nothing here imports lava; only the tests load exported files with lava-dl.
"""
