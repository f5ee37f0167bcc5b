"""Network file formats and other tools' models, one module per format, each with its reader
and writer:

``npz``
    Our own format (:meth:`Network.save` / :meth:`Network.load`).
``netx``
    lava-dl netx HDF5 (:meth:`Network.from_netx`; ``ldsnn export`` writes one with its LD
    schedule).
``nir``
    The Neuromorphic Intermediate Representation (:meth:`Network.from_nir`,
    :meth:`Network.to_nir`).
``torch_ann``
    ANN-to-SNN conversion of a torch model (:meth:`Network.from_torch`).

Importing this package registers each format's reader and writer with
:mod:`ldsnn_lava.network` (``ldsnn_lava`` imports it). :func:`read_model` reads any model file
by its suffix.
"""

from __future__ import annotations

from pathlib import Path

from ldsnn_lava._io import check_readable
from ldsnn_lava.errors import FileFormatError
from ldsnn_lava.formats import netx, nir, npz, torch_ann
from ldsnn_lava.model import Model

MODEL_SUFFIXES = {".npz": npz, ".net": netx, ".h5": netx, ".hdf5": netx, ".nir": nir}
"""Model file suffixes and the format module that reads them."""


def read_model(path: str | Path) -> Model:
    """Read a model file by its suffix (see :data:`MODEL_SUFFIXES`).

    Raises
    ------
    FileAccessError
        If there is no such file, or it is a folder or not a regular file.
    FileFormatError
        For an unknown suffix or a file that is not what its suffix says.
    """
    path = Path(path)
    if path.suffix not in MODEL_SUFFIXES:
        raise FileFormatError(f"unsupported model file {str(path)!r}: expected one of "
                              f"{', '.join(MODEL_SUFFIXES)}")
    return MODEL_SUFFIXES[path.suffix].read_model(check_readable(path, "model file"))


__all__ = ["MODEL_SUFFIXES", "netx", "nir", "npz", "read_model", "torch_ann"]
