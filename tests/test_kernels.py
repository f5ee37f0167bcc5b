"""The fused kernels equal looping the one definition in ldsnn_lava.neurons / buffers, exactly:
spikes and state, bit for bit (signs of zeros included), on both paths (compiled C loops and
torch operations) and when a window is cut into chunks."""

import shutil
from contextlib import contextmanager
from unittest import mock

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ldsnn_testing import cuba_lif_fixed_ref, neurons

from ldsnn_lava import IF, CubaLIF
from ldsnn_lava.buffers import rate_initial_accumulator, rate_raster, rate_step
from ldsnn_lava.engine import kernels, native
from ldsnn_lava.engine.kernels import (
    DefinitionLoop,
    RateEmitter,
    accumulate_steps,
    event_driven_linear,
    neuron_kernel,
    run_neuron,
)
from ldsnn_lava.engine.stages import pool_spikes

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PATHS = ["compiled", "torch"]
HAVE_COMPILER = shutil.which("cc") is not None or shutil.which("gcc") is not None


@contextmanager
def kernel_path(path: str):
    """Run the kernels on one path: ``compiled`` (the C loops) or ``torch`` (what a machine
    without a C compiler runs)."""
    if path == "compiled":
        if native.library() is None:
            pytest.skip("no C compiler: the compiled kernels are not built here")
        yield
    else:
        with mock.patch.object(native, "library", lambda: None):
            yield


def loop_step(neuron, currents, fixed=False):
    currents = currents.to(torch.int64) if fixed else currents
    state = neuron.initial_state(currents[0], fixed=fixed)
    spikes = []
    for t in range(currents.shape[0]):
        state, s = neuron.step(state, currents[t], fixed=fixed)
        spikes.append(s)
    return state, torch.stack(spikes)


