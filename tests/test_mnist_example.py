"""The MNIST example trains, saves an .h5 that reloads with identical predictions, and is reproducible.

Training runs in subprocesses so that its global side effects (seeding, TF op determinism) stay out of
the pytest process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

# Larq 0.14 needs legacy Keras 2; must be set before TensorFlow is first imported.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "mnist"
TRAIN_PY = EXAMPLE / "train.py"
DATA = EXAMPLE / "data" / "mnist10k.npz"
ARGS = ["--epochs", "1", "--limit", "512", "--batch-size", "64", "--seed", "3", "-q"]


def _run(cmd, tmp_path):
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
    r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{cmd} failed:\n{r.stdout}\n{r.stderr[-4000:]}"
    return r


def test_shipped_data_split():
    with np.load(DATA) as d:
        x, y = d["x"], d["y"]
    assert x.dtype == np.uint8 and x.shape == (10000, 28, 28)
    assert y.dtype == np.uint8 and y.shape == (10000,)
    assert set(np.unique(y[8000:])) == set(range(10))  # every digit in the held-out rows


@pytest.mark.slow
def test_train_save_reload_same_predictions(tmp_path):
    pytest.importorskip("larq")
    keras = pytest.importorskip("tf_keras")  # larq 0.14 layers are tf_keras layers
    import larq as lq

    # 1. The CLI trains 1 epoch on 512 images and writes model.h5 + model.json.
    cli_out = tmp_path / "cli" / "model.h5"
    r = _run([sys.executable, str(TRAIN_PY), *ARGS, "--out", str(cli_out)], tmp_path)
    assert "test accuracy:" in r.stdout
    meta = json.loads(cli_out.with_suffix(".json").read_text())
    assert meta["input_range"] == [0, 1]
    assert meta["epochs"] == 1 and meta["seed"] == 3
    assert 0.0 <= meta["test_accuracy"] <= 1.0

    # 2. Same run again in a fresh process, also dumping the in-memory model's predictions.
    api_out = tmp_path / "api" / "model.h5"
    script = textwrap.dedent(f"""
        import importlib.util, sys, numpy as np
        spec = importlib.util.spec_from_file_location("mnist_train", {str(TRAIN_PY)!r})
        train = importlib.util.module_from_spec(spec); spec.loader.exec_module(train)
        model, info = train.train(train.parse_args({ARGS!r} + ["--out", {str(api_out)!r}]))
        _, _, x_test, _ = train.load_data("mnist10k", limit=512)
        np.save({str(tmp_path / "pred.npy")!r}, model.predict(train.preprocess(x_test), verbose=0))
    """)
    _run([sys.executable, "-c", script], tmp_path)
    pred = np.load(tmp_path / "pred.npy")

    # 3. Reload: importing larq registers its objects, so a plain load_model works; explicit
    #    custom_objects must work too. Predictions must be identical to the in-memory model's.
    with np.load(DATA) as d:
        x_test, y_test = d["x"][8000:8512], d["y"][8000:8512]
    x = (x_test.astype(np.float32) / 255.0)[..., None]
    plain = keras.models.load_model(api_out)
    explicit = keras.models.load_model(
        api_out,
        compile=False,
        custom_objects={
            "QuantConv2D": lq.layers.QuantConv2D,
            "QuantDense": lq.layers.QuantDense,
            "SteSign": lq.quantizers.SteSign,
            "weight_clip": lq.constraints.WeightClip,
        },
    )
    cli = keras.models.load_model(cli_out, compile=False)
    np.testing.assert_array_equal(plain.predict(x, verbose=0), pred)
    np.testing.assert_array_equal(explicit.predict(x, verbose=0), pred)
    # Reproducible across processes: same seed -> same weights -> same predictions.
    for w_cli, w_api in zip(cli.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(w_cli, w_api)
    np.testing.assert_array_equal(cli.predict(x, verbose=0), pred)
    assert float(np.mean(pred.argmax(axis=1) == y_test)) == pytest.approx(meta["test_accuracy"], abs=1e-5)

    # Only converter-supported layers.
    assert [type(layer).__name__ for layer in plain.layers] == [
        "QuantConv2D",
        "MaxPooling2D",
        "BatchNormalization",
        "QuantConv2D",
        "MaxPooling2D",
        "BatchNormalization",
        "Flatten",
        "QuantDense",
        "BatchNormalization",
        "QuantDense",
        "BatchNormalization",
        "Activation",
    ]


@pytest.mark.slow
@pytest.mark.qemu
def test_residual_example_trains_converts_and_runs_bit_exact(tmp_path):
    """The Bi-Real-style example as a user runs it: train briefly, convert, run held-out digits in QEMU
    with --keras. The target equals the reference on every digit; the reference matches Larq on every
    threshold layer, and the int16 stream signs that differ lie within their bounds."""
    model = tmp_path / "residual.h5"
    _run([sys.executable, str(TRAIN_PY), "--arch", "residual", *ARGS, "--out", str(model)], tmp_path)
    with np.load(DATA) as d:
        x = (d["x"][8000:8060].astype(np.float32) / 255.0)[..., None]
    np.savez(tmp_path / "digits.npz", x=x)
    bnn = [sys.executable, "-m", "bnn_mcu"]
    _run([*bnn, "convert", str(model), "-o", str(tmp_path / "fw"), "--input-range", "0", "1"], tmp_path)
    r = _run([*bnn, "run", str(tmp_path / "fw"), "--inputs", str(tmp_path / "digits.npz"), "--keras", str(model),
              "--json"], tmp_path)
    s = json.loads(r.stdout)
    assert s["matches"] == s["inputs"] == 60 and s["mismatches"] == 0
    assert s["keras_unexplained_disagreements"] == 0
    assert s["keras_fixed_point_disagreements"] <= 0.001 * s["keras_bits_compared"]
    assert s["keras_stream_max_abs_diff"] > 0
