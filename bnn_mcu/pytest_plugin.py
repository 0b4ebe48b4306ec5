"""pytest plugin: hardware-in-the-loop fixtures for bnn-mcu models (README, "Testing on the target").

Installed with the package (entry point ``pytest11``, named ``bnn_mcu.pytest_plugin``); it only adds
options and fixtures, and nothing runs until a test asks for a fixture. Without the installed package,
load it with ``-p bnn_mcu.pytest_plugin`` or ``pytest_plugins = ["bnn_mcu.pytest_plugin"]`` in a
conftest.py (the same name as the entry point, so the two never register it twice).

Options (each also an ini key of ``pytest.ini`` / ``[tool.pytest.ini_options]``; the command line wins):

  --bnn-board NAME    ini ``bnn_board``    board to convert for (default mps2-an385, emulated by QEMU)
  --bnn-port DEVICE   ini ``bnn_port``     talk to a real board on this UART instead of booting QEMU
  --bnn-project DIR   ini ``bnn_project``  an already converted project to test (skips converting)
  --bnn-cache DIR     ini ``bnn_cache``    where converted projects are kept (default: pytest's cache)

Fixtures:

  bnn_model    (session) the model file to test. Default: error; override it in your conftest.py.
  bnn_project  (session) a function ``bnn_project(model=None, *, board=None, input_range=None,
               kernels=None) -> Project``: converts and builds the model once per (model bytes, board,
               options), cached across the session and across pytest-xdist workers (a lock file per
               project: no two workers build the same one). ``bnn_project()`` is the default project:
               --bnn-project, else ``bnn_model`` converted for --bnn-board.
  bnn_target   (session) the default project's firmware running: QEMU booted once per session (one
               per xdist worker, each on its own TCP port), or the --bnn-port board opened once. A
               :class:`bnn_mcu.testing.Target`: ``infer(x)``, ``reference(x)``, ``info``.

With --bnn-port under pytest-xdist, workers take turns on the one board (a lock file per port).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import pytest

from . import testing

OPTIONS = (
    ("board", "NAME", f"board to convert the model for (default: {testing.DEFAULT_BOARD}, emulated by QEMU)"),
    ("port", "DEVICE", "serial port of a real board to test on instead of booting QEMU (e.g. /dev/ttyACM0)"),
    ("project", "DIR", "an already converted bnn-mcu project to test (skips converting bnn_model)"),
    ("cache", "DIR", "where converted projects are kept (default: pytest's cache directory)"),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bnn-mcu", "bnn-mcu hardware-in-the-loop testing")
    for name, metavar, help_text in OPTIONS:
        group.addoption(f"--bnn-{name}", dest=f"bnn_{name}", metavar=metavar, default=None, help=help_text)
        parser.addini(f"bnn_{name}", help_text + f" (--bnn-{name} overrides it)", default=None)


def _option(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(f"bnn_{name}")
    if value is None:
        value = config.getini(f"bnn_{name}") or None
    if value is not None and name in ("project", "cache"):
        p = Path(value)
        value = str(p if p.is_absolute() or config.getoption(f"bnn_{name}") else config.rootpath / p)
    return value


def _cache_dir(config: pytest.Config) -> Path:
    given = _option(config, "cache")
    if given:
        return Path(given)
    cache = getattr(config, "cache", None)
    if cache is not None:
        return cache.mkdir("bnn-mcu")
    # no cache provider (-p no:cacheprovider): one directory per rootdir, shared by xdist workers
    tag = hashlib.sha256(str(config.rootpath).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"bnn-mcu-pytest-{os.getuid()}-{tag}"


@pytest.fixture(scope="session")
def bnn_model():
    """The model file the default project is converted from: override this fixture in your conftest.py."""
    raise pytest.UsageError("bnn-mcu: define a 'bnn_model' fixture (returning your model file's path) in "
                            "conftest.py, or pass --bnn-project DIR")


@pytest.fixture(scope="session")
def bnn_project(request: pytest.FixtureRequest):
    """``bnn_project(model=None, *, board=None, input_range=None, kernels=None) -> Project``."""
    config = request.config
    given = _option(config, "project")

    def get(model=None, *, board: str | None = None, input_range=None, kernels: str | None = None):
        if model is None:
            if given:
                return testing.Project.load(given)
            model = request.getfixturevalue("bnn_model")
        return testing.convert_cached(model, board=board or _option(config, "board") or testing.DEFAULT_BOARD,
                                      input_range=input_range, kernels=kernels, cache_dir=_cache_dir(config))

    return get


@pytest.fixture(scope="session")
def bnn_target(request: pytest.FixtureRequest, bnn_project):
    """The default project's firmware, running on QEMU or on the --bnn-port board, once per session."""
    project = bnn_project()
    port = _option(request.config, "port")
    if port:
        # pytest-xdist workers share one board: hold it for this worker's whole session
        lock = _cache_dir(request.config) / f".port-{hashlib.sha256(port.encode()).hexdigest()[:12]}.lock"
        with testing.file_lock(lock), testing.open_target(project, port=port) as target:
            yield target
        return
    with testing.open_target(project) as target:
        yield target
