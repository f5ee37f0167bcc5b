"""How times are measured (ldsnn_lava.timing) and how long runs report progress
(ldsnn_lava.progress). Nothing here asserts a speed: only the method."""

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldsnn_lava.errors import InvalidOption
from ldsnn_lava.progress import Progress
from ldsnn_lava.timing import Timing, interleaved


def test_warm_up_then_interleaved_rounds_in_rotating_order():
    calls = []
    tasks = {name: (lambda n=name: calls.append(n)) for name in "abc"}
    timings, setup = interleaved(tasks, 3, what="schedule")
    assert calls[:3] == ["a", "b", "c"]  # the untimed warm-up
    assert calls[3:] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert all(len(t.seconds) == 3 for t in timings.values())
    assert (setup.repeats, setup.tasks, setup.what) == (3, 3, "schedule")
    text = setup.describe()
    assert "median of 3 timed runs per schedule" in text and "thread(s)" in text
    calls.clear()
    interleaved(tasks, 1, warm_up=False)
    assert calls == ["a", "b", "c"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(1e-3, 10.0), min_size=1, max_size=9),
       st.lists(st.floats(1e-3, 10.0), min_size=1, max_size=9))
def test_ratio_of_medians_lies_in_the_spread(a, b):
    ta, tb = Timing(tuple(a)), Timing(tuple(b))
    ratio = ta.ratio_to(tb)
    assert ratio.value == pytest.approx(ta.median / tb.median)
    assert ratio.low <= ratio.value * (1 + 1e-12) and ratio.value <= ratio.high * (1 + 1e-12)
    # every ratio of two measured times lies in the spread
    assert all(ratio.low <= x / y * (1 + 1e-12) and x / y <= ratio.high * (1 + 1e-12)
               for x in a for y in b)


def test_timing_strings_and_errors():
    t = Timing((0.2, 0.1, 0.4))
    assert (t.median, t.min, t.max) == (0.2, 0.1, 0.4)
    assert str(t) == "0.200 [0.100-0.400]"
    assert str(t.ratio_to(Timing((0.1,)))) == "2.00x [1.00-4.00]"
    with pytest.raises(InvalidOption, match="repeats must be an int >= 1"):
        interleaved({"a": lambda: None}, 0)
    with pytest.raises(InvalidOption, match="no tasks"):
        interleaved({}, 2)


def test_progress_writes_lines_off_a_terminal():
    stream = io.StringIO()  # not a terminal
    with Progress("optimize", "schedules", enabled=True, interval=0.0, stream=stream,
                  detail=lambda: "work 1.0") as progress:
        progress.update(2)
        progress.update(3)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("optimize: 2 schedules, work 1.0, ")
    assert lines[1].startswith("optimize: 5 schedules") and len(lines) == 2  # no repeat
    quiet = io.StringIO()
    with Progress("optimize", "schedules", enabled=None, stream=quiet) as progress:
        progress.update()
    assert quiet.getvalue() == ""  # the library's default: only a bar on a terminal
    failed = io.StringIO()
    with pytest.raises(RuntimeError), Progress("x", "steps", enabled=True, stream=failed):
        raise RuntimeError
    assert "(done)" not in failed.getvalue()
