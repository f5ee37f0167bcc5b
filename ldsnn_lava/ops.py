"""Linear synaptic operations: what a stage applies to its input before its neurons.

Each op is a small frozen dataclass holding numpy parameters, with three jobs:

- ``output_shape(in_shape)`` checks that the op fits its input and says what it produces;
- ``to_torch(device, dtype)`` returns a function that applies it to a batch ``(B, *in_shape)``;
- ``fan_out(in_shape)`` gives each input element's structural fan-out: how many outputs it
  reaches (DESIGN.md section 2, work counters). Structural means "by connectivity", so a zero
  weight still counts as a synapse, and a convolution's edge taps that fall into padding do not.

Batch norm is folded into weights before it reaches these ops; ``Flatten`` is a free reshape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

Shape = tuple[int, ...]
TorchFn = Callable[[torch.Tensor], torch.Tensor]


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int | np.integer) for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def _as_float_array(value, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or inf values")
    return array


def _tensor(array: np.ndarray, device, dtype) -> torch.Tensor:
    return torch.as_tensor(array, dtype=dtype, device=device)


def _window_coverage(in_hw: tuple[int, int], kernel, stride, padding) -> np.ndarray:
    """How many sliding-window positions cover each input pixel (padding excluded)."""
    (h, w), (kh, kw), (sh, sw), (ph, pw) = in_hw, kernel, stride, padding
    out_h = (h + 2 * ph - kh) // sh + 1
    out_w = (w + 2 * pw - kw) // sw + 1
    cover = np.zeros((h + 2 * ph, w + 2 * pw), dtype=np.int64)
    for i in range(out_h):
        for j in range(out_w):
            cover[i * sh : i * sh + kh, j * sw : j * sw + kw] += 1
    return cover[ph : ph + h, pw : pw + w]


class Op:
    """Base class of the linear ops; see the module docstring."""

    def output_shape(self, in_shape: Shape) -> Shape:
        raise NotImplementedError

    def to_torch(self, device, dtype) -> TorchFn:
        raise NotImplementedError

    def fan_out(self, in_shape: Shape) -> np.ndarray:
        raise NotImplementedError

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
        if weight.ndim != 2:
            raise ValueError(f"Dense weight must be 2-D (out, in), got shape {weight.shape}")
        object.__setattr__(self, "weight", weight)
        if self.bias is not None:
            bias = _as_float_array(self.bias, "Dense bias")
            if bias.shape != (weight.shape[0],):
                raise ValueError(
                    f"Dense bias must have shape ({weight.shape[0]},), got {bias.shape}"
                )
            object.__setattr__(self, "bias", bias)

    def output_shape(self, in_shape: Shape) -> Shape:
        if tuple(in_shape) != (self.weight.shape[1],):
            raise ValueError(
                f"Dense with weight {self.weight.shape} expects input shape "
                f"({self.weight.shape[1]},), got {tuple(in_shape)}"
            )
        return (self.weight.shape[0],)

    def to_torch(self, device, dtype) -> TorchFn:
        weight = _tensor(self.weight, device, dtype)
        bias = None if self.bias is None else _tensor(self.bias, device, dtype)
        return lambda x: F.linear(x, weight, bias)

    def fan_out(self, in_shape: Shape) -> np.ndarray:
        return np.full(in_shape, self.weight.shape[0], dtype=np.int64)

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
        if weight.ndim != 4:
            raise ValueError(
                f"Conv2d weight must be 4-D (out_c, in_c, kh, kw), got shape {weight.shape}"
            )
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "stride", _pair(self.stride, "Conv2d stride"))
        object.__setattr__(self, "padding", _pair(self.padding, "Conv2d padding"))
        if min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"Conv2d needs stride >= 1 and padding >= 0, got "
                             f"stride={self.stride}, padding={self.padding}")
        if self.bias is not None:
            bias = _as_float_array(self.bias, "Conv2d bias")
            if bias.shape != (weight.shape[0],):
                raise ValueError(
                    f"Conv2d bias must have shape ({weight.shape[0]},), got {bias.shape}"
                )
            object.__setattr__(self, "bias", bias)

    @property
    def kernel(self) -> tuple[int, int]:
        return int(self.weight.shape[2]), int(self.weight.shape[3])

    def output_shape(self, in_shape: Shape) -> Shape:
        if len(in_shape) != 3 or in_shape[0] != self.weight.shape[1]:
            raise ValueError(
                f"Conv2d with weight {self.weight.shape} expects input (C={self.weight.shape[1]}"
                f", H, W), got {tuple(in_shape)}"
            )
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        out_h = (in_shape[1] + 2 * ph - kh) // sh + 1
        out_w = (in_shape[2] + 2 * pw - kw) // sw + 1
        if out_h < 1 or out_w < 1:
            raise ValueError(f"Conv2d kernel {self.kernel} does not fit input {tuple(in_shape)}")
        return (int(self.weight.shape[0]), out_h, out_w)

    def to_torch(self, device, dtype) -> TorchFn:
        weight = _tensor(self.weight, device, dtype)
        bias = None if self.bias is None else _tensor(self.bias, device, dtype)
        stride, padding = self.stride, self.padding
        return lambda x: F.conv2d(x, weight, bias, stride=stride, padding=padding)

    def fan_out(self, in_shape: Shape) -> np.ndarray:
        cover = _window_coverage(in_shape[1:], self.kernel, self.stride, self.padding)
        per_pixel = cover * self.weight.shape[0]
        return np.broadcast_to(per_pixel, in_shape).copy()

    def parameters(self) -> dict[str, np.ndarray]:
        return {"weight": self.weight} | ({} if self.bias is None else {"bias": self.bias})


@dataclass(frozen=True, eq=False)
class AvgPool2d(Op):
    """Average pooling per channel on (C, H, W) input (no padding)."""

    kernel: int | tuple[int, int]
    stride: int | tuple[int, int] | None = None

    def __post_init__(self):
        object.__setattr__(self, "kernel", _pair(self.kernel, "AvgPool2d kernel"))
        stride = self.kernel if self.stride is None else self.stride
        object.__setattr__(self, "stride", _pair(stride, "AvgPool2d stride"))
        if min(self.kernel) < 1 or min(self.stride) < 1:
            raise ValueError(f"AvgPool2d needs kernel and stride >= 1, got "
                             f"kernel={self.kernel}, stride={self.stride}")

    def output_shape(self, in_shape: Shape) -> Shape:
        if len(in_shape) != 3:
            raise ValueError(f"AvgPool2d expects (C, H, W) input, got {tuple(in_shape)}")
        (kh, kw), (sh, sw) = self.kernel, self.stride
        out_h, out_w = (in_shape[1] - kh) // sh + 1, (in_shape[2] - kw) // sw + 1
        if out_h < 1 or out_w < 1:
            raise ValueError(f"AvgPool2d kernel {self.kernel} does not fit input {in_shape}")
        return (int(in_shape[0]), out_h, out_w)

    def to_torch(self, device, dtype) -> TorchFn:
        kernel, stride = self.kernel, self.stride
        return lambda x: F.avg_pool2d(x, kernel, stride)

    def fan_out(self, in_shape: Shape) -> np.ndarray:
        cover = _window_coverage(in_shape[1:], self.kernel, self.stride, (0, 0))
        return np.broadcast_to(cover, in_shape).copy()


@dataclass(frozen=True, eq=False)
class SumPool2d(AvgPool2d):
    """Sum pooling per channel on (C, H, W) input (no padding): the integer form of pooling
    that fixed-point networks use (``AvgPool2d`` times kernel area)."""

    def to_torch(self, device, dtype) -> TorchFn:
        kernel, stride = self.kernel, self.stride
        area = kernel[0] * kernel[1]
        return lambda x: F.avg_pool2d(x, kernel, stride) * area


@dataclass(frozen=True, eq=False)
class Flatten(Op):
    """Reshape any input to one dimension, in C order. Free: no synapses."""

    def output_shape(self, in_shape: Shape) -> Shape:
        return (int(np.prod(in_shape)),)

    def to_torch(self, device, dtype) -> TorchFn:
        return lambda x: x.flatten(1)

    def fan_out(self, in_shape: Shape) -> np.ndarray:
        return np.ones(in_shape, dtype=np.int64)

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
        object.__setattr__(self, "truncate", bool(self.truncate))

    def output_shape(self, in_shape: Shape) -> Shape:
        for name, array in (("weight", self.weight), ("bias", self.bias)):
            try:
                np.broadcast_to(array, in_shape)
            except ValueError:
                raise ValueError(
                    f"Scale {name} of shape {array.shape} does not broadcast to input "
                    f"{tuple(in_shape)}"
                ) from None
        return tuple(in_shape)

    def to_torch(self, device, dtype) -> TorchFn:
        weight, bias = _tensor(self.weight, device, dtype), _tensor(self.bias, device, dtype)
        if self.truncate:
            return lambda x: torch.trunc(x * weight + bias)
        return lambda x: x * weight + bias

    def fan_out(self, in_shape: Shape) -> np.ndarray:
        return np.ones(in_shape, dtype=np.int64)

    def parameters(self) -> dict[str, np.ndarray]:
        return {"weight": self.weight, "bias": self.bias}


OP_TYPES: dict[str, type[Op]] = {
    cls.__name__: cls for cls in (Dense, Conv2d, AvgPool2d, SumPool2d, Flatten, Scale)
}
