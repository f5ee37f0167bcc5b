"""Fused multi-step neuron and buffer kernels: the engine's hot loop, equal to the definitions.

A :class:`NeuronKernel` advances a population over one chunk of steps, in place: from the
chunk's currents ``(T, M)`` (M neurons over batch and shape, flattened) and the state carried
from the previous chunk it updates the state, writes each step's spikes as 0/1 into ``out``
``(T, M)`` (in the currents' dtype, which is what the next stage's ops consume) and adds them to
int32 ``counts``. It computes exactly what looping ``neuron.step`` of :mod:`ldsnn_lava.neurons`
computes: the same operations in the same order (the tests compare the two bit for bit, spikes
and state, also when a window is cut into chunks).

:func:`neuron_kernel` picks the kernel by neuron type (one ``functools.singledispatch``): a new
neuron model registers its own kernel, and a model without one runs :class:`DefinitionLoop`,
which loops the definition's ``step`` (slow, always right). Each kernel has two paths with the
same results: compiled C loops on CPU (:mod:`ldsnn_lava.engine.native`, where a C compiler
exists) and in-place torch operations elsewhere (CUDA, or no compiler).

:class:`RateEmitter` is the ``rate`` buffer's emit rule over chunks, from the spike counts and
an accumulator carried between chunks (see :mod:`ldsnn_lava.buffers`).

Fused kernels exist for :class:`~ldsnn_lava.neurons.IF` with its default reset and comparison
and :class:`~ldsnn_lava.neurons.CubaLIF` with Loihi's reset and comparison and no refractory
period (float and fixed); the other variants loop the definition.
"""

from __future__ import annotations

import functools

import torch

from ldsnn_lava.engine import native
from ldsnn_lava.errors import InvalidOption
from ldsnn_lava.neurons import DECAY_BITS, FIXED_SHIFT, IF, STATE_BITS, CubaLIF, integer_parameter
from ldsnn_lava.options import Comparison, Reset

State = tuple[torch.Tensor, ...]
_STATE_MAX = 1 << (STATE_BITS - 1)
_SUFFIX = {torch.float32: "f32", torch.float64: "f64"}


def _native(currents: torch.Tensor, name: str):
    """The compiled loop ``<name>_<dtype>`` for these currents, or ``None``: CUDA tensors,
    other dtypes, a (T, M) layout the C loop cannot read, or no compiled library."""
    if currents.device.type != "cpu" or currents.dtype not in _SUFFIX:
        return None
    lib = native.library()
    return None if lib is None else getattr(lib, f"{name}_{_SUFFIX[currents.dtype]}")


def _row_stride(currents: torch.Tensor) -> int | None:
    """The row stride of a (T, M) chunk the C loops can read (contiguous rows, or one row
    broadcast over T with stride 0), else ``None``."""
    steps, size = currents.shape
    if size > 1 and currents.stride(1) != 1:
        return None
    if steps == 1:
        return size
    return currents.stride(0) if currents.stride(0) in (0, size) else None


def _address(tensor: torch.Tensor | None) -> int | None:
    return None if tensor is None else tensor.data_ptr()


class NeuronKernel:
    """Runs one neuron population over chunks of steps (see the module docstring)."""

    def start(self, first: torch.Tensor) -> State:
        """The state before the first step, as the definition's ``initial_state`` makes it
        from ``first``, the first step's currents ``(M,)``; flat and contiguous."""
        raise NotImplementedError

    def run(self, currents: torch.Tensor, state: State, out: torch.Tensor,
            counts: torch.Tensor | None) -> None:
        """Advance over ``currents`` ``(T, M)``: ``state`` in place, spikes into ``out``
        ``(T, M)`` (the currents' dtype), and ``counts`` ``(M,)`` int32 += spikes."""
        raise NotImplementedError


class DefinitionLoop(NeuronKernel):
    """Any neuron model: loops its ``step``, the definition itself."""

    def __init__(self, neuron, fixed: bool = False):
        self.neuron, self.fixed = neuron, fixed

    def _current(self, current: torch.Tensor) -> torch.Tensor:
        return current.to(torch.int64) if self.fixed else current

    def start(self, first):
        state = self.neuron.initial_state(self._current(first), fixed=self.fixed)
        return tuple(s.contiguous().clone() for s in state)

    def run(self, currents, state, out, counts) -> None:
        new = tuple(state)
        for t in range(currents.shape[0]):
            new, spikes = self.neuron.step(new, self._current(currents[t]), fixed=self.fixed)
            out[t].copy_(spikes)
        for mine, value in zip(state, new, strict=True):
            mine.copy_(value)
        if counts is not None:
            counts.add_(out.sum(0, dtype=torch.int32))


