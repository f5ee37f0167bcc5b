"""Regression tests: every example of the "bad input" issue, each a named error (or, where the
input is valid, a sane result) instead of a traceback, a hang or a silent wrong result."""

import contextlib
import io
import json
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
import zipfile

import h5py
import numpy as np
import pytest
import torch

from ldsnn_lava import IF, CubaLIF, Dense, Network, Schedule, Stage, evaluate
from ldsnn_lava.cli import main
from ldsnn_lava.errors import (
    FileAccessError,
    FileFormatError,
    InvalidInput,
    InvalidNetwork,
    InvalidOption,
    InvalidSchedule,
    LDSNNError,
    NumericalError,
    ResourceLimitError,
)
from ldsnn_lava.formats.netx import read_network as from_netx
from ldsnn_lava.formats.netx import write_network as export_netx
from ldsnn_lava.guards import set_limits
from ldsnn_lava.optimize import OptimizeResult, optimize
from ldsnn_lava.optimize.cache import PrefixCache


def mlp(weight: float = 0.6, encoding: str = "direct") -> Network:
    return Network((4,), [Stage([Dense(np.full((3, 4), weight) * [1, -1, 1, -1])], IF(1.0)),
                          Stage([Dense(np.eye(2, 3))], None)], input_encoding=encoding)


X = np.random.default_rng(0).random((6, 4))
Y = np.array([0, 1, 0, 1, 1, 0])


def run_cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in argv])
        except SystemExit as exit_:
            status = exit_.code
    return status, out.getvalue(), err.getvalue()


