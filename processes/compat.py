"""Make lava-nc 0.10.0 and lava-dl 0.6.0 import on Python 3.11+ without touching site-packages.

Three modules need a fix, applied in memory as their source is compiled:

``lava.magma.compiler.var_model``
    Its dataclasses use ``ByteEncoder()`` instances as field defaults; Python 3.11 rejects
    unhashable dataclass defaults. We rewrite them as ``field(default_factory=ByteEncoder)``.
``lava.lib.dl.slayer`` (its ``__init__``)
    It always imports ``slayer.object_detection``, which needs torchvision (no CPU build of it
    matches our torch). ``lava.lib.dl.netx`` imports slayer, so we make that one import lazy:
    ``slayer.obd`` still works where torchvision is installed.
``lava.magma.runtime.message_infrastructure.multiprocessing``
    It calls ``multiprocessing.set_start_method('fork')`` at import, which raises once anything
    has fixed the start method (creating a tqdm progress bar does). We pass ``force=True``.

:func:`install` puts a ``sys.meta_path`` finder in front of the normal one. It only serves these
three module names, compiles the rewritten source itself (the cached bytecode in site-packages is
neither read nor written), is a no-op where a patch's text is absent (a fixed Lava), and fails
loudly on a lava-nc or lava-dl version it was not written for. Lava forks its runtime processes,
so the finder is inherited by them. Import :mod:`ldsnn_lava.processes.compat` (or anything under
``ldsnn_lava.processes``) before importing ``lava``.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.metadata
import sys

SUPPORTED = {"lava-nc": ("0.10.0",), "lava-dl": ("0.6.0",)}

_VAR_MODEL_FIXES = [
    ("from dataclasses import dataclass, InitVar",
     "from dataclasses import dataclass, InitVar, field"),
] + [
    (f"    {name}: ByteEncoder = ByteEncoder()",
     f"    {name}: ByteEncoder = field(default_factory=ByteEncoder)")
    for name in ("x", "y", "z", "p", "hi", "lo")
]

_SLAYER_FIXES = [
    ("from . import object_detection as obd",
     "def __getattr__(name):\n"
     "    if name in ('obd', 'object_detection'):\n"
     "        from . import object_detection\n"
     "        return object_detection\n"
     "    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')"),
]

_START_METHOD_FIXES = [
    ("mp.set_start_method('fork')", "mp.set_start_method('fork', force=True)"),
]

PATCHES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "lava.magma.compiler.var_model": ("lava-nc", _VAR_MODEL_FIXES),
    "lava.magma.runtime.message_infrastructure.multiprocessing": ("lava-nc", _START_METHOD_FIXES),
    "lava.lib.dl.slayer": ("lava-dl", _SLAYER_FIXES),
}


class LavaCompatError(ImportError):
    """Raised when the installed Lava is a version this module was not written for."""


def patch_source(source: str, fixes: list[tuple[str, str]]) -> str:
    """Apply each ``(old, new)`` replacement whose ``old`` text is present."""
    for old, new in fixes:
        source = source.replace(old, new)
    return source


def _check_version(distribution: str) -> None:
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return
    if version not in SUPPORTED[distribution]:
        raise LavaCompatError(
            f"ldsnn_lava.processes.compat was written for {distribution} "
            f"{', '.join(SUPPORTED[distribution])}, but {version} is installed; check whether "
            f"its Python 3.11 fixes still apply and extend SUPPORTED"
        )


class _PatchingLoader(importlib.machinery.SourceFileLoader):
    def __init__(self, fullname: str, path: str, fixes: list[tuple[str, str]]):
        super().__init__(fullname, path)
        self._fixes = fixes

    def get_code(self, fullname: str):
        source = patch_source(self.get_source(fullname), self._fixes)
        return compile(source, self.get_filename(fullname), "exec", dont_inherit=True)


class _LavaCompatFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in PATCHES:
            return None
        distribution, fixes = PATCHES[fullname]
        _check_version(distribution)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        spec.loader = _PatchingLoader(fullname, spec.origin, fixes)
        return spec


def install() -> None:
    """Install the finder (idempotent). Must run before ``lava`` is imported; a module that
    already imported without it needed no fix."""
    if any(isinstance(finder, _LavaCompatFinder) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _LavaCompatFinder())


install()
