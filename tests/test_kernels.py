"""The fused neuron kernels equal looping the one definition in ldsnn_lava.neurons, exactly."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ldsnn_testing import cuba_lif_fixed_ref, neurons

from ldsnn_lava import IF, CubaLIF
from ldsnn_lava.buffers import rate_initial_accumulator, rate_raster, rate_step
from ldsnn_lava.engine.kernels import rate_emit, run_neuron, spike_counts

SETTINGS = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def loop_step(neuron, currents, fixed=False):
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


@SETTINGS
@given(neuron=neurons(), steps=st.integers(1, 12), shape=st.lists(st.integers(1, 5), min_size=1,
       max_size=3), dtype=st.sampled_from([torch.float32, torch.float64]),
       block=st.sampled_from([1, 3, 7, 1 << 15]), expand=st.booleans(),
       seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([0.37, 1.0, 3.1]))
def test_float_kernels_equal_looping_the_definition(neuron, steps, shape, dtype, block, expand,
                                                    seed, scale):
    generator = torch.Generator().manual_seed(seed)
    if expand:  # direct input: one current repeated every step, as a broadcast view
        one = torch.randn(shape, generator=generator, dtype=torch.float64) * scale
        currents = one.to(dtype).expand(steps, *shape)
    else:
        currents = (torch.randn((steps, *shape), generator=generator, dtype=torch.float64)
                    * scale).to(dtype)
    assert_same(run_neuron(neuron, currents, block=block), loop_step(neuron, currents))


@pytest.mark.parametrize("threshold", [0.1, 1 / 3, 0.7])
def test_if_threshold_not_representable_in_float32(threshold):
    """float64 state is reset by the float64 threshold, not a float32-rounded one."""
    currents = torch.full((40, 3), threshold, dtype=torch.float64)
    neuron = IF(threshold)
    assert_same(run_neuron(neuron, currents, block=2), loop_step(neuron, currents))


@SETTINGS
@given(threshold=st.integers(1, 9), v_init=st.integers(-4, 4), steps=st.integers(1, 12),
       seed=st.integers(0, 2**31 - 1), block=st.sampled_from([2, 1 << 15]))
def test_fixed_if_kernel_equals_looping_the_definition(threshold, v_init, steps, seed, block):
    generator = torch.Generator().manual_seed(seed)
    currents = torch.randint(-6, 10, (steps, 4, 3), generator=generator)
    neuron = IF(threshold, v_init)
    assert_same(run_neuron(neuron, currents, fixed=True, block=block),
                loop_step(neuron, currents, fixed=True))


@SETTINGS
@given(threshold=st.integers(0, 2000), du=st.integers(0, 4096), dv=st.integers(0, 4096),
       bias=st.integers(-300, 300), steps=st.integers(1, 15), size=st.integers(1, 6),
       seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([100, 10_000, 200_000]))
def test_fixed_cuba_lif_equals_lavas_bit_accurate_rule(threshold, du, dv, bias, steps, size,
                                                       seed, scale):
    """The fixed-point CubaLIF (fused or not) against an independent scalar transcription of
    Lava's bit-accurate LIF; large currents exercise u's wrap-around and v's saturation."""
    currents = torch.randint(-scale, scale, (steps, size),
                             generator=torch.Generator().manual_seed(seed))
    neuron = CubaLIF(threshold=threshold, current_decay=du / 4096, voltage_decay=dv / 4096,
                     bias=bias)
    (u, v), raster = run_neuron(neuron, currents, fixed=True)
    for n in range(size):
        spikes, u_ref, v_ref = cuba_lif_fixed_ref(threshold, du, dv, bias,
                                                  currents[:, n].tolist())
        assert raster[:, n].tolist() == spikes
        assert (int(u[n]), int(v[n])) == (u_ref, v_ref)


def test_rejects_bad_block():
    with pytest.raises(ValueError, match="block"):
        run_neuron(IF(), torch.zeros(2, 3), block=0)


@SETTINGS
@given(t_in=st.integers(1, 40), t_out=st.integers(1, 40),
       shape=st.lists(st.integers(1, 5), min_size=0, max_size=3),
       seed=st.integers(0, 2**31 - 1), block=st.sampled_from([1, 4, 1 << 15]))
def test_rate_emit_equals_the_closed_form_and_the_step_rule(t_in, t_out, shape, seed, block):
    counts = torch.randint(0, t_in + 1, shape, generator=torch.Generator().manual_seed(seed))
    got = rate_emit(counts, t_in, t_out, block=block)
    assert got.dtype == torch.bool and torch.equal(got, rate_raster(counts, t_in, t_out))
    acc = rate_initial_accumulator(counts, t_in)
    for t in range(t_out):
        acc, spikes = rate_step(acc, counts, t_in)
        assert torch.equal(got[t], spikes)


@pytest.mark.parametrize("steps", [1, 7, 255, 256, 300])
def test_spike_counts_equal_sum(steps):
    raster = torch.rand((steps, 3, 4), generator=torch.Generator().manual_seed(steps)) < 0.9
    counts = spike_counts(raster)
    assert torch.equal(counts.to(torch.int64), raster.sum(0))
    assert counts.dtype == (torch.uint8 if steps <= 255 else torch.int32)


def test_spike_counts_and_rate_emit_reject_bad_arguments():
    with pytest.raises(ValueError, match="boolean"):
        spike_counts(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="t_in"):
        rate_emit(torch.zeros(3, dtype=torch.int64), 0, 4)
