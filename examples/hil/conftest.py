"""Fixtures of this suite: which model to test, and inputs to test it with.

The bnn-mcu plugin provides bnn_project and bnn_target. It is registered when bnn-mcu is installed;
the line below also loads it from a source checkout (it is the plugin's registered name, so it is
never loaded twice).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # Larq 0.14 needs legacy Keras 2
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

pytest_plugins = ["bnn_mcu.pytest_plugin"]

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def bnn_model():
    """The model under test (made by make_model.py; yours would be what your training writes)."""
    return HERE / "model.h5"


@pytest.fixture(scope="session")
def images():
    """32 seeded 12x12 grey images in [0, 1], mostly dark like digits (so most travel RLE-encoded)."""
    rng = np.random.default_rng(2024)
    x = rng.uniform(0.0, 1.0, (32, 12, 12, 1)).astype(np.float32)
    x[rng.random(x.shape) < 0.6] = 0.0
    return x
