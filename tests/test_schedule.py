"""Schedule validation and JSON round trip."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldsnn_lava import IF, Dense, Network, Schedule, Stage


@st.composite
def any_schedule(draw):
    steps = draw(st.lists(st.integers(1, 200), min_size=1, max_size=8))
    buffers = [draw(st.sampled_from(["rate", "replay"])) if a == b else "rate"
               for a, b in zip(steps, steps[1:], strict=False)]
    chunk = draw(st.none() | st.integers(1, 400))
    return Schedule(steps, buffers, draw(st.sampled_from(["sequential", "pipelined"])), chunk)


@given(any_schedule())
def test_json_round_trip(schedule):
    assert Schedule.from_json(schedule.to_json()) == schedule


def test_save_load_checks_the_network(tmp_path):
    net = Network((2,), [Stage([Dense(np.eye(2))], IF()), Stage([Dense(np.eye(2))], None)])
    path = tmp_path / "s.json"
    Schedule([5, 3], "rate").save(path)
    assert Schedule.load(path, net) == Schedule([5, 3], ["rate"])
    Schedule([5, 3, 1]).save(path)
    with pytest.raises(ValueError, match="schedule has 3 stages but the network has 2"):
        Schedule.load(path, net)


def test_uniform_is_the_given_snn():
    schedule = Schedule.uniform(4, 16)
    assert schedule.timesteps == (16,) * 4 and schedule.buffers == ("replay",) * 3
    assert schedule.is_uniform and schedule.period == 64
    assert Schedule.uniform(4, 16, mode="pipelined").period == 16
    assert not Schedule([16] * 4, "rate").is_uniform


def test_with_timestep_turns_unequal_replay_gaps_to_rate():
    schedule = Schedule.uniform(3, 8).with_timestep(1, 4)
    assert schedule.timesteps == (8, 4, 8) and schedule.buffers == ("rate", "rate")


@pytest.mark.parametrize("args, match", [
    (([],), "at least one stage"),
    (([4, 0],), "stage 1: timesteps must be an int >= 1"),
    (([4, -2],), "stage 1: timesteps must be an int >= 1"),
    (([4, 2.5],), "stage 1: timesteps must be an int >= 1"),
    (([True, 2],), "stage 0: timesteps must be an int >= 1"),
    ((4,), "timesteps must be a sequence"),
    (([4, 2], "replay"), "buffer 0: 'replay' needs equal timesteps"),
    (([4, 4], ["rate", "rate"]), "2 stages have 1 buffers, got 2"),
    (([4, 4], "hold"), "buffer 0 must be one of"),
    (([4, 4], "rate", "parallel"), "mode must be one of"),
    (([4, 4], "rate", "sequential", 0), "chunk must be an int >= 1"),
    (([4, 4], "rate", "sequential", 2.0), "chunk must be an int >= 1"),
])
def test_invalid_schedules_name_the_problem(args, match):
    with pytest.raises(ValueError, match=match):
        Schedule(*args)


@pytest.mark.parametrize("text, match", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not an ldsnn schedule"),
    (json.dumps({"format": "ldsnn-schedule", "version": 99}), "unsupported schedule version"),
    (json.dumps({"format": "ldsnn-schedule", "version": 1, "timesteps": [2]}),
     "missing fields"),
    (json.dumps({"format": "ldsnn-schedule", "version": 1, "timesteps": [2, 0],
                 "buffers": ["rate"], "mode": "sequential"}), "timesteps must be an int >= 1"),
])
def test_malformed_json_is_a_clear_error(text, match):
    with pytest.raises(ValueError, match=match):
        Schedule.from_json(text)


def test_sequence_networks_need_a_chunk_and_static_ones_refuse_it():
    static = Network((2,), [Stage([Dense(np.eye(2))], IF()), Stage([Dense(np.eye(2))], None)])
    events = Network((2,), static.stages, input_encoding="events")
    assert Schedule.uniform(events, 8).chunk == 8
    assert Schedule.uniform(events, 4, chunk=8).chunk == 8
    assert Schedule.uniform(static, 4).chunk is None
    Schedule([4, 2], chunk=8).check(events)
    with pytest.raises(ValueError, match="takes events sequences, so the schedule needs a chunk"):
        Schedule([4, 2]).check(events)
    with pytest.raises(ValueError, match="chunk=8 applies to sequence input only"):
        Schedule([4, 2], chunk=8).check(static)
    assert Schedule([4, 2], chunk=8).with_timestep(0, 3).chunk == 8
    assert str(Schedule([4, 2], chunk=8)) == "[4 -r- 2] (sequential, chunk 8)"
