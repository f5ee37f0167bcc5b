"""A network's stages compiled for one device, dtype and precision.

:func:`compile_stage` turns a :class:`~ldsnn_lava.network.Stage` into what the driver runs: its
ops as torch functions (:func:`ldsnn_lava.torch_ops.torch_op`, parameters converted once), its
neuron kernel (:func:`ldsnn_lava.engine.kernels.neuron_kernel`), its fan-out for the work
counters, and the arithmetic it needs.

Two shortcuts give the same numbers as the plain ops:

- **Pooling of spikes.** A stage fed by spikes sees 0/1 inputs, so a first pooling op whose
  stride equals its kernel sums integers: :func:`pool_sum` adds row and column slices (exact,
  several times faster than ``avg_pool2d``) and divides by the area as ``avg_pool2d`` does.
- **Fixed point in float32.** Fixed precision needs exact integer currents. A stage fed by
  spikes whose ops have integer parameters (no ``AvgPool2d``) produces integers, checked once
  here instead of on every current; if moreover every partial sum is bounded below 2**24
  (:func:`partial_sum_bound`), float32 computes them exactly, so the stage runs in float32
  rather than float64. Otherwise (stage 0 under direct input, or a larger bound) it runs in
  float64 and its currents are checked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ldsnn_lava.engine.kernels import NeuronKernel, neuron_kernel
from ldsnn_lava.network import Network
from ldsnn_lava.ops import AvgPool2d, Op, Scale, SumPool2d
from ldsnn_lava.options import InputEncoding
from ldsnn_lava.torch_ops import torch_op

TorchFn = Callable[[torch.Tensor], torch.Tensor]
EXACT_FLOAT32 = 1 << 24
"""Integers below this magnitude, and sums of them that stay below it, are exact in float32."""


def pool_sum(x: torch.Tensor, kernel: tuple[int, int]) -> torch.Tensor:
    """Sum pooling of ``(N, C, H, W)`` with stride = kernel and no padding, by adding row and
    column slices; exact, hence equal to ``avg_pool2d(x) * area``, for integer-valued ``x``."""
    (kh, kw), (n, c, h, w) = kernel, x.shape
    ho, wo = h // kh, w // kw
    rows = x[:, :, :ho * kh, :wo * kw].reshape(n, c, ho, kh, wo * kw)
    y = rows[:, :, :, 0].clone()
    for i in range(1, kh):
        y += rows[:, :, :, i]
    cols = y.view(n, c, ho, wo, kw)
    z = cols[..., 0].clone()
    for j in range(1, kw):
        z += cols[..., j]
    return z


def _spike_op(op: Op, device, dtype: torch.dtype) -> TorchFn:
    """``op`` as a torch function for integer-valued input."""
    if isinstance(op, AvgPool2d | SumPool2d) and op.kernel == op.stride:
        kernel, area = op.kernel, op.area
        if isinstance(op, SumPool2d):
            return lambda x: pool_sum(x, kernel)
        return lambda x: pool_sum(x, kernel).div_(area)
    return torch_op(op, device, dtype)


def integer_ops(ops) -> bool:
    """True when ``ops`` map integer inputs to integer outputs: integer parameters and no
    ``AvgPool2d`` (a truncating ``Scale`` always gives integers)."""
    for op in ops:
        if isinstance(op, AvgPool2d):
            return False
        if isinstance(op, Scale) and op.truncate:
            continue
        if any(np.any(p != np.round(p)) for p in op.parameters().values()):
            return False
    return True


def _absolute(op: Op) -> Op:
    """``op`` with the absolute values of its parameters (and no truncation)."""
    changes = {name: np.abs(value) for name, value in op.parameters().items()}
    if isinstance(op, Scale):
        changes["truncate"] = False
    return dataclasses.replace(op, **changes) if changes else op


def partial_sum_bound(ops, in_shape, input_bound: float = 1.0) -> float:
    """A bound on the magnitude of every value and partial sum ``ops`` compute from inputs of
    magnitude at most ``input_bound``: the ops with absolute parameters, applied to
    ``input_bound`` everywhere (float64), maximised over every op's output."""
    x = torch.full((1, *in_shape), float(input_bound), dtype=torch.float64)
    bound = float(input_bound)
    for op in ops:
        x = torch_op(_absolute(op), "cpu", torch.float64)(x)
        bound = max(bound, float(x.max()))
    return bound


@dataclass
class CompiledStage:
    """One stage ready to run.

    Attributes
    ----------
    index : int
    in_shape, out_shape : tuple of int
    spike_ops : list of callable
        The ops for 0/1 (spike) input, with the shortcuts of the module docstring.
    ops : list of callable
        The ops for any input (stage 0 under direct input).
    kernel : NeuronKernel or None
        ``None`` for the readout.
    dtype : torch.dtype
        The ops' arithmetic; currents and the spikes the stage emits have this dtype.
    check_integer : bool
        Fixed precision without a proof that currents are integers: check them.
    fan_out : torch.Tensor
        Each input element's structural fan-out, flattened, float64 on the device.
    """

    index: int
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    spike_ops: list[TorchFn]
    ops: list[TorchFn]
    kernel: NeuronKernel | None
    dtype: torch.dtype
    check_integer: bool
    fan_out: torch.Tensor

    @property
    def neurons(self) -> int:
        return int(np.prod(self.out_shape))


def compile_stage(net: Network, index: int, device: torch.device, dtype: torch.dtype,
                  fixed: bool) -> CompiledStage:
    """Stage ``index`` of ``net`` for ``device``; ``dtype`` is the float precision's dtype."""
    stage, in_shape = net.stages[index], net.input_shape_of(index)
    spike_input = index > 0 or net.input_encoding == InputEncoding.RATE
    check_integer = False
    if fixed:
        proven = spike_input and integer_ops(stage.ops)
        check_integer = not proven
        exact = proven and partial_sum_bound(stage.ops, in_shape) < EXACT_FLOAT32
        dtype = torch.float32 if exact else torch.float64
    kernel = None if stage.neuron is None else neuron_kernel(stage.neuron, fixed)
    return CompiledStage(
        index=index, in_shape=in_shape, out_shape=net.output_shape_of(index),
        spike_ops=[_spike_op(op, device, dtype) for op in stage.ops],
        ops=[torch_op(op, device, dtype) for op in stage.ops],
        kernel=kernel, dtype=dtype, check_integer=check_integer,
        fan_out=torch.as_tensor(net.fan_outs[index], dtype=torch.float64,
                                device=device).flatten())
