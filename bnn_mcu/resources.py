"""Where bnn-mcu's data directories live: a source checkout, or the copy packaged into the wheel.

Lookup order for each directory:
1. the source checkout: ``<repo>/boards``, ``<repo>/firmware`` and ``<repo>/templates``, recognised by
   ``<repo>/pyproject.toml`` next to them (an editable install always uses the files you are editing);
2. the packaged copy: ``bnn_mcu/_data/boards``, ``bnn_mcu/_data/firmware``, ``bnn_mcu/_data/templates``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_DIR = _PACKAGE_DIR.parent
_DATA_DIR = _PACKAGE_DIR / "_data"


def _find(name: str, sentinel: str) -> Path:
    candidates = []
    if (_REPO_DIR / "pyproject.toml").is_file():
        candidates.append(_REPO_DIR / name)
    candidates.append(_DATA_DIR / name)
    for candidate in candidates:
        if (candidate / sentinel).exists():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"bnn-mcu data directory '{name}' not found (looked in: {tried})")


def boards_dir() -> Path:
    """Directory holding ``<board>.yaml`` files and ``schema.yaml``."""
    return _find("boards", "schema.yaml")


def firmware_dir() -> Path:
    """Directory holding the C runtime: ``include/bnn``, ``src``, ``platform``, ``cmake``."""
    return _find("firmware", "include/bnn/platform.h")


def templates_dir() -> Path:
    """Jinja2 templates of the generated files (``<repo>/templates``, ``CMakeLists.txt.j2`` and others)."""
    return _find("templates", "CMakeLists.txt.j2")