def assert_same(got, want):
    (state, raster), (ref_state, ref_raster) = got, want
    assert raster.dtype == torch.bool and torch.equal(raster, ref_raster)
    assert len(state) == len(ref_state)
    for a, b in zip(state, ref_state, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert torch.equal(a, b)
        assert torch.equal(torch.signbit(a), torch.signbit(b))  # even the sign of zeros


def run_in_chunks(neuron, currents, fixed, cuts):
    """run_neuron over pieces of the window, carrying the state between them."""
    state, rasters, start = None, [], 0
    for stop in sorted({c for c in cuts if 0 < c < currents.shape[0]}) + [currents.shape[0]]:
        state, raster = run_neuron(neuron, currents[start:stop], fixed, state=state)
        rasters.append(raster)
        start = stop
    return state, torch.cat(rasters)


@st.composite
def fixed_neurons(draw):
    """Integer IF and CubaLIF parameters, decays in 1/4096 units."""
    if draw(st.booleans()):
        return IF(draw(st.integers(1, 300)), draw(st.integers(-50, 50)))
    return CubaLIF(threshold=draw(st.integers(1, 200)),
                   current_decay=draw(st.integers(0, 4096)) / 4096,
                   voltage_decay=draw(st.integers(0, 4096)) / 4096,
                   bias=draw(st.integers(-20, 20)))


@pytest.mark.parametrize("path", PATHS)
@SETTINGS
@given(neuron=neurons(), steps=st.integers(1, 12),
       shape=st.lists(st.integers(1, 40), min_size=1, max_size=3),
       dtype=st.sampled_from([torch.float32, torch.float64]), expand=st.booleans(),
       seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([0.37, 1.0, 3.1]),
       cuts=st.lists(st.integers(1, 11), max_size=3))
def test_float_kernels_equal_looping_the_definition(path, neuron, steps, shape, dtype, expand,
                                                    seed, scale, cuts):
    generator = torch.Generator().manual_seed(seed)
    if expand:  # direct input: one current repeated every step, as a broadcast view
        one = torch.randn(shape, generator=generator, dtype=torch.float64) * scale
        currents = one.to(dtype).expand(steps, *shape)
    else:
        currents = (torch.randn((steps, *shape), generator=generator, dtype=torch.float64)
                    * scale).to(dtype)
    want = loop_step(neuron, currents)
    with kernel_path(path):
        assert_same(run_neuron(neuron, currents), want)
        assert_same(run_in_chunks(neuron, currents, False, cuts), want)


@pytest.mark.parametrize("path", PATHS)
@SETTINGS
@given(neuron=fixed_neurons(), steps=st.integers(1, 12), size=st.integers(1, 3000),
       dtype=st.sampled_from([torch.float32, torch.float64]), seed=st.integers(0, 2**31 - 1),
       span=st.sampled_from([10, 1000, 200_000]), cuts=st.lists(st.integers(1, 11), max_size=3))
def test_fixed_kernels_equal_looping_the_definition(path, neuron, steps, size, dtype, seed, span,
                                                    cuts):
    """Integer-valued float currents; spans large enough to wrap u and saturate v."""
    generator = torch.Generator().manual_seed(seed)
    currents = torch.randint(-span, span, (steps, size), generator=generator).to(dtype)
    want = loop_step(neuron, currents, fixed=True)
    with kernel_path(path):
        assert_same(run_neuron(neuron, currents, fixed=True), want)
        assert_same(run_in_chunks(neuron, currents, True, cuts), want)


@pytest.mark.parametrize("path", PATHS)
@SETTINGS
@given(threshold=st.integers(0, 2000), du=st.integers(0, 4096), dv=st.integers(0, 4096),
       bias=st.integers(-300, 300), steps=st.integers(1, 15), size=st.integers(1, 6),
       seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([100, 10_000, 200_000]))
def test_fixed_cuba_lif_equals_lavas_bit_accurate_rule(path, threshold, du, dv, bias, steps, size,
                                                       seed, scale):
    """The fixed-point CubaLIF kernel against an independent scalar transcription of Lava's
    bit-accurate LIF; large currents exercise u's wrap-around and v's saturation."""
    currents = torch.randint(-scale, scale, (steps, size),
                             generator=torch.Generator().manual_seed(seed))
    neuron = CubaLIF(threshold=threshold, current_decay=du / 4096, voltage_decay=dv / 4096,
                     bias=bias)
    with kernel_path(path):
        (u, v), raster = run_neuron(neuron, currents.to(torch.float64), fixed=True)
    for n in range(size):
        spikes, u_ref, v_ref = cuba_lif_fixed_ref(threshold, du, dv, bias,
                                                  currents[:, n].tolist())
        assert raster[:, n].tolist() == spikes
        assert (int(u[n]), int(v[n])) == (u_ref, v_ref)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("threshold", [0.1, 1 / 3, 0.7])
def test_if_threshold_not_representable_in_float32(path, threshold):
    """float64 state is reset by the float64 threshold, not a float32-rounded one."""
    currents = torch.full((40, 3), threshold, dtype=torch.float64)
    neuron = IF(threshold)
    with kernel_path(path):
        assert_same(run_neuron(neuron, currents), loop_step(neuron, currents))


def test_a_neuron_without_a_kernel_loops_its_definition():
    """Dispatch is per neuron type: an unregistered model runs its own ``step``."""

    class Doubling(IF):  # a subclass is a different model: v += 2 I
        def step(self, state, current, fixed=False):
            return super().step(state, 2 * current, fixed)

    neuron = Doubling(1.0)
    assert isinstance(neuron_kernel(neuron), kernels.IFKernel)  # singledispatch follows the MRO
    currents = torch.randn((7, 5), generator=torch.Generator().manual_seed(0))
    loop = DefinitionLoop(neuron, False)
    assert_same(run_neuron(neuron, currents, kernel=loop), loop_step(neuron, currents))
    assert not torch.equal(run_neuron(neuron, currents)[1], loop_step(neuron, currents)[1])


@pytest.mark.parametrize("path", PATHS)
@SETTINGS
@given(t_in=st.integers(1, 40), t_out=st.integers(1, 40),
       shape=st.lists(st.integers(1, 50), min_size=0, max_size=3),
       seed=st.integers(0, 2**31 - 1), cut=st.integers(0, 40))
def test_rate_emitter_equals_the_closed_form_and_the_step_rule(path, t_in, t_out, shape, seed,
                                                               cut):
    counts = torch.randint(0, t_in + 1, shape, generator=torch.Generator().manual_seed(seed))
    want = rate_raster(counts, t_in, t_out)
    acc = rate_initial_accumulator(counts, t_in)
    for t in range(t_out):
        acc, spikes = rate_step(acc, counts, t_in)
        assert torch.equal(want[t], spikes)
    cut = min(cut, t_out)
    with kernel_path(path):
        emitter = RateEmitter(counts, t_in, torch.float32)
        emitted = torch.zeros(counts.numel(), dtype=torch.int32)
        parts = [emitter.emit(steps, emitted) for steps in (cut, t_out - cut) if steps]
    got = torch.cat(parts).view(t_out, *shape)
    assert got.dtype == torch.float32 and torch.equal(got.bool(), want)
    assert torch.equal(emitted.view(shape).long(), want.sum(0))


def test_rate_emitter_rejects_a_bad_window():
    with pytest.raises(ValueError, match="t_in"):
        RateEmitter(torch.zeros(3, dtype=torch.int64), 0, torch.float32)


@pytest.mark.skipif(not HAVE_COMPILER, reason="no C compiler")
def test_the_compiled_library_is_built_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    compiler = shutil.which("cc") or shutil.which("gcc")
    first = native._build(compiler)
    assert first.parent == tmp_path / "ldsnn-lava" and first.exists()
    stamp = first.stat().st_mtime_ns
    assert native._build(compiler) == first and first.stat().st_mtime_ns == stamp
    assert list(first.parent.iterdir()) == [first]  # no temporary files left behind


@SETTINGS
@given(rows=st.integers(1, 40), inputs=st.integers(1, 300), outputs=st.integers(1, 600),
       density=st.floats(0, 1), bias=st.booleans(), dtype=st.sampled_from([torch.float32,
                                                                              torch.float64]),
       seed=st.integers(0, 2**31 - 1))
def test_event_driven_linear_equals_the_dense_product_on_integers(rows, inputs, outputs, density,
                                                                  bias, dtype, seed):
    """Integer inputs (spikes and pooled counts) and weights: every order of additions is
    exact, so skipping the zero inputs gives the dense product exactly."""
    if native.library() is None:
        pytest.skip("no C compiler: the compiled kernels are not built here")
    generator = torch.Generator().manual_seed(seed)
    x = torch.randint(1, 4, (rows, inputs), generator=generator).to(dtype)
    x *= torch.rand((rows, inputs), generator=generator) < density
    weight = torch.randint(-128, 128, (outputs, inputs), generator=generator).to(dtype)
    b = torch.randint(-1000, 1000, (outputs,), generator=generator).to(dtype) if bias else None
    got = event_driven_linear(x, weight.t().contiguous(), b, 1.0)
    assert torch.equal(got, torch.nn.functional.linear(x, weight, b))
    nonzero = int((x != 0).sum())  # the density bound is on the non-zero inputs
    assert event_driven_linear(x, weight.t().contiguous(), b,
                               (nonzero + 0.5) / x.numel()) is not None
    if nonzero:
        assert event_driven_linear(x, weight.t().contiguous(), b,
                                   (nonzero - 0.5) / x.numel()) is None


@SETTINGS
@given(path=st.sampled_from(PATHS), batch=st.integers(1, 6), channels=st.integers(1, 20),
       height=st.integers(1, 13), width=st.integers(1, 13), kh=st.integers(1, 4),
       kw=st.integers(1, 4), average=st.booleans(), channels_last=st.booleans(),
       dtype=st.sampled_from([torch.float32, torch.float64]), seed=st.integers(0, 2**31 - 1))
def test_pooling_spikes_equals_torch_pooling(path, batch, channels, height, width, kh, kw,
                                             average, channels_last, dtype, seed):
    """The pooling of 0/1 spikes (stride = kernel, whole windows only) equals ``avg_pool2d``
    (or its sum for a sum pool) exactly, in the input's memory order, on both paths."""
    kh, kw = min(kh, height), min(kw, width)
    generator = torch.Generator().manual_seed(seed)
    x = (torch.rand((batch, channels, height, width), generator=generator) < 0.4).to(dtype)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    x = x.contiguous(memory_format=layout)
    want = torch.nn.functional.avg_pool2d(x, (kh, kw))
    if not average:
        want = want * (kh * kw)
    with kernel_path(path):
        got = pool_spikes(x, (kh, kw), kh * kw if average else 1, channels_last)
    assert got.dtype == dtype and torch.equal(got, want)
    assert got.is_contiguous(memory_format=layout)


@SETTINGS
@given(path=st.sampled_from(PATHS), steps=st.integers(1, 12), size=st.integers(1, 300),
       broadcast=st.booleans(), dtype=st.sampled_from([torch.float32, torch.float64]),
       seed=st.integers(0, 2**31 - 1))
def test_accumulating_steps_adds_them_in_step_order(path, steps, size, broadcast, dtype, seed):
    """The readout's sums equal adding the steps one after another in float64, bit for bit,
    on both paths, also for a chunk broadcast over its steps."""
    generator = torch.Generator().manual_seed(seed)
    values = torch.randn((1 if broadcast else steps, size), generator=generator, dtype=dtype)
    currents = values.expand(steps, size) if broadcast else values * 1e6 ** torch.rand(
        (steps, 1), generator=generator, dtype=dtype)  # magnitudes that make the order matter
    start = torch.randn(size, generator=generator, dtype=torch.float64)
    want = start.clone()
    for t in range(steps):
        want += currents[t]
    got = start.clone()
    with kernel_path(path):
        accumulate_steps(currents, got)
    assert torch.equal(got, want)