class IFKernel(NeuronKernel):
    """:class:`~ldsnn_lava.neurons.IF`: ``v += I; s = v >= threshold; v -= s * threshold``."""

    def __init__(self, neuron: IF, fixed: bool = False):
        self.neuron, self.fixed = neuron, fixed
        self.threshold = (integer_parameter("IF threshold", neuron.threshold) if fixed
                          else neuron.threshold)
        if fixed:
            integer_parameter("IF v_init", neuron.initial_v)

    def start(self, first):
        first = first.to(torch.int64) if self.fixed else first
        (v,) = self.neuron.initial_state(first, fixed=self.fixed)
        return (v.contiguous().clone(),)

    def run(self, currents, state, out, counts) -> None:
        (v,) = state
        fn, stride = _native(currents, "if_fixed" if self.fixed else "if"), _row_stride(currents)
        if fn is not None and stride is not None and (self.fixed or v.dtype == currents.dtype):
            fn(currents.data_ptr(), stride, v.data_ptr(), out.data_ptr(), _address(counts),
               *currents.shape, self.threshold)
            return
        if self.fixed:  # v is int64: spikes go through a boolean scratch
            spikes = torch.empty(v.shape, dtype=torch.bool, device=v.device)
            for t in range(currents.shape[0]):
                v.add_(currents[t].to(torch.int64))
                torch.ge(v, self.threshold, out=spikes)
                v.add_(spikes, alpha=-self.threshold)
                out[t].copy_(spikes)
        else:  # v - 1.0 * threshold is exactly v - spikes * threshold
            for t in range(currents.shape[0]):
                v.add_(currents[t])
                torch.ge(v, self.threshold, out=out[t])
                v.sub_(out[t], alpha=self.threshold)
        if counts is not None:
            counts.add_(out.sum(0, dtype=torch.int32))


class CubaLIFKernel(NeuronKernel):
    """:class:`~ldsnn_lava.neurons.CubaLIF` without refractory period, in float and in Loihi
    fixed point."""

    def __init__(self, neuron: CubaLIF, fixed: bool = False):
        self.neuron, self.fixed = neuron, fixed
        if fixed:
            p = neuron.fixed_parameters()
            unity = 1 << DECAY_BITS
            self.keep_u, self.keep_v = unity - p["du"], unity - p["dv"]
            self.bias, self.threshold = p["bias"] << FIXED_SHIFT, p["threshold"] << FIXED_SHIFT
        else:
            self.keep_u, self.keep_v = 1.0 - neuron.current_decay, 1.0 - neuron.voltage_decay
            self.bias, self.threshold = neuron.bias, neuron.threshold

    def start(self, first):
        first = first.to(torch.int64) if self.fixed else first
        u, v = self.neuron.initial_state(first, fixed=self.fixed)
        return (u.contiguous().clone(), v.contiguous().clone())

    def run(self, currents, state, out, counts) -> None:
        u, v = state
        fn = _native(currents, "lif_fixed" if self.fixed else "lif")
        stride = _row_stride(currents)
        if fn is not None and stride is not None and (self.fixed or v.dtype == currents.dtype):
            fn(currents.data_ptr(), stride, u.data_ptr(), v.data_ptr(), out.data_ptr(),
               _address(counts), *currents.shape, self.keep_u, self.keep_v, self.bias,
               self.threshold)
            return
        if self.fixed:
            self._run_fixed(currents, u, v, out)
        else:
            keep = torch.empty_like(v)
            for t in range(currents.shape[0]):
                u.mul_(self.keep_u).add_(currents[t])
                v.mul_(self.keep_v).add_(u).add_(self.bias)
                torch.gt(v, self.threshold, out=out[t])
                torch.le(v, self.threshold, out=keep)  # ~spikes, NaN included
                v.mul_(keep)
        if counts is not None:
            counts.add_(out.sum(0, dtype=torch.int32))

    def _run_fixed(self, currents, u, v, out) -> None:
        mask = torch.empty(u.shape, dtype=torch.bool, device=u.device)
        product = torch.empty_like(u)

        def decay(x, keep):  # x * keep / 4096, truncated toward zero, into ``product``
            torch.mul(x, keep, out=product)
            torch.lt(product, 0, out=mask)
            product.add_(mask, alpha=(1 << DECAY_BITS) - 1)
            return product.bitwise_right_shift_(DECAY_BITS)

        for t in range(currents.shape[0]):
            u.copy_(decay(u, self.keep_u)).add_(currents[t].to(torch.int64),
                                                alpha=1 << FIXED_SHIFT)
            u.add_(torch.gt(u, _STATE_MAX, out=mask), alpha=-2 * _STATE_MAX)
            u.add_(torch.le(u, -_STATE_MAX, out=mask), alpha=2 * _STATE_MAX)
            v.copy_(decay(v, self.keep_v)).add_(u).add_(self.bias)
            v.clamp_(-_STATE_MAX + 1, _STATE_MAX - 1)
            out[t].copy_(torch.gt(v, self.threshold, out=mask))
            v.mul_(mask.logical_not_())


