"""Errors a user can act on, and the exit codes the CLI maps them to (the one place that does so).

Every error that reaches the CLI is a :class:`BnnError`; the CLI prints ``error: <message>`` (plus the
hint, if any) and exits with the class's ``exit_code``. Anything else is a bug and is shown with a
traceback only under ``-v``.
"""

from __future__ import annotations


class BnnError(Exception):
    """Base class: a message for the user, an optional hint, and a process exit code."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(BnnError):
    """Bad command-line arguments or files the user named that are not what we expect."""

    exit_code = 2


class ModelLoadError(BnnError):
    """The file is not a model Keras/Larq can load."""

    exit_code = 3


class UnsupportedModelError(BnnError):
    """The model loads but uses a layer, quantizer or configuration the converter does not support."""

    exit_code = 4


class PlanError(BnnError):
    """The model does not fit the board (flash or RAM), refused before building."""

    exit_code = 5


class BuildError(BnnError):
    """CMake or the cross-compiler failed."""

    exit_code = 6


class TargetError(BnnError):
    """QEMU, the serial link or the target misbehaved."""

    exit_code = 7


class MismatchError(BnnError):
    """The target computed something different from the reference (the one failure that matters)."""

    exit_code = 8


class OutputWriteError(BnnError):
    """A result file could not be written (disk full, size limit, permissions); nothing half-written
    is left behind."""

    exit_code = 9
