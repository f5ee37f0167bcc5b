"""One model resolver for every entry point: a zoo name or a model file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ldsnn_lava import zoo
from ldsnn_lava.errors import InvalidOption
from ldsnn_lava.formats import MODEL_SUFFIXES, read_model
from ldsnn_lava.model import Model


def load_model(spec: str | Path, *, input_scale: float | None = None,
               input_shift: float | None = None) -> Model:
    """The model ``spec`` names: a zoo name (:func:`ldsnn_lava.zoo.names`) or a file ending in
    one of :data:`ldsnn_lava.formats.MODEL_SUFFIXES`.

    ``input_scale`` / ``input_shift`` replace the model's own input preprocessing (the network
    then sees ``x * input_scale + input_shift``), as the command line's ``--input-scale`` /
    ``--input-shift`` do.

    Raises
    ------
    InvalidOption
        If ``spec`` is neither a zoo name nor a model file name.
    FileAccessError, FileFormatError
        From reading the file.
    """
    if str(spec) in zoo.names():
        model = zoo.load(str(spec))
    elif Path(spec).suffix not in MODEL_SUFFIXES:
        raise InvalidOption(f"unknown model {str(spec)!r}: not a zoo model "
                            f"({', '.join(zoo.names())}) and not a file name ending in "
                            f"{', '.join(MODEL_SUFFIXES)}")
    else:
        model = read_model(spec)
    changes = {key: value for key, value in (("input_scale", input_scale),
                                             ("input_shift", input_shift)) if value is not None}
    return dataclasses.replace(model, **changes) if changes else model
