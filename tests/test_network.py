"""Network construction checks and saving."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ldsnn_testing import inputs, networks

from ldsnn_lava import (
    IF,
    AvgPool2d,
    Conv2d,
    CubaLIF,
    Dense,
    Flatten,
    Network,
    Schedule,
    Stage,
    evaluate,
)


def readout(n_in=4, n_out=2):
    return Stage([Dense(np.ones((n_out, n_in)))], None)


def test_shapes_are_inferred():
    net = Network((1, 6, 6), [
        Stage([Conv2d(np.ones((3, 1, 3, 3)), padding=1, stride=2)], IF()),
        Stage([AvgPool2d(3), Flatten(), Dense(np.ones((5, 3)))], CubaLIF(1.0, 0.5, 0.5)),
        readout(5, 2),
    ])
    assert net.output_shape_of(0) == (3, 3, 3)
    assert net.input_shape_of(1) == (3, 3, 3) and net.output_shape_of(1) == (5,)
    assert net.num_neurons == [27, 5, 2] and net.num_classes == 2


@pytest.mark.parametrize("build, match", [
    (lambda: Network((4,), []), "at least one stage"),
    (lambda: Network((4,), [Stage([Dense(np.ones((3, 5)))], IF()), readout(3)]),
     r"stage 0: Dense with weight \(3, 5\) expects input shape \(5,\), got \(4,\)"),
    (lambda: Network((4,), [Stage([Dense(np.ones((3, 4)))], IF()), readout(4)]),
     r"stage 1: Dense with weight \(2, 4\) expects input shape \(4,\), got \(3,\)"),
    (lambda: Network((4,), [readout(4, 4), readout(4)]),
     "stage 0: the readout .* must be the last"),
    (lambda: Network((4,), [Stage([Dense(np.ones((4, 4)))], IF())]),
     "stage 0: the last stage must be a readout"),
    (lambda: Network((4,), [Stage([Flatten()], IF()), readout(4)]),
     "stage 0: needs at least one synaptic op"),
    (lambda: Network((1, 2, 2), [Stage([Conv2d(np.ones((1, 1, 3, 3)))], IF()), readout(4)]),
     "stage 0: Conv2d kernel"),
    (lambda: Network((4,), [readout()], input_encoding="poisson"), "input_encoding must be"),
])
def test_malformed_networks_name_the_stage(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize("make, match", [
    (lambda: Dense(np.array([[1.0, np.nan]])), "Dense weight contains NaN or inf"),
    (lambda: Dense(np.ones((2, 2)), np.array([np.inf, 0])), "Dense bias contains NaN or inf"),
    (lambda: Dense(np.ones(3)), "must be 2-D"),
    (lambda: Dense(np.ones((2, 2)), np.ones(3)), r"bias must have shape \(2,\)"),
    (lambda: Conv2d(np.ones((2, 2, 3))), "must be 4-D"),
    (lambda: Conv2d(np.full((1, 1, 1, 1), np.nan)), "Conv2d weight contains NaN"),
    (lambda: Conv2d(np.ones((1, 1, 1, 1)), stride=0), "stride >= 1"),
    (lambda: AvgPool2d(0), "kernel and stride >= 1"),
    (lambda: IF(0.0), "threshold must be > 0"),
    (lambda: IF(float("nan")), "must be finite"),
    (lambda: CubaLIF(1.0, current_decay=1.5), r"current_decay must be in \[0, 1\]"),
])
def test_bad_parameters_are_rejected(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_save_load_round_trip_preserves_outputs(data, tmp_path_factory):
    net = data.draw(networks())
    x = data.draw(inputs(net))
    path = tmp_path_factory.mktemp("net") / "net.npz"
    net.save(path)
    loaded = Network.load(path)
    assert repr(loaded) == repr(net) and loaded.input_encoding == net.input_encoding
    schedule = Schedule.uniform(net, 5)
    np.testing.assert_array_equal(evaluate(net, schedule, x).readout,
                                  evaluate(loaded, schedule, x).readout)


def test_loading_garbage_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable ldsnn network file"):
        Network.load(path)
    np.savez(tmp_path / "other.npz", a=np.ones(2))
    with pytest.raises(ValueError, match="no metadata"):
        Network.load(tmp_path / "other.npz")


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    net = Network((4,), [readout()])
    target = tmp_path / "net.npz"

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", explode)
    with pytest.raises(OSError, match="disk full"):
        net.save(target)
    assert list(tmp_path.iterdir()) == []


def test_stage_delays_are_checked_broadcast_and_saved(tmp_path):
    stages = [Stage([Conv2d(np.ones((2, 1, 3, 3)), padding=1)], IF(),
                    delay=np.array([3, 0]).reshape(2, 1, 1)),
              Stage([Flatten(), Dense(np.ones((2, 8)))], None)]
    net = Network((1, 2, 2), stages, input_encoding="frames")
    assert net.has_delays and net.delays_of(0).shape == (2, 2, 2)
    assert net.delays_of(0)[0].tolist() == [[3, 3], [3, 3]] and not net.delays_of(1).any()
    net.save(tmp_path / "delayed.npz")
    loaded = Network.load(tmp_path / "delayed.npz")
    assert loaded.input_encoding == "frames" and np.array_equal(loaded.stages[0].delay,
                                                                 stages[0].delay)
    for bad, match in ((np.array([1, -1]).reshape(2, 1, 1), "delays must be integers >= 0"),
                       (np.array([0.5, 1]).reshape(2, 1, 1), "delays must be integers >= 0"),
                       ([[np.nan]], "delays must be integers >= 0")):
        with pytest.raises(ValueError, match=match):
            Stage(stages[0].ops, IF(), delay=bad)
    with pytest.raises(ValueError, match=r"stage 0: delay of shape \(3,\) does not fit"):
        Network((1, 2, 2), [Stage(stages[0].ops, IF(), delay=[1, 2, 3]), stages[1]])
