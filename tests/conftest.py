"""Shared fixtures. Builds are cached per session (tmp_path_factory) so each model compiles once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
sys.path.insert(0, str(TESTS))  # tests/models.py


def pytest_addoption(parser):
    """Hardware tests (tests/test_hardware.py) run only when a board is named: pytest --board nucleo-f446re
    --port /dev/ttyACM0 (or --port auto: found by the board file's USB IDs)."""
    group = parser.getgroup("bnn-mcu hardware")
    group.addoption("--board", default=None, help="a real board connected to this machine (boards/*.yaml)")
    group.addoption("--port", default="auto", help="its serial device, or auto (default)")
    group.addoption("--probe", default=None, help="debug probe unique ID, if several are connected")


@pytest.fixture(scope="session")
def toy_h5(tmp_path_factory) -> Path:
    """A small conv BNN (set weights, γ<0 and γ=0 channels, 33 channels) saved as .h5."""
    import models

    path = tmp_path_factory.mktemp("models") / "toy_conv.h5"
    models.conv_model().save(path)
    return path


@pytest.fixture(scope="session")
def toy_project(tmp_path_factory, toy_h5) -> Path:
    """toy_h5 converted for mps2-an386 (not built)."""
    from bnn_mcu.cli import main

    out = tmp_path_factory.mktemp("proj") / "toy"
    assert main(["convert", str(toy_h5), "-o", str(out), "--board", "mps2-an386"]) == 0
    return out


@pytest.fixture(scope="session")
def toy_built(toy_project) -> Path:
    """toy_project cross-compiled (build/firmware.elf)."""
    from bnn_mcu.cli import main

    assert main(["build", str(toy_project)]) == 0
    return toy_project


@pytest.fixture(scope="session")
def toy_inputs(tmp_path_factory) -> Path:
    rng = np.random.default_rng(7)
    path = tmp_path_factory.mktemp("inputs") / "toy_inputs.npz"
    np.savez(path, x=rng.uniform(0, 1, (40, 12, 12, 3)).astype(np.float32), y=rng.integers(0, 10, 40))
    return path


def random_u8(shape, n, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n,) + tuple(shape), dtype=np.uint8)


def check_host_exe(exe, project, graph, q, ref, label="", after=None) -> None:
    """Drive a host-built firmware over the link: the handshake matches the project, and every input's
    int32 outputs and top-1 equal the reference ``ref`` exactly. ``after(link)`` runs before shutdown."""
    from bnn_mcu import wire
    from bnn_mcu.link import Link, PipeTransport

    encoding = wire.project_encoding(project.meta)
    wq = wire.encode(graph, q, encoding)  # packed bits when the first layer binarizes the input
    with PipeTransport.spawn([str(exe)], timeout=10) as t:
        link = Link(t, timeout=10)
        info = link.hello()
        assert info.model_hash == bytes.fromhex(project.model_hash)[:16]
        assert info.input_bytes == wire.wire_bytes(graph, encoding) and info.output_count == graph.output_count
        for i in range(len(q)):
            res = link.infer(wq[i].tobytes())
            assert np.array_equal(np.asarray(res.outputs, np.int32), ref.raw[i]), (label, i)
            assert res.top1 == ref.top1[i], (label, i)
        if after is not None:
            after(link)
        link.shutdown()
