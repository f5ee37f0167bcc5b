"""Model files carry what they need: base T, precision, input scaling and data set survive
every format's write_model/read_model, and bad records are named errors."""

import json

import h5py
import nir
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldsnn_lava import Schedule, quantize, zoo
from ldsnn_lava.errors import FileFormatError, InvalidOption
from ldsnn_lava.formats import netx, npz, read_model
from ldsnn_lava.formats import nir as nir_format
from ldsnn_lava.model import Model

FIELDS = ("base_T", "precision", "input_scale", "input_shift", "input_exponent", "dataset")


def _same(a: Model, b: Model) -> None:
    assert all(getattr(a, f) == getattr(b, f) for f in FIELDS), (a, b)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 64), st.floats(-8, 8).filter(lambda v: abs(v) > 1e-6),
       st.floats(-8, 8), st.one_of(st.none(), st.integers(0, 12)))
def test_npz_and_nir_round_trip_the_record(tmp_path_factory, base_T, scale, shift, exponent):
    folder = tmp_path_factory.mktemp("rec")
    net = zoo.load("mlp_digits").network
    model = Model("m", net, base_T, input_scale=scale, input_shift=shift,
                  input_exponent=exponent, dataset="digits")
    npz.write_model(model, folder / "m.npz")
    _same(model, read_model(folder / "m.npz"))
    nir_format.write_model(model, folder / "m.nir", Schedule([2, 3, 1]))
    back = read_model(folder / "m.nir")
    _same(model, back)
    assert back.record["schedule"].timesteps == (2, 3, 1)


def test_netx_written_with_a_schedule_keeps_the_given_base_T(tmp_path):
    model = zoo.load("lava_dl_mnist")
    netx.write_model(model, tmp_path / "ld.net", Schedule([1, 2, 1, 1]))
    back = read_model(tmp_path / "ld.net")
    _same(model, back)  # base T 16, not tSample (the schedule's period, 5)
    assert back.record["schedule"].timesteps == (1, 2, 1, 1)
    with h5py.File(tmp_path / "ld.net") as handle:
        assert int(handle["simulation"]["tSample"][()]) == 5
    netx.write_network(model.network, Schedule([1, 2, 1, 1]), tmp_path / "bare.net")
    assert read_model(tmp_path / "bare.net").base_T is None  # no record: not guessed


def test_nir_base_T_from_uniform_timesteps_only(tmp_path):
    net = zoo.load("mlp_digits").network
    nir.write(tmp_path / "u.nir", net.to_nir(Schedule.uniform(net, 6)))
    assert read_model(tmp_path / "u.nir").base_T == 6
    nir.write(tmp_path / "ld.nir", net.to_nir(Schedule([2, 3, 3])))
    assert read_model(tmp_path / "ld.nir").base_T is None
    nir.write(tmp_path / "given.nir", net.to_nir(Schedule([2, 3, 3]), base_T=4))
    assert read_model(tmp_path / "given.nir").base_T == 4
    with pytest.raises(InvalidOption, match="base_T must be an int >= 1"):
        net.to_nir(Schedule([2, 3, 3]), base_T=0)


def test_quantized_input_is_rounded_as_the_quantizer_encodes_it():
    model = zoo.load("mlp_digits")
    q = quantize(model.network)
    fixed = Model("q", q.network, 4, "fixed", 0.5, 0.25, input_exponent=q.input_exponent)
    x = np.random.default_rng(0).random((20, 1, 8, 8)).astype(np.float32)
    scaled = x * np.float32(0.5) + np.float32(0.25)
    np.testing.assert_array_equal(fixed.preprocess(x), q.encode_input(scaled))
    assert fixed.input_map == "round((x * 0.5 + 0.25) * 2**8)"


@pytest.mark.parametrize("record, match", [
    ({"base_T": 0}, "'base_T' must be an integer >= 1"),
    ({"base_T": 2.5}, "'base_T' must be an integer"),
    ({"input_scale": 0}, "'input_scale' must be a finite number other than 0"),
    ({"input_shift": "1"}, "'input_shift' must be a finite number"),
    ({"precision": "half"}, "precision must be one of"),
    ({"colour": 1}, r"unknown model record fields \['colour'\]"),
    ({"dataset": 3}, "'dataset' must be a data set name"),
])
def test_bad_records_are_named(tmp_path, record, match):
    npz.write_network(zoo.load("mlp_digits").network, tmp_path / "m.npz",
                      extra={"model": record})
    with pytest.raises(FileFormatError, match=match) as err:
        read_model(tmp_path / "m.npz")
    assert str(tmp_path / "m.npz") in str(err.value)


def test_bad_model_arguments():
    net = zoo.load("mlp_digits").network
    with pytest.raises(InvalidOption, match="input_scale must be a finite number"):
        Model("m", net, input_scale=float("nan"))
    with pytest.raises(InvalidOption, match="input_scale 0"):
        Model("m", net, input_scale=0)
    assert json.dumps(Model("m", net, 4).to_record())  # JSON-ready
