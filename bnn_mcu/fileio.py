"""Writing result files so that nothing is lost: checked before the work, written atomically after it.

A result file (``run --outputs``) is written to a temporary file in the same folder and renamed over
the target only when complete, so a full disk or a size limit leaves the old file (or none), never a
half-written one. The name is honoured exactly: ``out.bin`` gets no ``.npz`` appended.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import OutputWriteError, UsageError


def check_writable(path: str | Path, what: str) -> Path:
    """Create the folder of ``path`` and prove a file can be created in it, before any work is done."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{what} {p} is a directory; give a file name such as {p / 'outputs.npz'}")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p.parent, prefix=f".{p.name}.", suffix=".probe"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write {what} {p}: {exc.strerror or exc}",
                         hint="choose a folder you can write to") from exc
    return p


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """``np.savez`` to exactly ``path``, atomically. Raises OutputWriteError (exit 9) on any I/O error."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # in memory first: a failed write cannot leave numpy's zip writer half-closed
    return write_bytes(path, buf.getbuffer())


def write_text(path: str | Path, text: str) -> Path:
    """UTF-8 ``text`` to exactly ``path``, atomically (as :func:`write_bytes`)."""
    return write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str | Path, data) -> Path:
    """``data`` to exactly ``path``, atomically. Raises OutputWriteError (exit 9) on any I/O error."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600; a result file gets the usual mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputWriteError(f"could not write {p}: {exc.strerror or exc}; it was left as it was") from exc
    return p
