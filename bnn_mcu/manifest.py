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

# Paths (relative to the project) that convert owns: these files and everything under these folders,
# per layout (``bnn_project.json``: ``layout``; projects written before layouts existed are "firmware").
OWNED_FILES = ("CMakeLists.txt", "linker.ld", "bnn_model.npz")
OWNED_DIRS = ("model", "runtime")
OWNED = {
    "firmware": (OWNED_FILES, OWNED_DIRS),
    "library": (("CMakeLists.txt", "bnn_model.npz"), ("include", "src", "runtime")),
    "package": (("library.properties", "library.json", "bnn_model.npz"), ("src", "zephyr")),
}


def owned(outdir: Path, layout: str = "firmware") -> list[str]:
    """The files convert owns that exist in ``outdir`` now, as sorted POSIX relative paths."""
    files, dirs = OWNED[layout]
    found = [f for f in files if (outdir / f).is_file()]
    for d in dirs:
        found += [p.relative_to(outdir).as_posix() for p in (outdir / d).rglob("*") if p.is_file()]
    return sorted(found)


def digests(outdir: Path, layout: str = "firmware") -> dict[str, str]:
    return {rel: hashlib.sha256((outdir / rel).read_bytes()).hexdigest() for rel in owned(outdir, layout)}


def user_changes(outdir: Path, recorded: dict[str, str] | None, layout: str = "firmware") -> list[str]:
    """Owned files that differ from what convert last wrote, each with why (empty: safe to rewrite)."""
    now = digests(outdir, layout)
    if recorded is None:  # a project written before checksums were recorded: nothing can be told apart
        return [f"{rel} (no checksum recorded by the bnn-mcu that wrote it)" for rel in now]
    changes = []
    for rel, digest in now.items():
        if rel not in recorded:
            changes.append(f"{rel} (added since convert)")
        elif recorded[rel] != digest:
            changes.append(f"{rel} (edited since convert)")
    return changes