@functools.singledispatch
def neuron_kernel(neuron, fixed: bool = False) -> NeuronKernel:
    """The fastest kernel for ``neuron`` in float or fixed point: registered per neuron type
    (``neuron_kernel.register(MyNeuron, MyKernel)``); any other type loops its definition."""
    return DefinitionLoop(neuron, fixed)


@neuron_kernel.register
def _(neuron: CubaLIF, fixed: bool = False) -> NeuronKernel:
    # Loihi's rule only (hard reset to 0, ``>``, no refractory period: a third state array);
    # the definition runs the other variants
    fused = (not neuron.refractory and neuron.reset == Reset.HARD and neuron.v_reset == 0
             and neuron.compare == Comparison.ABOVE)
    return CubaLIFKernel(neuron, fixed) if fused else DefinitionLoop(neuron, fixed)


@neuron_kernel.register
def _(neuron: IF, fixed: bool = False) -> NeuronKernel:
    # reset by subtraction and ``>=`` only; the definition runs the other variants
    return IFKernel(neuron, fixed) if neuron.is_default_variant else DefinitionLoop(neuron, fixed)


def run_neuron(neuron, currents: torch.Tensor, fixed: bool = False, state: State | None = None,
               kernel: NeuronKernel | None = None) -> tuple[State, torch.Tensor]:
    """Run a population over a window of currents, or over a chunk of it from ``state``.

    Parameters
    ----------
    neuron : IF, CubaLIF or any model with the definition's interface
    currents : torch.Tensor
        ``(T, B, *shape)`` float currents (integer-valued under ``fixed``); may be a broadcast
        view (one current expanded over T).
    fixed : bool
        The fixed-point definition (see :mod:`ldsnn_lava.neurons`).
    state : tuple of torch.Tensor, optional
        The state a previous chunk returned; default: the initial state.
    kernel : NeuronKernel, optional
        Default: ``neuron_kernel(neuron, fixed)``.

    Returns
    -------
    state : tuple of torch.Tensor
        The state after the last step, each ``(B, *shape)``, as ``neuron.step`` leaves it.
    raster : torch.Tensor
        ``(T, B, *shape)`` boolean spikes.
    """
    kernel = kernel or neuron_kernel(neuron, fixed)
    steps, shape = currents.shape[0], currents.shape[1:]
    flat = currents.reshape(steps, -1)
    if _row_stride(flat) is None:
        flat = flat.contiguous()
    flat_state = (kernel.start(flat[0]) if state is None
                  else tuple(s.reshape(-1).clone() for s in state))
    out = torch.empty(flat.shape, dtype=currents.dtype, device=currents.device)
    kernel.run(flat, flat_state, out, None)
    return tuple(s.view(shape) for s in flat_state), out.bool().view(currents.shape)


