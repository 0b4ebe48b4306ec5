"""`bnn-mcu check`: the integer reference against Larq layer by layer, no board; exit 8 when something
differs that is neither a float32 tie nor within a fixed-point bound."""

from __future__ import annotations

import json

import models
import numpy as np
import pytest

from bnn_mcu.cli import main


@pytest.fixture(scope="module")
def residual_h5(tmp_path_factory):
    path = tmp_path_factory.mktemp("check") / "residual.h5"
    models.residual_model(seed=1).save(path)
    return path


def test_check_reports_every_layer_and_passes(residual_h5, capsys):
    assert main(["check", str(residual_h5), "--input-range", "-1", "1", "-n", "64", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["ok"] and r["unexplained"] == 0 and r["inputs"] == 64
    assert r["binary_layers"] == 4 and r["real_streams"] == 7
    streams = [row for row in r["layers"] if row["reads"] == "int16 stream"]
    assert {row["layer"] for row in streams} >= {"residual_0", "residual_1", "residual_2"}
    assert all(0 < row["max_abs_diff"] <= row["error_bound"] for row in streams)
    assert sum(row["fixed_point"] for row in r["layers"] if "fixed_point" in row) == r["fixed_point"]


def test_check_on_the_users_inputs_as_a_table(residual_h5, tmp_path, capsys):
    x = np.random.default_rng(0).uniform(-1, 1, (20, 10, 9, 3)).astype(np.float32)
    np.savez(tmp_path / "x.npz", x=x)
    assert main(["check", str(residual_h5), "--inputs", str(tmp_path / "x.npz"), "--input-range", "-1", "1"]) == 0
    out = capsys.readouterr().out
    assert "20 inputs" in out and "residual_2" in out and out.rstrip().endswith(
        "OK: every difference is a float32 tie or within a fixed-point bound")


def test_check_fails_on_a_wrong_threshold(tmp_path, capsys, monkeypatch):
    """A fold that is off by one on every threshold is caught: exit 8, the failing layers named."""
    from bnn_mcu.ops import conv

    path = tmp_path / "conv.h5"
    models.conv_model(seed=3).save(path)
    real = conv.binary_thresholds
    monkeypatch.setattr(conv, "binary_thresholds", lambda *a: real(*a) + 1)
    assert main(["check", str(path), "-n", "64"]) == 8
    out, err = capsys.readouterr()
    assert "FAILED: " in out and "neither float32 ties nor within a fixed-point bound" in err
    assert "Traceback" not in err
