"""Which files of a project are ours, and which of them the user changed since we wrote them.

``convert`` records a SHA-256 of every file it writes in ``bnn_project.json`` (``generated_files``).
Converting again into the same directory first compares the files on disk with that record: a file
the user edited, or added under ``runtime/`` (which is replaced whole), would be lost, so ``convert``
refuses and names them unless ``--force`` is given. Build directories and anything else the user keeps
in the project are never touched.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

# Paths (relative to the project) that convert owns: these files and everything under these folders.
OWNED_FILES = ("CMakeLists.txt", "linker.ld", "bnn_model.npz")
OWNED_DIRS = ("model", "runtime")


def owned(outdir: Path) -> list[str]:
    """The files convert owns that exist in ``outdir`` now, as sorted POSIX relative paths."""
    found = [f for f in OWNED_FILES if (outdir / f).is_file()]
    for d in OWNED_DIRS:
        found += [p.relative_to(outdir).as_posix() for p in (outdir / d).rglob("*") if p.is_file()]
    return sorted(found)


def digests(outdir: Path) -> dict[str, str]:
    return {rel: hashlib.sha256((outdir / rel).read_bytes()).hexdigest() for rel in owned(outdir)}


def user_changes(outdir: Path, recorded: dict[str, str] | None) -> list[str]:
    """Owned files that differ from what convert last wrote, each with why (empty: safe to rewrite)."""
    now = digests(outdir)
    if recorded is None:  # a project written before checksums were recorded: nothing can be told apart
        return [f"{rel} (no checksum recorded by the bnn-mcu that wrote it)" for rel in now]
    changes = []
    for rel, digest in now.items():
        if rel not in recorded:
            changes.append(f"{rel} (added since convert)")
        elif recorded[rel] != digest:
            changes.append(f"{rel} (edited since convert)")
    return changes