class RateEmitter:
    """The ``rate`` buffer's emit window, chunk by chunk: ``acc = t_in // 2``, then every step
    ``acc += c; if acc >= t_in: emit 1; acc -= t_in`` (see :mod:`ldsnn_lava.buffers`).

    Parameters
    ----------
    counts : torch.Tensor
        Integer spike counts (any shape, flattened), each in ``[0, t_in]``.
    t_in : int
        The upstream window, ``1 <= t_in < 2**30``.
    dtype : torch.dtype
        Dtype of the emitted 0/1 spikes.
    """

    def __init__(self, counts: torch.Tensor, t_in: int, dtype: torch.dtype):
        if not 1 <= t_in < 1 << 30:
            raise InvalidOption(f"the rate buffer needs 1 <= t_in < 2**30, got t_in={t_in}")
        self.counts = counts.reshape(-1).to(torch.int32).contiguous()
        self.t_in, self.dtype = t_in, dtype
        self.acc = torch.full_like(self.counts, t_in // 2)

    def emit(self, steps: int, counts: torch.Tensor | None = None) -> torch.Tensor:
        """The next ``steps`` steps as ``(steps, M)`` 0/1 spikes; ``counts`` += them."""
        out = torch.empty((steps, self.counts.numel()), dtype=self.dtype,
                          device=self.counts.device)
        fn = _native(out, "rate")
        if fn is not None:
            fn(self.counts.data_ptr(), self.acc.data_ptr(), out.data_ptr(), _address(counts),
               steps, self.counts.numel(), self.t_in)
            return out
        spikes = torch.empty(self.acc.shape, dtype=torch.bool, device=self.acc.device)
        for t in range(steps):
            self.acc.add_(self.counts)
            torch.ge(self.acc, self.t_in, out=spikes)
            self.acc.add_(spikes, alpha=-self.t_in)
            out[t].copy_(spikes)
        if counts is not None:
            counts.add_(out.sum(0, dtype=torch.int32))
        return out


def accumulate_steps(currents: torch.Tensor, total: torch.Tensor) -> None:
    """``total += currents[t]`` for every step t in order (the readout's sums, so they do not
    depend on how a window is cut into chunks): ``currents`` ``(T, M)``, ``total`` ``(M,)``
    float64, in place; one compiled pass on CPU where the loop can read the chunk, else step
    by step in torch. Both add in the same order, so the sums are the same."""
    fn, stride = _native(currents, "accumulate"), _row_stride(currents)
    if (fn is not None and stride is not None and total.dtype == torch.float64
            and total.is_contiguous() and total.device.type == "cpu"):
        fn(currents.data_ptr(), stride, total.data_ptr(), *currents.shape)
        return
    for t in range(currents.shape[0]):
        total += currents[t]


def event_driven_linear(x: torch.Tensor, weight_t: torch.Tensor, bias: torch.Tensor | None,
                        max_density: float) -> torch.Tensor | None:
    """``x @ weight_t + bias`` adding only the rows of ``weight_t`` whose input is non-zero
    (compiled C loop), or ``None`` when more than ``max_density`` of ``x`` is non-zero or the
    loop is not available (CUDA, no compiler).

    The additions run in another order than a dense product's, so use it only where the
    arithmetic is exact (integers with bounded partial sums): there every order gives the
    same result.

    Parameters
    ----------
    x : torch.Tensor
        ``(M, K)`` inputs.
    weight_t : torch.Tensor
        ``(K, N)`` contiguous, same dtype.
    bias : torch.Tensor or None
        ``(N,)``.
    max_density : float
        The largest fraction of non-zero inputs worth it (the measured crossover).
    """
    fn = _native(x, "sparse_dense")
    if fn is None or not x.is_contiguous() or x.dim() != 2:
        return None
    rows, inputs = x.shape
    out = torch.empty((rows, weight_t.shape[1]), dtype=x.dtype, device=x.device)
    done = fn(x.data_ptr(), rows, inputs, weight_t.data_ptr(), weight_t.shape[1], _address(bias),
              out.data_ptr(), int(max_density * rows * inputs))
    return out if done >= 0 else None


def pooled_spikes(x: torch.Tensor, kernel: tuple[int, int], divisor: float,
                  channels_last: bool) -> torch.Tensor | None:
    """Pooling of 0/1 spikes ``x`` ``(N, C, H, W)`` with stride = kernel and no padding, in one
    compiled pass: each window's sum divided by ``divisor`` (1: sum pooling; the area: average
    pooling, dividing as ``avg_pool2d`` does). The result keeps the memory order of ``x``
    (channels-last when ``channels_last``). ``None`` where the loop cannot run (CUDA, no
    compiler, or ``x`` not contiguous in that order).

    The sums are small integers, exact in any order of addition, so the result equals the torch
    ops' for 0/1 input.
    """
    fn = _native(x, "pool")
    layout = torch.channels_last if channels_last else torch.contiguous_format
    if fn is None or x.dim() != 4 or not x.is_contiguous(memory_format=layout):
        return None
    (kh, kw), (n, c, h, w) = kernel, x.shape
    out = torch.empty((n, c, h // kh, w // kw), dtype=x.dtype, device=x.device,
                      memory_format=layout)
    if channels_last:
        fn(x.data_ptr(), out.data_ptr(), n, h, w, c, kh, kw, divisor)
    else:
        fn(x.data_ptr(), out.data_ptr(), n * c, h, w, 1, kh, kw, divisor)
    return out
