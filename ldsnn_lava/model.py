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
        """``x * input_scale + input_shift`` as float32, reshaped to ``(N, *input_shape)``.

        Raises
        ------
        InvalidInput
            If the samples do not hold as many values as the network's input.
        """
        x = np.asarray(x, dtype=np.float32)
        expected = int(np.prod(self.network.input_shape))
        if x.ndim < 1 or int(np.prod(x.shape[1:])) != expected:
            raise InvalidInput(f"the data's samples have shape {x.shape[1:]}, model "
                               f"{self.name!r} expects {self.network.input_shape}")
        x = x * np.float32(self.input_scale) + np.float32(self.input_shift)
        return x.reshape(len(x), *self.network.input_shape)