def assert_one_line_error(status, stderr, *words):
    """Exit status 2 and one error line, the last (progress lines may precede it)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"ldsnn( [\w-]+)?: (internal )?error", line)]
    assert status == 2 and len(errors) == 1 and "Traceback" not in stderr, (status, stderr)
    assert lines[-1] == errors[0], stderr
    for word in words:
        assert word in errors[0], stderr


# --- numerics ----------------------------------------------------------------------------------


def test_float32_overflow_is_a_named_error_and_float64_is_finite():
    net = mlp(weight=1e40)  # inf in float32; inf * 0 = NaN
    x = np.zeros((2, 4))
    x[1] = 1.0
    with pytest.raises(NumericalError, match=r"stage 0: .*float32.*dtype=torch.float64"):
        evaluate(net, Schedule([2, 2], "replay"), x)
    result = evaluate(net, Schedule([2, 2], "replay"), x, dtype=torch.float64)
    assert np.all(np.isfinite(result.readout))


def test_overflow_in_the_readout_is_caught_and_the_optimizer_too():
    net = Network((4,), [Stage([Dense(np.ones((3, 4)))], IF(1.0)),
                         Stage([Dense(np.full((2, 3), 3e38))], None)])
    ones = np.ones_like(X)  # every stage-0 neuron spikes every step: 9e38 > float32's max
    with pytest.raises(NumericalError, match="stage 1"):
        evaluate(net, Schedule.uniform(net, 4), ones)
    with pytest.raises(NumericalError, match="stage 1"):
        optimize(net, base_T=3, val=(ones, Y), restarts=0)


def test_no_check_runs_when_nothing_can_overflow():
    from ldsnn_lava.engine import StageEngine

    engine = StageEngine(mlp())
    engine.watch([8, 8], input_magnitude=1.0)
    assert engine.watched == [False, False]


# --- input ranges and types --------------------------------------------------------------------


def test_rate_input_outside_0_1_is_refused_not_clamped():
    net = mlp(encoding="rate")
    pixels = (X * 255).astype(np.uint8)
    with pytest.raises(InvalidInput, match=r"\[0, 1\].*1/255"):
        evaluate(net, Schedule.uniform(net, 4), pixels)
    with pytest.raises(InvalidInput, match="rate-encoded"):
        evaluate(net, Schedule.uniform(net, 4), X - 0.5)


@pytest.mark.lava
def test_rate_input_outside_0_1_is_refused_by_the_lava_backend_too():
    from ldsnn_lava.processes.graph import to_lava

    net = mlp(encoding="rate")
    with pytest.raises(InvalidInput, match="rate-encoded"):
        to_lava(net, Schedule.uniform(net, 4)).run(X * 255)


def test_complex_inputs_and_weights_are_refused():
    with pytest.raises(InvalidInput, match="complex"):
        evaluate(mlp(), Schedule([2, 2]), X + 1j)
    with pytest.raises(InvalidInput, match="complex"):
        evaluate(mlp(), Schedule([2, 2]), torch.as_tensor(X) + 0j)
    with pytest.raises(InvalidNetwork, match="complex"):
        Dense(np.ones((2, 2)) * (1 + 1j))
    with pytest.raises(InvalidNetwork, match="IF threshold"):
        IF(1 + 1j)


# --- timesteps and resources -------------------------------------------------------------------


@pytest.mark.parametrize("steps", [[2, 3, 3, 3, 10**9], [2, 2**40], [0, 2], [2, True]])
def test_timesteps_have_an_upper_bound(steps):
    with pytest.raises(InvalidSchedule, match="timesteps must be an int"):
        Schedule(steps)


def test_a_huge_allowed_T_is_refused_with_the_estimate_and_the_knob():
    net = mlp()  # about 200 MB per sample and an hour of loop steps at T = 2**24
    with set_limits(memory=100e6), pytest.raises(ResourceLimitError,
                                                 match=r"about .*LDSNN_MEMORY_LIMIT"):
        evaluate(net, Schedule([2, 2**24]), X)
    with set_limits(seconds=600), pytest.raises(ResourceLimitError,
                                                match=r"about .* min.*LDSNN_TIME_LIMIT"):
        evaluate(net, Schedule([2, 2**24]), X)


def test_an_explicit_batch_too_large_names_the_batch_size_knob():
    net = mlp()
    with set_limits(memory=3e6), pytest.raises(ResourceLimitError, match="batch_size <="):
        evaluate(net, Schedule([3000, 3000], "replay"), np.ones((1000, 4)), batch_size=1000)


def test_base_T_5_million_is_refused_before_any_work():
    x = np.random.default_rng(1).random((50, 4))
    with pytest.raises(ResourceLimitError, match="uniform sweep up to base_T = 5000000"):
        optimize(mlp(), base_T=5_000_000, val=(x, np.arange(50) % 2))


def test_limits_come_from_the_environment(monkeypatch):
    from ldsnn_lava.guards import limits

    monkeypatch.setenv("LDSNN_MEMORY_LIMIT", "512MB")
    monkeypatch.setenv("LDSNN_TIME_LIMIT", "10m")
    assert limits().memory == 512e6 and limits().seconds == 600
    monkeypatch.setenv("LDSNN_TIME_LIMIT", "soon")
    with pytest.raises(InvalidOption, match="LDSNN_TIME_LIMIT"):
        limits()


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True, "8"])
def test_batch_size_zero_or_wrong_is_refused(batch_size):
    with pytest.raises(InvalidOption, match="batch_size"):
        evaluate(mlp(), Schedule([2, 2]), X, batch_size=batch_size)
    with pytest.raises(InvalidOption, match="batch_size"):
        optimize(mlp(), base_T=2, val=(X, Y), batch_size=batch_size)


def test_prefix_cache_counts_are_exact_beyond_int16():
    net = Network((4,), [Stage([Dense(np.full((3, 4), 0.5))], IF(1.0)),
                         Stage([Dense(np.eye(2, 3))], None)])
    x = np.ones((2, 4))  # current 2 per step: a spike every step
    steps = (40_000, 3)  # a stage-0 count above 32767 (int16 wrapped it to 0 updates)
    cached = PrefixCache(net, x, np.zeros(2, dtype=int), batch_size=2).evaluate(steps)
    direct = evaluate(net, Schedule(steps, "rate"), x)
    assert direct.spike_counts[0].max() > 32767
    for name, value in direct.counters.total.items():
        assert cached.counters.total[name] == pytest.approx(value)
    assert cached.counters.total["synaptic_updates"] > 0


# --- labels ------------------------------------------------------------------------------------


@pytest.mark.parametrize("labels, match", [
    (Y + 100, r"must lie in \[0, 1\]"), (Y * np.nan, "NaN"), (Y + 0.5, "whole numbers"),
    (Y[:-1], "shape"), (Y.astype(str), "integers")])
def test_labels_that_do_not_fit_the_readout_are_refused(labels, match):
    with pytest.raises(InvalidInput, match=match):
        optimize(mlp(), base_T=3, val=(X, labels), restarts=0)


# --- files -------------------------------------------------------------------------------------


def test_a_bit_flipped_npz_is_a_format_error(tmp_path):
    mlp().save(tmp_path / "net.npz")
    data = bytearray((tmp_path / "net.npz").read_bytes())
    with zipfile.ZipFile(tmp_path / "net.npz") as archive:
        info = archive.getinfo("s0_o0_weight.npy")
    data[info.header_offset + 100] ^= 0x10  # inside the weight array: a CRC mismatch
    (tmp_path / "flipped.npz").write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="flipped.npz"):
        Network.load(tmp_path / "flipped.npz")


@pytest.mark.parametrize("edit, match", [
    (lambda m: m["stages"][0]["ops"][0].pop("arrays"), "missing field 'arrays'"),
    (lambda m: m["stages"][0]["neuron"].__setitem__("type", "Izhikevich"), "Izhikevich"),
    (lambda m: m["stages"][0]["neuron"]["params"].pop("threshold"), "IF takes"),
    (lambda m: m.__setitem__("version", True), "version True"),
    (lambda m: m.pop("stages"), "missing field 'stages'")])
def test_hand_edited_npz_metadata_is_a_format_error(tmp_path, edit, match):
    mlp().save(tmp_path / "net.npz")
    with np.load(tmp_path / "net.npz") as data:
        arrays = {key: data[key] for key in data.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    edit(meta)
    np.savez(tmp_path / "edited.npz", __meta__=np.array(json.dumps(meta)), **arrays)
    with pytest.raises(FileFormatError, match=match):
        Network.load(tmp_path / "edited.npz")


def fixed_net() -> Network:
    rng = np.random.default_rng(1)
    return Network((5,), [
        Stage([Dense(rng.integers(-50, 50, (4, 5)).astype(float))],
              CubaLIF(40, current_decay=1.0, voltage_decay=0.25)),
        Stage([Dense(rng.integers(-50, 50, (2, 4)).astype(float))], None)])


def test_netx_layers_not_numbered_from_0_are_a_format_error(tmp_path):
    export_netx(fixed_net(), Schedule([2, 2]), tmp_path / "net.net")
    with h5py.File(tmp_path / "net.net", "r+") as handle:
        layers = handle["layer"]
        for name in sorted(layers, key=int, reverse=True):
            layers.move(name, str(int(name) + 1))
    with pytest.raises(FileFormatError, match=r"groups named 0\.\.2"):
        from_netx(tmp_path / "net.net")


def test_empty_netx_stride_arrays_are_a_format_error(tmp_path):
    from ldsnn_fuzz_corpus import write_conv_netx

    write_conv_netx(tmp_path / "conv.net")
    with h5py.File(tmp_path / "conv.net", "r+") as handle:
        del handle["layer"]["1"]["stride"]
        handle["layer"]["1"]["stride"] = np.array([], dtype=np.int64)
    with pytest.raises(FileFormatError, match=r"layer 1 \(conv\): field 'stride' must hold 1 "):
        from_netx(tmp_path / "conv.net")


def test_netx_export_refuses_what_its_reader_refuses(tmp_path):
    net = fixed_net()
    wide = Network(net.input_shape, [Stage([Dense(net.stages[0].ops[0].weight * 10)],
                                           net.stages[0].neuron), net.stages[1]])
    with pytest.raises(InvalidNetwork, match=r"\[-256, 254\]"):
        export_netx(wide, Schedule([2, 2]), tmp_path / "wide.net")
    assert not list(tmp_path.iterdir())
    export_netx(net, Schedule([2, 2]), tmp_path / "ok.net")
    again = from_netx(tmp_path / "ok.net")
    x = np.random.default_rng(2).integers(-3, 4, (5, 5)).astype(float)
    a = evaluate(net, Schedule([3, 3]), x, precision="fixed")
    b = evaluate(again, Schedule([3, 3]), x, precision="fixed")
    np.testing.assert_array_equal(a.readout, b.readout)


def test_result_version_99_and_schedule_version_true_are_refused(tmp_path):
    result = optimize(mlp(), base_T=3, val=(X, Y), restarts=0)
    data = result.to_dict()
    data["version"] = 99
    (tmp_path / "r.json").write_text(json.dumps(data))
    with pytest.raises(FileFormatError, match="version 99"):
        OptimizeResult.load(tmp_path / "r.json")
    schedule = Schedule([2, 2]).to_dict()
    schedule["version"] = True
    with pytest.raises(FileFormatError, match="version True"):
        Schedule.from_dict(schedule)


def test_readers_refuse_a_fifo_instead_of_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.json")
    with pytest.raises(FileAccessError, match="not a regular file"):
        Schedule.load(tmp_path / "pipe.json")
    with pytest.raises(FileAccessError, match="not a regular file"):
        OptimizeResult.load(tmp_path / "pipe.json")


# --- the command line --------------------------------------------------------------------------

FAST = ("--limit", "20", "--restarts", "0", "--work-budget", "3")


@pytest.mark.parametrize("out", ["/sys/ldsnn-test/x.json", "{tmp}", "{tmp}/a_file/x.json"])
def test_unwritable_out_fails_before_the_search(tmp_path, out):
    (tmp_path / "a_file").write_text("x")
    status, stdout, stderr = run_cli("optimize", "mlp_digits", *FAST,
                                     "--out", out.format(tmp=tmp_path))
    assert_one_line_error(status, stderr, "error:")
    assert "validation accuracy" not in stdout  # refused before the search ran


def test_disk_full_is_one_line_and_keeps_the_previous_files(tmp_path):
    """A real write error from the kernel (a file size limit in the child process)."""
    Schedule([9, 9, 9], "replay").save(tmp_path / "s.json")

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, resource.RLIM_INFINITY))

    proc = subprocess.run([sys.executable, "-m", "ldsnn_lava.cli", "optimize", "mlp_digits",
                           *FAST, "--out", str(tmp_path / "s.json")], capture_output=True,
                          text=True, preexec_fn=limit_file_size, timeout=600)
    assert_one_line_error(proc.returncode, proc.stderr, "File too large")
    assert Schedule.load(tmp_path / "s.json").timesteps == (9, 9, 9)
    assert not list(tmp_path.glob(".*"))  # no temporary file or journal left


@pytest.mark.parametrize("argv, words", [
    (["demo", "--lava-samples", "-350"], ["--lava-samples", "-350"]),
    (["estimate", "mlp_digits", "--samples", "-5"], ["--samples"]),
    (["estimate", "mlp_digits", "--uniform-T", "0"], ["--uniform-T"]),
    (["estimate", "mlp_digits", "--uniform-T", "100000000"], ["--uniform-T"]),
    (["optimize", "mlp_digits", "--base-T", "0"], ["--base-T"]),
    (["optimize", "mlp_digits", "--restarts", "-1"], ["--restarts"]),
    (["optimize", "mlp_digits", "--work-budget", "nan"], ["--work-budget"]),
    (["optimize", "mlp_digits", "--cost-target", "0"], ["--cost-target"]),
    (["evaluate", "mlp_digits"], ["--schedule"]),
])
def test_bad_options_are_one_line_usage_errors(argv, words):
    status, _, stderr = run_cli(*argv)
    assert_one_line_error(status, stderr, f"ldsnn {argv[0]}: error:", *words)


def test_base_T_5_million_on_the_command_line_is_refused_quickly():
    status, _, stderr = run_cli("optimize", "mlp_digits", "--base-T", "5000000", "--limit", "20")
    assert_one_line_error(status, stderr, "uniform sweep", "LDSNN_")


def test_debug_shows_the_traceback_only_when_asked(tmp_path):
    argv = [sys.executable, "-m", "ldsnn_lava.cli"]
    bad = ["evaluate", "mlp_digits", "--schedule", str(tmp_path / "missing.json")]
    plain = subprocess.run(argv + bad, capture_output=True, text=True, timeout=600)
    debug = subprocess.run(argv + ["--debug"] + bad, capture_output=True, text=True,
                           timeout=600)
    assert_one_line_error(plain.returncode, plain.stderr, "schedule file not found")
    assert debug.returncode == 2 and "Traceback" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == plain.stderr.strip()


def test_an_internal_error_is_one_line_with_status_1(monkeypatch):
    import ldsnn_lava.cli.evaluate as command

    def broken(args):
        raise KeyError("a bug")

    monkeypatch.setattr(command, "run", broken)
    status, _, stderr = run_cli("evaluate", "mlp_digits", "--schedule", "x.json")
    lines = stderr.strip().splitlines()
    assert status == 1 and len(lines) == 1 and "internal error: KeyError" in lines[0]


@pytest.mark.parametrize("runner", [("--threads", "1"), ("--shard-threads", "1")],
                         ids=["in process", "on a shard thread"])
@pytest.mark.parametrize("sig, expected", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_end_a_search_cleanly(tmp_path, monkeypatch, sig, expected, runner):
    from ldsnn_lava.optimize.cache import PrefixCache

    out, evaluate, calls = tmp_path / "s.json", PrefixCache._evaluate, []

    def signalled(self, *args, **kwargs):  # the signal arrives in the middle of the search
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), sig)
            if threading.current_thread() is not threading.main_thread():
                time.sleep(1)  # the main thread takes the signal and stops the shard threads
        return evaluate(self, *args, **kwargs)

    monkeypatch.setattr(PrefixCache, "_evaluate", signalled)
    # Ctrl-C as in a terminal, also when the tests run where SIGINT is ignored (a background
    # job), which Brian2's handler, installed on import, would otherwise pass on and fail
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        status, _, stderr = run_cli("optimize", "mlp_digits", "--work-budget", "0",
                                    *runner, "--out", out)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert status == expected, (status, stderr)
    assert len(calls) == 3  # stopped at once: no schedule started after the signal
    assert "Traceback" not in stderr
    if sig == signal.SIGINT:  # progress lines may precede it
        assert stderr.strip().splitlines()[-1] == "ldsnn: interrupted"
    assert not out.exists() and not list(tmp_path.glob(".*"))
    assert not [t for t in threading.enumerate() if t.name.startswith("ldsnn-shard")]


def test_every_error_the_cli_prints_is_a_library_error():
    """The user errors the CLI reports are LDSNNErrors, so library callers can catch them."""
    for cls in (FileAccessError, FileFormatError, InvalidInput, InvalidNetwork, InvalidOption,
                InvalidSchedule, NumericalError, ResourceLimitError):
        assert issubclass(cls, LDSNNError)
    assert issubclass(FileAccessError, OSError) and issubclass(NumericalError, ValueError)
