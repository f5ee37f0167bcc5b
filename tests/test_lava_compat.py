"""lava-nc 0.10.0 and lava-dl 0.6.0 on this Python, through ldsnn_lava.processes.compat."""

import importlib.metadata
from pathlib import Path

import numpy as np
import pytest
from ldsnn_lava.processes import compat as lava_compat


def lava_dl_file(suffix: str) -> Path:
    files = importlib.metadata.distribution("lava-dl").files
    matches = [f for f in files if str(f).endswith(suffix)]
    assert matches, f"lava-dl ships no {suffix}"
    return Path(matches[0].locate())


@pytest.mark.lava
def test_small_lava_network_runs_under_loihi2simcfg():
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF
    from lava.proc.monitor.process import Monitor

    steps = 12
    data = np.zeros((2, steps))
    data[0, ::2] = 1
    source = RingBuffer(data=data)
    dense = Dense(weights=np.array([[1.0, 0.0], [0.0, 1.0]]))
    lif = LIF(shape=(2,), vth=0.5, du=1.0, dv=0.0)
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    monitor = Monitor()
    monitor.probe(lif.s_out, steps)
    try:
        lif.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg())
        spikes = monitor.get_data()[lif.name]["s_out"]
    finally:
        lif.stop()
    assert spikes.shape == (steps, 2)
    assert spikes[:, 1].sum() == 0  # silent input, silent neuron
    assert spikes[:, 0].sum() == 6  # one spike per input spike, one step of Dense delay


@pytest.mark.lava
def test_netx_loads_the_mnist_network_shipped_in_lava_dl():
    from lava.lib.dl import netx

    net = netx.hdf5.Network(net_config=str(lava_dl_file("tests/lava/lib/dl/netx/mnist.net")))
    assert len(net) == 4
    assert net.inp.shape == (784,) and net.out.shape == (10,)


def test_var_model_dataclasses_get_independent_defaults():
    from lava.magma.compiler.var_model import ChipEncoder, CoreEncoder

    a, b = CoreEncoder(), CoreEncoder()
    assert a.x is not b.x
    assert ChipEncoder().z.base == 0


def test_patches_are_noops_when_their_text_is_absent():
    source = "x = 1\n"
    for _, fixes in lava_compat.PATCHES.values():
        assert lava_compat.patch_source(source, fixes) == source


def test_site_packages_source_is_left_untouched():
    import lava.magma.compiler.var_model as var_model

    text = Path(var_model.__file__).read_text()
    assert "x: ByteEncoder = ByteEncoder()" in text  # only the in-memory copy is fixed


def test_unknown_lava_version_fails_loudly(monkeypatch):
    monkeypatch.setitem(lava_compat.SUPPORTED, "lava-nc", ("0.0.1",))
    with pytest.raises(lava_compat.LavaCompatError, match="written for lava-nc 0.0.1"):
        lava_compat._check_version("lava-nc")


def test_our_tests_are_not_the_site_packages_tests_package():
    import ldsnn_testing

    assert Path(ldsnn_testing.__file__).parent == Path(__file__).parent
