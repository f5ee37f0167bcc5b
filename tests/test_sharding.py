"""Sharded evaluation (the executors' shared mechanism) without Ray: a split cut into any number
of shards gives bit for bit the single-process results, and the search charged against the
coordinator's prefix index is the single-process search."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ldsnn_optimize_nets import digits_snn, digits_splits
from ldsnn_testing import inputs, networks

from ldsnn_lava import evaluate
from ldsnn_lava.errors import InvalidInput, InvalidOption
from ldsnn_lava.optimize import optimize
from ldsnn_lava.optimize.cache import PrefixCache, PrefixIndex, ld_schedule
from ldsnn_lava.optimize.executor import InProcessExecutor, ThreadExecutor
from ldsnn_lava.optimize.ray_executor import make_executor
from ldsnn_lava.optimize.shards import shard_bounds, totals_of
from ldsnn_lava.optimize.uniform import uniform_sweep
from ldsnn_lava.options import BufferKind


@given(st.integers(1, 60), st.integers(1, 60))
def test_shard_bounds_cover_the_split_in_order(samples, shards):
    if shards > samples:
        with pytest.raises(InvalidInput, match="at most"):
            shard_bounds(samples, shards)
        return
    bounds = shard_bounds(samples, shards)
    assert len(bounds) == shards and bounds[0][0] == 0 and bounds[-1][1] == samples
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))
    sizes = [b - a for a, b in bounds]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1


_KINDS = st.sampled_from([BufferKind.RATE, BufferKind.GRADED])


def _assert_same(ev, accuracy, counters):
    assert ev.accuracy == accuracy
    for name, values in counters.per_stage.items():
        np.testing.assert_array_equal(ev.counters.per_stage[name], values, err_msg=name)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_sharding_equals_the_engine_bit_for_bit(data):
    """Random networks, inputs, shard counts and schedule sequences (rate and graded gaps):
    every evaluation of the sharded split equals the engine's on the whole split (accuracy
    and counters exactly), and the coordinator's charges equal those of one prefix cache over
    the whole split."""
    net = data.draw(networks())
    x = data.draw(inputs(net, max_n=9))
    y = np.arange(len(x)) % net.num_classes
    shards = data.draw(st.integers(1, len(x)))
    batch = data.draw(st.integers(1, 4))
    split = InProcessExecutor(shards).open_split(net, x, y, batch_size=batch)
    single = PrefixCache(net, x, y, batch_size=batch)
    for _ in range(data.draw(st.integers(1, 4))):
        steps = tuple(data.draw(st.integers(1, 7)) for _ in net.stages)
        buffers = tuple(data.draw(_KINDS) for _ in net.stages[1:])
        assert split.first_stage_to_run(steps, buffers) == single.first_stage_to_run(steps,
                                                                                     buffers)
        ref = evaluate(net, ld_schedule(steps, buffers=buffers), x, batch_size=batch,
                       record_spikes=False)
        _assert_same(split.evaluate(steps, buffers), ref.accuracy(y), ref.counters)
        single.evaluate(steps, buffers)
    np.testing.assert_array_equal(split.stage_runs, single.stage_runs)
    max_T = data.draw(st.integers(1, 6))
    for a, b in zip(split.uniform_sweep(max_T), uniform_sweep(net, x, y, max_T,
                                                               batch_size=batch), strict=True):
        assert a.schedule == b.schedule
        _assert_same(a, b.accuracy, b.counters)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.tuples(*[st.integers(1, 6)] * 3), st.tuples(_KINDS, _KINDS)),
                min_size=1, max_size=15),
       st.integers(0, 6))
def test_prefix_index_books_what_the_cache_keeps(schedules, room):
    """An index fed only schedules (timesteps and buffer kinds) answers as the cache that
    holds the data, also when the byte bound evicts prefixes (room: how many 32-neuron
    prefixes of 40 samples fit)."""
    net = digits_snn((32, 16), 0)
    x, y = (a[:40] for a in digits_splits()[2:4])
    max_bytes = room * 40 * 32 + 1
    cache = PrefixCache(net, x, y, batch_size=16, max_bytes=max_bytes)
    index = PrefixIndex(net, 40, max_bytes)
    seen = set()
    for steps, buffers in schedules:
        schedule = ld_schedule(steps, buffers=buffers)
        fresh = (steps, buffers) not in seen
        expected = index.first_stage_to_run(schedule) if fresh else net.num_stages
        assert cache.first_stage_to_run(steps, buffers) == expected
        cache.evaluate(steps, buffers)
        if fresh:
            index.record(schedule)
            seen.add((steps, buffers))
    np.testing.assert_array_equal(cache.stage_runs, index.stage_runs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_evaluating_many_at_once_is_evaluating_them_one_by_one(data):
    """Random networks (direct and rate input, dense and conv, any neurons) and lists of
    schedules that share prefixes and differ in one stage's window, with rate and graded gaps:
    ``evaluate_many`` runs a stage once over the widest window a list needs, and a cache may
    keep more than its charges assume, yet every evaluation and the runs charged are those of
    one-by-one evaluation with the charged cache."""
    net = data.draw(networks())
    x = data.draw(inputs(net, max_n=7))
    y = np.arange(len(x)) % net.num_classes
    stages = net.num_stages
    base = tuple(data.draw(st.integers(1, 7)) for _ in range(stages))
    schedules = []
    for _ in range(data.draw(st.integers(1, 10))):
        steps = list(base)
        for k in data.draw(st.lists(st.integers(0, stages - 1), max_size=2)):
            steps[k] = data.draw(st.integers(1, 9))
        schedules.append((tuple(steps), tuple(data.draw(_KINDS) for _ in range(stages - 1))))
    batch = data.draw(st.integers(1, 4))
    room = data.draw(st.sampled_from([0.0, 200.0, 512e6]))  # bytes kept: none, few, all
    keep = data.draw(st.sampled_from([None, 512e6]))  # keeping more than the charges assume
    many = PrefixCache(net, x, y, batch_size=batch, max_bytes=room, keep_bytes=keep)
    one = PrefixCache(net, x, y, batch_size=batch, max_bytes=room)
    if data.draw(st.booleans()):  # the list then starts from kept prefixes
        many.evaluate(base)
        one.evaluate(base)
    together = many.evaluate_many(schedules)
    for (steps, buffers), ev in zip(schedules, together, strict=True):
        alone = one.evaluate(steps, buffers)
        _assert_same(ev, alone.accuracy, alone.counters)
        ref = evaluate(net, ld_schedule(steps, buffers=buffers), x, record_spikes=False)
        _assert_same(ev, ref.accuracy(y), ref.counters)
    np.testing.assert_array_equal(many.stage_runs, one.stage_runs)
    assert np.all(many.runs_done <= many.stage_runs)
    event("a stage run served several windows" if np.any(many.runs_done < many.stage_runs)
          else "no stage run shared")
    for steps, buffers in schedules:
        assert many.first_stage_to_run(steps, buffers) == one.first_stage_to_run(steps, buffers)


def test_a_stage_needed_over_several_windows_runs_once_over_the_widest():
    """The search's down moves of one stage (T -> T - 1, 3T/4, T/2) from a kept prefix: the
    stage runs once, over T - 1; the stages after it once per move."""
    net, (x, y) = digits_snn((32, 16), 0), [a[:60] for a in digits_splits()[2:4]]
    cache = PrefixCache(net, x, y)
    cache.evaluate((8, 8, 8))
    moves = [((8, 4, 8), None), ((8, 6, 8), None), ((8, 7, 8), None)]
    cache.evaluate_many(moves)
    np.testing.assert_array_equal(cache.stage_runs, [1, 4, 4])  # as one by one
    np.testing.assert_array_equal(cache.runs_done, [1, 2, 4])
    single = PrefixCache(net, x, y)
    for steps, _ in moves:
        alone = single.evaluate(steps)
        _assert_same(cache.evaluate(steps), alone.accuracy, alone.counters)


def test_a_split_books_many_schedules_as_one_by_one():
    """``ShardedSplit.evaluate_many`` asks ``admit`` with the first stage each schedule would
    be charged for after those before it, as evaluating them one at a time does, reports each
    schedule done during the call (shard threads), and leaves out the schedules after the
    first that ``admit`` refuses."""
    net, (x, y) = digits_snn((32, 16), 0), [a[:40] for a in digits_splits()[2:4]]
    schedules = [((6, 6, 6), None), ((6, 3, 6), None), ((6, 6, 6), None), ((3, 6, 6), None),
                 ((3, 6, 2), None), ((6, 3, 2), None)]
    alone = InProcessExecutor().open_split(net, x, y, max_bytes=3000)
    firsts = []
    for steps, buffers in schedules:
        firsts.append(alone.first_stage_to_run(steps, buffers))
        alone.evaluate(steps, buffers)
    asked, done = [], []
    with ThreadExecutor(2) as executor:
        split = executor.open_split(net, x, y, max_bytes=3000)
        together = split.evaluate_many(schedules, progress=lambda: done.append(1),
                                       admit=lambda s, first: asked.append(first) or True)
    assert asked == [f for f in firsts if f < net.num_stages]  # the repeat is not asked for
    assert len(done) == len(asked)  # each reported as the first shard finished it
    np.testing.assert_array_equal(split.stage_runs, alone.stage_runs)
    for (steps, buffers), ev in zip(schedules, together, strict=True):
        one = alone.evaluate(steps, buffers)
        _assert_same(ev, one.accuracy, one.counters)
    fresh = InProcessExecutor().open_split(net, x, y)
    partly = fresh.evaluate_many(schedules, admit=lambda s, first: s.timesteps[0] == 6)
    assert [ev is not None for ev in partly] == [True, True, True, False, False, False]
    assert len(fresh) == 2


def test_sharded_search_is_the_single_process_search():
    """optimize() with the split in shards: the same result in every field (schedule, history,
    visited points with accuracy, cost and counters, work charged, stage runs) but time."""
    net, val = digits_snn((32, 16), 0), tuple(a[:250] for a in digits_splits()[2:4])
    kwargs = dict(base_T=8, val=val, max_drop=2.0, restarts=1, progress=False)
    one = optimize(net, **kwargs)
    many = optimize(net, executor=InProcessExecutor(7), **kwargs)
    assert one.history and one.work > 1
    a, b = one.to_dict(), many.to_dict()
    a.pop("seconds"), b.pop("seconds")
    assert a == b


@pytest.mark.parametrize(("threads", "kinds"), [(2, ("rate",)), (3, ("rate", "graded"))])
def test_search_on_shard_threads_is_the_single_process_search(threads, kinds):
    """Shards evaluated at once on threads: the same result in every field but time; torch's
    thread count is one while the split is open and restored after."""
    net, val = digits_snn((32, 16), 0), tuple(a[:250] for a in digits_splits()[2:4])
    kwargs = dict(base_T=8, val=val, max_drop=2.0, restarts=1, progress=False,
                  buffer_kinds=kinds)
    one = optimize(net, **kwargs)
    before = torch.get_num_threads()
    seen = []
    with ThreadExecutor(threads) as executor:
        split = executor.open_split(net, *val)
        seen.append(torch.get_num_threads())
        split.close()
        many = optimize(net, executor=executor, **kwargs)
    assert seen == [1] and torch.get_num_threads() == before
    a, b = one.to_dict(), many.to_dict()
    a.pop("seconds"), b.pop("seconds")
    assert a == b


def test_shard_threads_refuse_bad_counts_and_ray_options():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InvalidOption, match="threads must be an integer >= 1"):
            ThreadExecutor(bad)
    with pytest.raises(InvalidOption, match="without Ray workers"):
        make_executor(2, threads=2)
    assert isinstance(make_executor(threads=2), ThreadExecutor)


def test_totals_must_be_counts():
    assert totals_of(0.5, np.array([3.0, 1.5]), 2).correct == 1
    with pytest.raises(InvalidInput, match="not an integer count"):
        totals_of(0.5, np.array([0.3]), 2)
    with pytest.raises(InvalidOption, match="shards must be >= 1"):
        InProcessExecutor(0)
    net = digits_snn((32, 16), 0)
    with pytest.raises(InvalidInput, match="labels must have shape"):
        InProcessExecutor().open_split(net, torch.zeros(3, 64), [0, 1])


def test_the_default_never_imports_ray(tmp_path):
    """In process is the default and needs no Ray; asking for Ray where it is missing is a
    one-line error naming the install."""
    script = textwrap.dedent("""
        import sys
        sys.modules["ray"] = None  # any `import ray` now raises ImportError
        from ldsnn_lava.cli import main
        from ldsnn_lava.errors import BackendUnavailable
        from ldsnn_lava.optimize import RayExecutor
        try:
            RayExecutor(2)
        except BackendUnavailable as err:
            assert "ldsnn-lava[ray]" in str(err), err
        else:
            raise AssertionError("no error")
        out = sys.argv[1]
        assert main(["optimize", "mlp_digits", "--limit", "60", "--restarts", "0",
                     "--out", out]) == 0
        assert main(["optimize", "mlp_digits", "--limit", "60", "--workers", "2",
                     "--out", out]) == 2
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "s.json")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "ldsnn optimize: error: Ray is not installed here" in proc.stderr
