"""One model resolver for every entry point: a zoo name or a model file."""

from __future__ import annotations

from pathlib import Path

from ldsnn_lava import zoo
from ldsnn_lava.errors import InvalidOption
from ldsnn_lava.formats import MODEL_SUFFIXES, read_model
from ldsnn_lava.model import Model


def load_model(spec: str | Path) -> Model:
    """The model ``spec`` names: a zoo name (:func:`ldsnn_lava.zoo.names`) or a file ending in
    one of :data:`ldsnn_lava.formats.MODEL_SUFFIXES`.

    Raises
    ------
    InvalidOption
        If ``spec`` is neither a zoo name nor a model file name.
    FileAccessError, FileFormatError
        From reading the file.
    """
    if str(spec) in zoo.names():
        return zoo.load(str(spec))
    if Path(spec).suffix not in MODEL_SUFFIXES:
        raise InvalidOption(f"unknown model {str(spec)!r}: not a zoo model "
                            f"({', '.join(zoo.names())}) and not a file name ending in "
                            f"{', '.join(MODEL_SUFFIXES)}")
    return read_model(spec)
