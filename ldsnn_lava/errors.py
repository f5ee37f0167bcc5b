"""The project's exceptions: one base class, one subclass per kind of problem.

Every error the library raises on purpose is an :class:`LDSNNError`. Each subclass also derives
from the built-in exception callers used to catch before this module existed (``ValueError``,
``ImportError``), so ``except ValueError`` keeps working. Messages name the problem: the file,
stage, field and the allowed range where there is one.

The command line prints an :class:`LDSNNError` as one line and exits with status 2.
"""

from __future__ import annotations


class LDSNNError(Exception):
    """Base class of every error ldsnn-lava raises on purpose."""


class InvalidOption(LDSNNError, ValueError):
    """An option outside its allowed values (precision, buffer kind, encoding, mode, ...)."""


class InvalidNetwork(LDSNNError, ValueError):
    """A network, stage, op or neuron that is malformed or cannot run as asked."""


class InvalidSchedule(LDSNNError, ValueError):
    """A schedule that is malformed or does not fit its network."""


class InvalidInput(LDSNNError, ValueError):
    """Input data with the wrong shape, type or range, or labels that do not fit."""


class FileFormatError(LDSNNError, ValueError):
    """A file that cannot be read as the format it claims (missing fields, bad version, ...)."""


class ResourceLimitError(LDSNNError, ValueError):
    """Work that would exceed a memory or time bound; the message gives the estimate and the
    knob that changes it."""


class FileAccessError(LDSNNError, OSError):
    """A path that cannot be read or written as asked: missing, a folder or a device where a
    file belongs, no permission, a read-only or full disk. The message names the path."""


class NumericalError(LDSNNError, ValueError):
    """A computation that left the range of its number type (float32 overflow to inf or NaN,
    fixed-point sums beyond exact integers); the message names the stage and the remedy."""


class LavaRunError(LDSNNError, RuntimeError):
    """A Lava run that failed: a process model raised, a Lava process exited, or the runtime
    did not stop in time. The message names the process (and the time step, for ours); the
    runtime's processes are gone when it is raised."""


class BackendUnavailable(LDSNNError, ImportError):
    """An optional backend (Lava, Brian2, Ray, a peer tool) that is not installed here; the
    message says what to install."""


class ClusterError(LDSNNError, RuntimeError):
    """Distributed execution that cannot go on: a Ray cluster that cannot be joined, or a
    worker lost more often than it may be restarted. The message names the address, or the
    worker and its shard, and the cause."""


class LDSNNWarning(UserWarning):
    """Base class of the warnings ldsnn-lava issues: the run goes on, the result is suspect."""


class LikelyPreprocessingMismatch(LDSNNWarning):
    """A given SNN near chance accuracy: it probably sees its input scaled or laid out
    differently from how it was trained."""


__all__ = [
    "BackendUnavailable", "ClusterError", "FileAccessError", "FileFormatError", "InvalidInput",
    "InvalidNetwork", "InvalidOption", "InvalidSchedule", "LDSNNError", "LDSNNWarning",
    "LavaRunError", "LikelyPreprocessingMismatch", "NumericalError", "ResourceLimitError",
]
