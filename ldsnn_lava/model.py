"""The model record: a network with what it takes to run it right.

A :class:`Model` is what every entry point works with (the zoo, model files, the command line):
the given SNN's network, its base T (the uniform timesteps it was trained or converted for),
the precision it runs in, the affine input preprocessing it expects (``x * input_scale +
input_shift``, then reshaped to the network's input shape) and its default data set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ldsnn_lava.errors import InvalidInput
from ldsnn_lava.network import Network
from ldsnn_lava.options import Precision


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
    """

    name: str
    network: Network
    base_T: int | None = None
    precision: Precision = Precision.FLOAT
    input_scale: float = 1.0
    input_shift: float = 0.0
    dataset: str | None = None
    record: dict = field(default_factory=dict)

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
        return x.reshape(*x.shape[:lead], *self.network.input_shape)
