"""Argument checks for the public entry points (``evaluate``, ``optimize``, ``to_lava``, the
readers and the command line).

Each check takes the value and the name the user knows it by, and returns it in the form the
library computes with, or raises a :mod:`ldsnn_lava.errors` exception whose message names the
argument, what was given and what is allowed. Nothing is silently converted: a ``bool`` is not
an integer, ``2.0`` is not an integer, a complex number is not a real one, and an input outside
its encoding's range is refused rather than clamped.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from ldsnn_lava.errors import BackendUnavailable, InvalidInput, InvalidOption
from ldsnn_lava.options import InputEncoding

if TYPE_CHECKING:
    from ldsnn_lava.network import Network
    from ldsnn_lava.schedule import Schedule


def integer(value, what: str, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int: a Python or numpy integer (not a bool, not a float) in
    ``[low, high]``.

    Raises
    ------
    InvalidOption
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise InvalidOption(f"{what} must be an integer, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidOption(f"{what} must be an integer {_range(low, high)}, got {value}")
    return value


def number(value, what: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float (a Python or numpy real, not a bool or complex) in the
    given range (closed unless ``low_open`` / ``high_open``).

    Raises
    ------
    InvalidOption
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise InvalidOption(f"{what} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise InvalidOption(f"{what} must be finite, got {value}")
    if ((low is not None and (value < low or (low_open and value == low)))
            or (high is not None and (value > high or (high_open and value == high)))):
        raise InvalidOption(f"{what} must be {_range(low, high, low_open, high_open)}, "
                            f"got {value:g}")
    return value


def flag(value, what: str) -> bool:
    """``value`` as a bool (a Python or numpy bool only).

    Raises
    ------
    InvalidOption
    """
    if not isinstance(value, bool | np.bool_):
        raise InvalidOption(f"{what} must be True or False, got {value!r}")
    return bool(value)


def _range(low, high, low_open=False, high_open=False) -> str:
    low, high = _show(low), _show(high)
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    return f"{'<' if high_open else '<='} {high}"


def _show(bound) -> str | None:
    if bound is None:
        return None
    return str(bound) if isinstance(bound, int) else f"{bound:g}"


def device(value) -> torch.device:
    """``value`` as a torch device this machine has: ``"cpu"``, or ``"cuda"``/``"cuda:N"``
    and ``"mps"`` where available.

    Raises
    ------
    InvalidOption
        For a device name torch does not know, or a device kind the engine does not run on.
    BackendUnavailable
        For a CUDA or MPS device this machine does not have.
    """
    if not isinstance(value, str | torch.device):
        raise InvalidOption(f"device must be a string such as 'cpu' or 'cuda', got {value!r}")
    try:
        result = torch.device(value)
    except (RuntimeError, ValueError) as err:
        raise InvalidOption(f"unknown device {str(value)!r} ({err}); use 'cpu' or 'cuda'"
                            ) from None
    if result.type == "cpu":
        return result
    if result.type == "cuda":
        if not torch.cuda.is_available():
            raise BackendUnavailable(f"device {str(value)!r}: CUDA is not available here "
                                     f"(torch {torch.__version__}, no usable GPU); use 'cpu'")
        if result.index is not None and result.index >= torch.cuda.device_count():
            raise BackendUnavailable(f"device {str(value)!r}: this machine has "
                                     f"{torch.cuda.device_count()} CUDA device(s)")
        return result
    if result.type == "mps":
        if not torch.backends.mps.is_available():
            raise BackendUnavailable(f"device {str(value)!r}: MPS is not available here")
        return result
    raise InvalidOption(f"device {str(value)!r}: the engine runs on 'cpu' or 'cuda', not "
                        f"{result.type!r}")


def float_dtype(value) -> torch.dtype:
    """``value`` as the engine's float dtype: ``torch.float32`` or ``torch.float64``.

    Raises
    ------
    InvalidOption
    """
    if value is torch.float32 or value is torch.float64:
        return value
    raise InvalidOption(f"dtype must be torch.float32 or torch.float64, got {value!r}")


@dataclass(frozen=True)
class CheckedInput:
    """A validated input batch: the tensor, and the largest magnitude of its values (for the
    overflow bounds of :mod:`ldsnn_lava.numerics`)."""

    x: torch.Tensor
    magnitude: float


_INPUT_KINDS = "bool, integer or real floating-point numbers"


def inputs(x, net: Network, what: str = "input", schedule: Schedule | None = None
           ) -> CheckedInput:
    """Check an input batch for ``net``: real numbers of shape ``(N, *net.input_shape)`` (for
    sequence input ``(N, S, *net.input_shape)``) with ``N >= 1``, all finite, and within
    ``[0, 1]`` under ``rate`` encoding. With a ``schedule``, sequence input is checked by
    :func:`ldsnn_lava.sequences.check_sequence` (its messages name the sample and step; events
    must be 0 or 1, S a multiple of the chunk).

    Integer and bool inputs are converted to float64, floating inputs keep their dtype. One
    pass over the data (its minimum and maximum) serves the finiteness and range checks.

    Raises
    ------
    InvalidInput
        Naming the problem: type, shape, NaN/inf, or the values outside the encoding's range.
    """
    if isinstance(x, torch.Tensor):
        tensor = x
    else:
        try:
            array = np.asarray(x)
        except (ValueError, TypeError) as err:  # ragged nested lists and the like
            raise InvalidInput(f"{what} must be an array of numbers ({err})") from None
        if array.dtype.kind not in "biuf":
            raise InvalidInput(f"{what} must hold {_INPUT_KINDS}, got dtype {array.dtype}"
                               + ("; complex values are refused, not truncated"
                                  if array.dtype.kind == "c" else ""))
        tensor = torch.as_tensor(array)
    if tensor.is_complex():
        raise InvalidInput(f"{what} must hold {_INPUT_KINDS}, got {tensor.dtype}; complex "
                           f"values are refused, not truncated")
    sequence = net.input_encoding.is_sequence  # (N, S, *input_shape): S input steps
    if sequence and schedule is not None:
        from ldsnn_lava.sequences import check_sequence

        check_sequence(net, schedule, tensor.detach().cpu().numpy())
    axes = 2 if sequence else 1
    if tensor.dim() != len(net.input_shape) + axes or \
            tuple(tensor.shape[axes:]) != net.input_shape:
        layout = ", ".join(["N", "S"][:axes] + [str(d) for d in net.input_shape])
        raise InvalidInput(f"{what} must have shape ({layout}) for this network "
                           f"({net.input_encoding} input), got {tuple(tensor.shape)}")
    if tensor.shape[0] == 0:
        raise InvalidInput(f"{what} holds no samples")
    if not torch.is_floating_point(tensor):
        tensor = tensor.to(torch.float64)
    low, high = (float(v) for v in torch.aminmax(tensor))
    if not (math.isfinite(low) and math.isfinite(high)):
        raise InvalidInput(f"{what} contains NaN or inf values")
    if net.input_encoding == InputEncoding.RATE and (low < 0.0 or high > 1.0):
        raise InvalidInput(f"{what} is rate-encoded, so its values must lie in [0, 1]; got "
                           f"values in [{low:g}, {high:g}] (scale 8-bit pixels by 1/255); "
                           f"values outside are refused, not clamped")
    return CheckedInput(tensor, max(abs(low), abs(high)))


def labels(y, count: int, classes: int, what: str = "labels") -> np.ndarray:
    """Check class labels for ``count`` samples of a ``classes``-way readout: integers (or
    integral floats) in ``[0, classes)``, shape ``(count,)``; returned as int64.

    Raises
    ------
    InvalidInput
    """
    try:
        array = np.asarray(y)
    except (ValueError, TypeError) as err:
        raise InvalidInput(f"{what} must be an array of integers ({err})") from None
    if array.shape != (count,):
        raise InvalidInput(f"{what} must have shape ({count},), one per sample, got "
                           f"{array.shape}")
    if array.dtype.kind == "b" or array.dtype.kind not in "iuf":
        raise InvalidInput(f"{what} must be integers, got dtype {array.dtype}")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise InvalidInput(f"{what} contain NaN or inf")
        if not np.all(array == np.round(array)):
            raise InvalidInput(f"{what} must be whole numbers, got fractional values")
    if array.size and (array.min() < 0 or array.max() >= classes):
        raise InvalidInput(f"{what} must lie in [0, {classes - 1}] (the readout has {classes} "
                           f"classes), got values in [{array.min():g}, {array.max():g}]")
    return array.astype(np.int64)


__all__ = ["CheckedInput", "device", "flag", "float_dtype", "inputs", "integer", "labels",
           "number"]
