#!/usr/bin/env python3
"""The Python API from a notebook: train a Larq model in memory, convert it without saving a file,
build it, run it in QEMU and look at the result (and the HTML report).

Run it as a script (``python examples/notebook_api.py``) or paste the cells into a notebook. It uses the
10 000 MNIST digits shipped in examples/mnist/data (offline) and takes about a minute.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # Larq needs Keras 2 (tf-keras), before TensorFlow loads
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

DIGITS = Path(__file__).resolve().parent / "mnist" / "data" / "mnist10k.npz"


def make_model():
    """A small binary MLP: binary weights everywhere; the first layer takes the 8-bit pixels as they are
    (the target adds and subtracts them), the others binary activations."""
    import larq as lq
    import tf_keras as keras

    binary = {"kernel_quantizer": "ste_sign", "kernel_constraint": "weight_clip", "use_bias": False}
    return keras.Sequential([
        keras.layers.InputLayer((28, 28)), keras.layers.Flatten(),
        lq.layers.QuantDense(128, input_quantizer=None, **binary), keras.layers.BatchNormalization(),
        lq.layers.QuantDense(64, input_quantizer="ste_sign", **binary), keras.layers.BatchNormalization(),
        lq.layers.QuantDense(10, input_quantizer="ste_sign", **binary), keras.layers.BatchNormalization(),
        keras.layers.Activation("softmax"),
    ], name="notebook_mlp")


def main(outdir: str | Path = "out/notebook", *, n_train: int = 8000, epochs: int = 3, n_test: int = 200,
         report: str | Path | None = None):
    import bnn_mcu
    import tensorflow as tf

    # --- cell 1: data (x = pixel / 255, as the model trains on it) and a model, trained in memory
    tf.random.set_seed(0)
    digits = np.load(DIGITS)
    x = digits["x"].astype(np.float32) / 255.0
    y = digits["y"].astype(np.int64)
    model = make_model()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:n_train], y[:n_train], epochs=epochs, batch_size=64, verbose=0)

    # --- cell 2: convert the in-memory model (nothing saved), build, run on the emulated board
    project = bnn_mcu.convert(model, outdir, board="mps2-an386", input_range=(0, 1))
    built = bnn_mcu.build(project)
    result = bnn_mcu.run(project, x[8000:8000 + n_test], y[8000:8000 + n_test], keras=model, report=report)

    # --- cell 3: look at it
    s = result.summary
    print(f"bit-exact with the reference: {result.matches}/{s['inputs']}")
    print(f"accuracy: target {s['accuracy_target']:.3f}, float Larq {s['float_accuracy_keras']:.3f}; "
          f"top-1 agreement with the float model {s['float_top1_agreement']:.3f}")
    print(f"{s['per_inference_mean']:,.0f} instructions per inference; flash {built.flash_bytes:,} B, "
          f"RAM {built.ram_bytes:,} B")
    return result


if __name__ == "__main__":
    main(report="out/notebook/report.html")
