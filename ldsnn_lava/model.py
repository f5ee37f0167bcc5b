"""The model record: a network with what it takes to run it right.

A :class:`Model` is what every entry point works with (the zoo, model files, the command line):
the given SNN's network, its base T (the uniform timesteps it was trained or converted for),
the precision it runs in, the affine input preprocessing it expects (``x * input_scale +
input_shift``, then reshaped to the network's input shape; a quantized network's direct input
is then rounded to integers, ``round(x' * 2**input_exponent)``) and its default data set.

Model files carry what they need: :meth:`Model.to_record` is the small dictionary (base T,
precision, input scaling, data set name) a format stores beside the network, and
:meth:`Model.from_record` reads it back with every field checked.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from ldsnn_lava.errors import FileFormatError, InvalidInput, InvalidOption
from ldsnn_lava.network import Network
from ldsnn_lava.options import Precision, parse_option

RECORD_FIELDS = ("base_T", "precision", "input_scale", "input_shift", "input_exponent",
                 "dataset")
"""The fields of a model record (:meth:`Model.to_record`)."""


@dataclass(frozen=True)
class Model:
    """A given SNN and how to feed it.

    Attributes
    ----------
    name : str
    network : Network
    base_T : int or None
        The given SNN's timesteps (``None`` when its file does not say).
    precision : Precision
        ``fixed`` for Loihi fixed-point networks (e.g. lava-dl netx files).
    input_scale, input_shift : float
        Preprocessing: the network sees ``x * input_scale + input_shift``.
    dataset : str or None
        Default data set name (:mod:`ldsnn_lava.datasets`).
    record : dict
        Anything else the source recorded (the zoo's training record, file metadata).
    input_exponent : int or None
        For a quantized network with direct input (:func:`ldsnn_lava.quantize`): the scaled
        input is fed as ``round(x * 2**input_exponent)``, the integers fixed point needs.
    """

    name: str
    network: Network
    base_T: int | None = None
    precision: Precision = Precision.FLOAT
    input_scale: float = 1.0
    input_shift: float = 0.0
    dataset: str | None = None
    record: dict = field(default_factory=dict)
    input_exponent: int | None = None

    def __post_init__(self):
        for name in ("input_scale", "input_shift"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or not math.isfinite(value):
                raise InvalidOption(f"model {self.name!r}: {name} must be a finite number, "
                                    f"got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.input_scale == 0:
            raise InvalidOption(f"model {self.name!r}: input_scale 0 would feed the network a "
                                f"constant input")

    def preprocess(self, x) -> np.ndarray:
        """``x * input_scale + input_shift`` as float32, reshaped to ``(N, *input_shape)``
        (sequence input: ``(N, S, *input_shape)``, each step reshaped).

        Raises
        ------
        InvalidInput
            If the samples (steps) do not hold as many values as the network's input.
        """
        x = np.asarray(x, dtype=np.float32)
        expected = int(np.prod(self.network.input_shape))
        lead = 2 if self.network.input_encoding.is_sequence else 1
        if x.ndim < lead or int(np.prod(x.shape[lead:])) != expected:
            what = "steps" if lead == 2 else "samples"
            raise InvalidInput(f"the data's {what} have shape {x.shape[lead:]}, model "
                               f"{self.name!r} expects {self.network.input_shape}")
        x = x * np.float32(self.input_scale) + np.float32(self.input_shift)
        if self.input_exponent is not None:
            x = np.round(x.astype(np.float64) * 2.0**self.input_exponent).astype(np.float32)
        return x.reshape(*x.shape[:lead], *self.network.input_shape)

    @property
    def input_map(self) -> str:
        """The preprocessing in words, e.g. ``x * 0.00784 - 1``, for reports."""
        text = "x" if self.input_scale == 1 else f"x * {self.input_scale:.6g}"
        if self.input_shift:
            text += f" {'-' if self.input_shift < 0 else '+'} {abs(self.input_shift):.6g}"
        if self.input_exponent is not None:
            text = f"round({text if text == 'x' else f'({text})'} * 2**{self.input_exponent})"
        return text

    def to_record(self) -> dict:
        """What a model file stores beside the network: base T, precision, the input
        preprocessing and the default data set (fields that are ``None`` are left out)."""
        record = {"base_T": self.base_T, "precision": str(self.precision),
                  "input_scale": self.input_scale, "input_shift": self.input_shift,
                  "input_exponent": self.input_exponent, "dataset": self.dataset}
        return {key: value for key, value in record.items() if value is not None}

    @classmethod
    def from_record(cls, name: str, network: Network, stored: dict, where: str,
                    **fields) -> Model:
        """A model from a record written by :meth:`to_record` (as read back from a file).

        Parameters
        ----------
        name : str
        network : Network
        stored : dict
            The stored fields (a subset of :data:`RECORD_FIELDS`).
        where : str
            The file, for error messages.
        **fields
            Defaults for fields the record does not hold (e.g. ``precision`` of a format).

        Raises
        ------
        FileFormatError
            Naming the file and the field, for an unknown field or a value of the wrong type
            or range.
        """
        if not isinstance(stored, dict):
            raise FileFormatError(f"{where}: the model record must be a mapping, got "
                                  f"{type(stored).__name__}")
        unknown = sorted(set(stored) - set(RECORD_FIELDS))
        if unknown:
            raise FileFormatError(f"{where}: unknown model record fields {unknown}; known: "
                                  f"{', '.join(RECORD_FIELDS)}")
        values = dict(fields)
        for key in ("base_T", "input_exponent"):
            if key in stored:
                value, low = stored[key], 1 if key == "base_T" else 0
                if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
                        or value < low:
                    raise FileFormatError(f"{where}: model record field {key!r} must be an "
                                          f"integer >= {low}, got {value!r}")
                values[key] = int(value)
        for key in ("input_scale", "input_shift"):
            if key in stored:
                value = stored[key]
                if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                        or not math.isfinite(value) or (key == "input_scale" and value == 0):
                    rule = "a finite number other than 0" if key == "input_scale" else \
                        "a finite number"
                    raise FileFormatError(f"{where}: model record field {key!r} must be "
                                          f"{rule}, got {value!r}")
                values[key] = float(value)
        if "dataset" in stored:
            if not isinstance(stored["dataset"], str):
                raise FileFormatError(f"{where}: model record field 'dataset' must be a data "
                                      f"set name, got {stored['dataset']!r}")
            values["dataset"] = stored["dataset"]
        if "precision" in stored:
            try:
                values["precision"] = parse_option(Precision, stored["precision"], "precision")
            except InvalidOption as err:
                raise FileFormatError(f"{where}: model record field {err}") from None
        return cls(name, network, **values)
