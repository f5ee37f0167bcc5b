"""Importers and exporters: lava-dl netx files, torch ANNs (conversion) and NIR graphs.

Each lives in its own module and is imported on use, so that importing one never pulls in the
others' dependencies (h5py, nir)::

    from ldsnn_lava.importers.torch_convert import from_torch
    from ldsnn_lava.importers.netx import from_netx
    from ldsnn_lava.importers.nir_io import from_nir, to_nir
"""
