"""Compiled CPU loops (optional): ``native_kernels.c`` built with the system C compiler.

The neuron and buffer loops are a few arithmetic operations per neuron and step; as torch operations
every step streams its tensors through memory several times, while the C loops make one pass per
step with the state in registers (and the pooling of spikes one pass over them). The library is
compiled on first use (under a second) with ``cc -O3 -march=native -ffp-contract=off`` (no fused
multiply-add, so every operation rounds as the definition's torch operation does) into a per-user
cache directory (``$XDG_CACHE_HOME/ldsnn-lava`` or ``~/.cache/ldsnn-lava``), keyed by the source,
the compiler, the flags and the CPU. Without a C compiler, or with ``LDSNN_NATIVE=0`` in the
environment, :func:`library` returns ``None`` and the engine runs its torch kernels: the same
results, slower. The tests run both.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("native_kernels.c")
FLAGS = ("-O3", "-march=native", "-ffp-contract=off", "-fno-math-errno", "-shared", "-fPIC")

_P, _I64, _I32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32
_F32, _F64 = ctypes.c_float, ctypes.c_double
SIGNATURES = {
    "if_f32": [_P, _I64, _P, _P, _P, _I64, _I64, _F32],
    "if_f64": [_P, _I64, _P, _P, _P, _I64, _I64, _F64],
    "if_fixed_f32": [_P, _I64, _P, _P, _P, _I64, _I64, _I64],
    "if_fixed_f64": [_P, _I64, _P, _P, _P, _I64, _I64, _I64],
    "lif_f32": [_P, _I64, _P, _P, _P, _P, _I64, _I64, _F32, _F32, _F32, _F32],
    "lif_f64": [_P, _I64, _P, _P, _P, _P, _I64, _I64, _F64, _F64, _F64, _F64],
    "lif_fixed_f32": [_P, _I64, _P, _P, _P, _P, _I64, _I64, _I64, _I64, _I64, _I64],
    "lif_fixed_f64": [_P, _I64, _P, _P, _P, _P, _I64, _I64, _I64, _I64, _I64, _I64],
    "rate_f32": [_P, _P, _P, _P, _I64, _I64, _I32],
    "rate_f64": [_P, _P, _P, _P, _I64, _I64, _I32],
    "sparse_dense_f32": [_P, _I64, _I64, _P, _I64, _P, _P, _I64],
    "sparse_dense_f64": [_P, _I64, _I64, _P, _I64, _P, _P, _I64],
    "pool_f32": [_P, _P, _I64, _I64, _I64, _I64, _I64, _I64, _F32],
    "pool_f64": [_P, _P, _I64, _I64, _I64, _I64, _I64, _I64, _F64],
    "accumulate_f32": [_P, _I64, _P, _I64, _I64],
    "accumulate_f64": [_P, _I64, _P, _I64, _I64],
}
RESULTS = {"sparse_dense_f32": _I64, "sparse_dense_f64": _I64}


def _cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "ldsnn-lava"


def _cpu_key() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
        lines = [line for line in text.splitlines() if line.startswith(("model name", "flags"))]
        return "\n".join(sorted(set(lines)))
    except OSError:
        return platform.processor()


def _build(compiler: str) -> Path:
    source = SOURCE.read_bytes()
    key = hashlib.sha256(source + repr((compiler, FLAGS, _cpu_key())).encode()).hexdigest()
    target = _cache_dir() / f"native-{key[:20]}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        subprocess.run([compiler, *FLAGS, "-o", tmp, str(SOURCE)], check=True,
                       capture_output=True, timeout=120)
        os.replace(tmp, target)  # atomic: concurrent builders leave one complete file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


@functools.cache
def library() -> ctypes.CDLL | None:
    """The compiled kernels, or ``None`` where they cannot be built (see the module doc)."""
    if os.environ.get("LDSNN_NATIVE", "1") == "0":
        return None
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    try:
        lib = ctypes.CDLL(str(_build(compiler)))
    except (OSError, subprocess.SubprocessError):
        return None
    for name, argtypes in SIGNATURES.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = argtypes, RESULTS.get(name)
    return lib
