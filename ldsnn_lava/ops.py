"""Linear synaptic operations: what a stage applies to its input before its neurons.

Each op is a small frozen dataclass holding numpy parameters. What it *is* lives here:

- ``output_shape(in_shape)`` checks that the op fits its input and says what it produces;
- ``fan_out(in_shape)`` gives each input element's structural fan-out: how many outputs it
  reaches (``docs/design.md``, work counters). Structural means "by connectivity", so a zero
  weight still counts as a synapse, and a convolution's edge taps that fall into padding do not.

What an op *does* on a backend is one ``functools.singledispatch`` function per backend or
format, registered per op type: :func:`ldsnn_lava.torch_ops.torch_op` (the engine),
:func:`ldsnn_lava.numpy_ops.numpy_op` (the Lava process models), and the format writers; a test
checks that every op type is registered everywhere.

Batch norm is folded into weights before it reaches these ops; ``Flatten`` is a free reshape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ldsnn_lava.errors import InvalidNetwork

Shape = tuple[int, ...]


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    if _is_int(value):
        return int(value), int(value)
    try:
        pair = tuple(np.asarray(value).reshape(-1).tolist()) if isinstance(
            value, np.ndarray) else tuple(value)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(_is_int(v) for v in pair):
        raise InvalidNetwork(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def _as_float_array(value, name: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:  # ragged nested lists and the like
        raise InvalidNetwork(f"{name} must be an array of numbers ({err})") from None
    if array.dtype.kind == "c":
        raise InvalidNetwork(f"{name} is complex; ops take real parameters")
    if array.dtype.kind not in "biuf":
        raise InvalidNetwork(f"{name} must be numbers, got {array.dtype}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise InvalidNetwork(f"{name} contains NaN or inf values")
    return array


def _optional_bias(bias, outputs: int, name: str) -> np.ndarray | None:
    if bias is None:
        return None
    bias = _as_float_array(bias, name)
    if bias.shape != (outputs,):
        raise InvalidNetwork(f"{name} must have shape ({outputs},), got {bias.shape}")
    return bias


def _window_coverage(in_hw: tuple[int, int], kernel, stride, padding) -> np.ndarray:
    """How many sliding-window positions cover each input pixel (padding excluded)."""
    rows = _line_coverage(in_hw[0], kernel[0], stride[0], padding[0])
    cols = _line_coverage(in_hw[1], kernel[1], stride[1], padding[1])
    return np.outer(rows, cols)  # a window covers a pixel iff it covers its row and column


def _line_coverage(size: int, kernel: int, stride: int, padding: int) -> np.ndarray:
    """How many window positions along one axis cover each of its ``size`` input positions:
    one pass per kernel tap, whatever the padding or the number of positions."""
    starts = np.arange((size + 2 * padding - kernel) // stride + 1) * stride - padding
    cover = np.zeros(size, dtype=np.int64)
    for tap in range(kernel):
        hit = starts + tap
        np.add.at(cover, hit[(hit >= 0) & (hit < size)], 1)
    return cover


class Op:
    """Base class of the linear ops; see the module docstring."""

    def output_shape(self, in_shape: Shape) -> Shape:
        """The op's output shape for one sample of ``in_shape``; raises
        :class:`~ldsnn_lava.errors.InvalidNetwork` if the op does not fit."""
        raise NotImplementedError

    def fan_out(self, in_shape: Shape) -> np.ndarray:
        """Each input element's structural fan-out (outputs it reaches), shaped like the
        input."""
        raise NotImplementedError

    @property
    def max_fan_in(self) -> int:
        """The most synapses into one output (its structural fan-in)."""
        raise NotImplementedError

    def structural_twin(self) -> Op:
        """The same connectivity with every weight 1 and no bias: its outputs are > 0 exactly
        where a non-negative input reaches them (used to count the fan-out of op chains)."""
        return self

    @property
    def is_reshape(self) -> bool:
        """True for ops that only move data (no synapses)."""
        return False

    def parameters(self) -> dict[str, np.ndarray]:
        """Array parameters by name (used for saving and quantization)."""
        return {}


@dataclass(frozen=True, eq=False)
class Dense(Op):
    """Fully connected: ``y = weight @ x + bias`` with ``weight`` of shape (out, in)."""

    weight: np.ndarray
    bias: np.ndarray | None = None

    def __post_init__(self):
        weight = _as_float_array(self.weight, "Dense weight")
        if weight.ndim != 2 or 0 in weight.shape:
            raise InvalidNetwork(f"Dense weight must be 2-D (out, in) and non-empty, got shape "
                                 f"{weight.shape}")
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "bias", _optional_bias(self.bias, weight.shape[0], "Dense bias"))

    def output_shape(self, in_shape: Shape) -> Shape:
        if tuple(in_shape) != (self.weight.shape[1],):
            raise InvalidNetwork(f"Dense with weight {self.weight.shape} expects input shape "
                                 f"({self.weight.shape[1]},), got {tuple(in_shape)}")
        return (self.weight.shape[0],)

    def fan_out(self, in_shape: Shape) -> np.ndarray:
        return np.full(in_shape, self.weight.shape[0], dtype=np.int64)

    @property
    def max_fan_in(self) -> int:
        return int(self.weight.shape[1])

    def structural_twin(self) -> Dense:
        return Dense(np.ones_like(self.weight))

    def parameters(self) -> dict[str, np.ndarray]:
        return {"weight": self.weight} | ({} if self.bias is None else {"bias": self.bias})


@dataclass(frozen=True, eq=False)
class Conv2d(Op):
    """2-D convolution on (C, H, W) input, ``weight`` of shape (out_c, in_c, kh, kw)."""

    weight: np.ndarray
    bias: np.ndarray | None = None
    stride: int | tuple[int, int] = 1
    padding: int | tuple[int, int] = 0

    def __post_init__(self):
        weight = _as_float_array(self.weight, "Conv2d weight")
        if weight.ndim != 4 or 0 in weight.shape:
            raise InvalidNetwork(f"Conv2d weight must be 4-D (out_c, in_c, kh, kw) and "
                                 f"non-empty, got shape {weight.shape}")
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "stride", _pair(self.stride, "Conv2d stride"))
        object.__setattr__(self, "padding", _pair(self.padding, "Conv2d padding"))
        if min(self.stride) < 1 or min(self.padding) < 0:
            raise InvalidNetwork(f"Conv2d needs stride >= 1 and padding >= 0, got "
                                 f"stride={self.stride}, padding={self.padding}")
        object.__setattr__(self, "bias", _optional_bias(self.bias, weight.shape[0],
                                                        "Conv2d bias"))

    @property
    def kernel(self) -> tuple[int, int]:
        return int(self.weight.shape[2]), int(self.weight.shape[3])

    def output_shape(self, in_shape: Shape) -> Shape:
        if len(in_shape) != 3 or in_shape[0] != self.weight.shape[1]:
            raise InvalidNetwork(f"Conv2d with weight {self.weight.shape} expects input "
                                 f"(C={self.weight.shape[1]}, H, W), got {tuple(in_shape)}")
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        out_h = (in_shape[1] + 2 * ph - kh) // sh + 1
        out_w = (in_shape[2] + 2 * pw - kw) // sw + 1
        if out_h < 1 or out_w < 1:
            raise InvalidNetwork(f"Conv2d kernel {self.kernel} does not fit input "
                                 f"{tuple(in_shape)}")
        return (int(self.weight.shape[0]), out_h, out_w)

    def fan_out(self, in_shape: Shape) -> np.ndarray:
        cover = _window_coverage(in_shape[1:], self.kernel, self.stride, self.padding)
        return np.broadcast_to(cover * self.weight.shape[0], in_shape).copy()

    @property
    def max_fan_in(self) -> int:
        return math.prod(self.weight.shape[1:])

    def structural_twin(self) -> Conv2d:
        return Conv2d(np.ones_like(self.weight), stride=self.stride, padding=self.padding)

    def parameters(self) -> dict[str, np.ndarray]:
        return {"weight": self.weight} | ({} if self.bias is None else {"bias": self.bias})


@dataclass(frozen=True, eq=False)
class _Pool2d(Op):
    """Pooling per channel on (C, H, W) input over ``kernel`` windows every ``stride`` (no
    padding); :class:`AvgPool2d` and :class:`SumPool2d` differ only in what they compute."""

    kernel: int | tuple[int, int]
    stride: int | tuple[int, int] | None = None

    def __post_init__(self):
        kind = type(self).__name__
        object.__setattr__(self, "kernel", _pair(self.kernel, f"{kind} kernel"))
        stride = self.kernel if self.stride is None else self.stride
        object.__setattr__(self, "stride", _pair(stride, f"{kind} stride"))
        if min(self.kernel) < 1 or min(self.stride) < 1:
            raise InvalidNetwork(f"{kind} needs kernel and stride >= 1, got "
                                 f"kernel={self.kernel}, stride={self.stride}")

    @property
    def area(self) -> int:
        return self.kernel[0] * self.kernel[1]

    @property
    def max_fan_in(self) -> int:
        return self.area

    def output_shape(self, in_shape: Shape) -> Shape:
        kind = type(self).__name__
        if len(in_shape) != 3:
            raise InvalidNetwork(f"{kind} expects (C, H, W) input, got {tuple(in_shape)}")
        (kh, kw), (sh, sw) = self.kernel, self.stride
        out_h, out_w = (in_shape[1] - kh) // sh + 1, (in_shape[2] - kw) // sw + 1
        if out_h < 1 or out_w < 1:
            raise InvalidNetwork(f"{kind} kernel {self.kernel} does not fit input "
                                 f"{tuple(in_shape)}")
        return (int(in_shape[0]), out_h, out_w)

    def fan_out(self, in_shape: Shape) -> np.ndarray:
        cover = _window_coverage(in_shape[1:], self.kernel, self.stride, (0, 0))
        return np.broadcast_to(cover, in_shape).copy()


@dataclass(frozen=True, eq=False)
class AvgPool2d(_Pool2d):
    """Average pooling per channel on (C, H, W) input (no padding)."""


@dataclass(frozen=True, eq=False)
class SumPool2d(_Pool2d):
    """Sum pooling per channel on (C, H, W) input (no padding): the integer form of pooling
    that fixed-point networks use (``AvgPool2d`` times kernel area)."""


@dataclass(frozen=True, eq=False)
class Flatten(Op):
    """Reshape any input to one dimension, in C order. Free: no synapses."""

    def output_shape(self, in_shape: Shape) -> Shape:
        return (math.prod(in_shape),)

    def fan_out(self, in_shape: Shape) -> np.ndarray:
        return np.ones(in_shape, dtype=np.int64)

    @property
    def max_fan_in(self) -> int:
        return 1

    @property
    def is_reshape(self) -> bool:
        return True


@dataclass(frozen=True, eq=False)
class Scale(Op):
    """Elementwise affine map ``y = weight * x + bias`` (one synapse per element).

    This is how lava-dl netx input layers are driven: a neuron population whose bias is an
    affine function of the input image. ``weight`` and ``bias`` are scalars or arrays that
    broadcast to the input shape. With ``truncate=True`` the result is truncated toward zero
    (``y = trunc(weight * x + bias)``), as lava-dl makes such a bias integer (``astype(int32)``).
    """

    weight: np.ndarray | float = 1.0
    bias: np.ndarray | float = 0.0
    truncate: bool = False

    def __post_init__(self):
        object.__setattr__(self, "weight", _as_float_array(self.weight, "Scale weight"))
        object.__setattr__(self, "bias", _as_float_array(self.bias, "Scale bias"))
        if not isinstance(self.truncate, bool | np.bool_):
            raise InvalidNetwork(f"Scale truncate must be True or False, got {self.truncate!r}")
        object.__setattr__(self, "truncate", bool(self.truncate))

    def output_shape(self, in_shape: Shape) -> Shape:
        for name, array in (("weight", self.weight), ("bias", self.bias)):
            try:
                np.broadcast_to(array, in_shape)
            except ValueError:
                raise InvalidNetwork(f"Scale {name} of shape {array.shape} does not broadcast "
                                     f"to input {tuple(in_shape)}") from None
        return tuple(in_shape)

    @property
    def max_fan_in(self) -> int:
        return 1

    def structural_twin(self) -> Scale:
        return Scale()

    def fan_out(self, in_shape: Shape) -> np.ndarray:
        return np.ones(in_shape, dtype=np.int64)

    def parameters(self) -> dict[str, np.ndarray]:
        return {"weight": self.weight, "bias": self.bias}


OP_TYPES: dict[str, type[Op]] = {
    cls.__name__: cls for cls in (Dense, Conv2d, AvgPool2d, SumPool2d, Flatten, Scale)
}
"""Every op type by name (the saved-network format names ops this way)."""

