#!/usr/bin/env python3
"""Train a small Larq binary neural network on MNIST and save it as a Keras ``.h5`` file.

The model only uses layers that the bnn-mcu converter supports (see README.md next to this file):
QuantConv2D (valid, stride 1) / QuantDense with binary weights and no bias, BatchNormalization,
MaxPooling2D 2x2, Flatten, Dropout and a final softmax.

Input convention: float images ``x = pixel / 255`` in [0, 1], shape (28, 28, 1). The firmware feeds
the first layer the raw 8-bit pixel ``q`` with ``x = 0 + q * (1 - 0) / 255``, so the range maps exactly.

Examples::

    python examples/mnist/train.py                      # shipped 10k digits, offline
    python examples/mnist/train.py --data keras         # full MNIST (downloads once via Keras)
    python examples/mnist/train.py --epochs 1 --limit 512 --out /tmp/m.h5   # quick smoke run

Besides the model, a small JSON file is written next to it (``model.h5`` -> ``model.json``) with the
test accuracy, input range, epochs and seed.
"""

from __future__ import annotations

import os

# Larq 0.14 only works with legacy Keras 2 (tf-keras); this must happen before TensorFlow is imported.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import json
import logging
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE / "data" / "mnist10k.npz"
DEFAULT_OUT = HERE / "model.h5"
N_TRAIN_10K = 8000  # rows 0..7999 of mnist10k.npz are train, 8000..9999 test
INPUT_RANGE = (0, 1)  # x = LO + pixel * (HI - LO) / 255

log = logging.getLogger("mnist.train")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=30, help="training epochs (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=64, help="batch size (default: %(default)s)")
    p.add_argument(
        "--lr",
        type=float,
        default=5e-3,
        help="initial Adam learning rate, cosine-decayed to 1%% (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument(
        "--data",
        choices=["mnist10k", "keras"],
        default="mnist10k",
        help="mnist10k: the 10,000 digits shipped in data/ (8,000 train / 2,000 test, offline); "
        "keras: full MNIST via tf.keras.datasets.mnist (60k/10k, downloads once)",
    )
    p.add_argument(
        "--data-path", type=Path, default=DEFAULT_DATA, help="path of mnist10k.npz (default: the shipped copy)"
    )
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="use only the first N training and first N test images (for quick tests)",
    )
    p.add_argument(
        "--no-determinism", action="store_true", help="do not call tf.config.experimental.enable_op_determinism()"
    )
    p.add_argument("--arch", choices=sorted(ARCHITECTURES), default="cnn",
                   help="cnn: the Larq-guide CNN (the demo); residual: Bi-Real-style blocks on an int16 stream")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output .h5 path (default: %(default)s)")
    p.add_argument("-q", "--quiet", action="store_true", help="only log warnings")
    return p.parse_args(argv)


def load_data(source: str, data_path: Path = DEFAULT_DATA, limit: int | None = None):
    """Return (x_train, y_train, x_test, y_test); x is uint8 (N, 28, 28), y is uint8 (N,)."""
    if source == "mnist10k":
        with np.load(data_path) as d:
            x, y = d["x"], d["y"]
        x_train, y_train = x[:N_TRAIN_10K], y[:N_TRAIN_10K]
        x_test, y_test = x[N_TRAIN_10K:], y[N_TRAIN_10K:]
    elif source == "keras":
        import tensorflow as tf

        try:  # downloads ~11 MB to ~/.keras/datasets on first use
            (x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
        except Exception as e:
            raise SystemExit(f"could not load the full MNIST via tf.keras ({e}); offline? use --data mnist10k") from e
    else:
        raise ValueError(f"unknown data source {source!r}")
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
        x_test, y_test = x_test[:limit], y_test[:limit]
    return x_train, y_train, x_test, y_test


def preprocess(x_uint8: np.ndarray) -> np.ndarray:
    """uint8 pixels (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]: x = pixel / 255."""
    lo, hi = INPUT_RANGE
    return (lo + x_uint8.astype(np.float32) * ((hi - lo) / 255.0))[..., np.newaxis]


def build_model():
    """Binary CNN restricted to the layer subset the bnn-mcu converter supports."""
    import larq as lq
    import tensorflow as tf

    keras = tf.keras
    binary = {"kernel_quantizer": "ste_sign", "kernel_constraint": "weight_clip", "use_bias": False}
    bn = {"momentum": 0.9, "scale": False}
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1), name="image"),
            # First layer: real-valued [0,1] input, binary weights.
            lq.layers.QuantConv2D(32, (3, 3), input_quantizer=None, name="conv1", **binary),
            keras.layers.MaxPooling2D((2, 2), name="pool1"),
            keras.layers.BatchNormalization(name="bn1", **bn),
            # Later layers: binary input (sign of the previous BN output) and binary weights.
            lq.layers.QuantConv2D(64, (3, 3), input_quantizer="ste_sign", name="conv2", **binary),
            keras.layers.MaxPooling2D((2, 2), name="pool2"),
            keras.layers.BatchNormalization(name="bn2", **bn),
            keras.layers.Flatten(name="flatten"),
            lq.layers.QuantDense(256, input_quantizer="ste_sign", name="fc1", **binary),
            keras.layers.BatchNormalization(name="bn3", **bn),
            lq.layers.QuantDense(10, input_quantizer="ste_sign", name="fc2", **binary),
            keras.layers.BatchNormalization(name="bn4", **bn),
            keras.layers.Activation("softmax", name="softmax"),
        ],
        name="mnist_bnn",
    )


def build_residual_model():
    """A Bi-Real-style binary CNN: a stem (binary weights on the real pixels) starts a real-valued stream,
    and every block adds ``BN(QuantConv2D(sign(x)))`` to it. On the target the stream is int16 fixed
    point (bnn_mcu/ops/requant.py); the README reports how close it stays to Larq's float pass."""
    import larq as lq
    import tensorflow as tf

    keras = tf.keras
    binary = {"kernel_quantizer": "ste_sign", "kernel_constraint": "weight_clip", "use_bias": False}
    sign_in = {"input_quantizer": "ste_sign", "padding": "same", "pad_values": 1.0, **binary}
    image = keras.Input(shape=(28, 28, 1), name="image")
    x = lq.layers.QuantConv2D(16, 3, strides=2, padding="same", input_quantizer=None, name="stem", **binary)(image)
    x = keras.layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)  # 14x14x16
    for stage, (channels, blocks) in enumerate([(16, 2), (32, 2)]):
        if stage:  # downsample: a strided binary conv on sign(x) starts the next stream
            x = lq.layers.QuantConv2D(channels, 3, strides=2, name=f"down{stage}", **sign_in)(x)
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"down{stage}_bn")(x)
        for b in range(blocks):
            y = lq.layers.QuantConv2D(channels, 3, name=f"s{stage}b{b}_conv", **sign_in)(x)
            y = keras.layers.BatchNormalization(momentum=0.9, name=f"s{stage}b{b}_bn")(y)
            x = keras.layers.Add(name=f"s{stage}b{b}_add")([x, y])
    x = keras.layers.Flatten(name="flatten")(x)
    x = lq.layers.QuantDense(10, input_quantizer="ste_sign", name="fc", **binary)(x)
    x = keras.layers.BatchNormalization(momentum=0.9, scale=False, name="fc_bn")(x)
    out = keras.layers.Activation("softmax", name="softmax")(x)
    return keras.Model(image, out, name="mnist_residual_bnn")


ARCHITECTURES = {"cnn": build_model, "residual": build_residual_model}


class _LogEpoch:
    """Factory for a Keras callback that logs one line per epoch (instead of the progress bar)."""

    @staticmethod
    def make(epochs: int):
        import tensorflow as tf

        class LogEpoch(tf.keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self._t0 = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                lr = self.model.optimizer.learning_rate
                lr = float(lr(self.model.optimizer.iterations) if callable(lr) else lr)
                log.info(
                    "epoch %2d/%d  loss %.4f  train acc %.4f  lr %.2e  (%.1f s)",
                    epoch + 1,
                    epochs,
                    logs.get("loss", float("nan")),
                    logs.get("accuracy", float("nan")),
                    lr,
                    time.perf_counter() - self._t0,
                )

        return LogEpoch()


def train(args: argparse.Namespace):
    """Train per ``args``, save the .h5 and JSON; return (model, info dict)."""
    import larq as lq
    import tensorflow as tf

    tf.keras.utils.set_random_seed(args.seed)  # seeds Python, NumPy and TensorFlow
    if not args.no_determinism:
        tf.config.experimental.enable_op_determinism()

    x_train, y_train, x_test, y_test = load_data(args.data, args.data_path, args.limit)
    x_train, x_test = preprocess(x_train), preprocess(x_test)
    log.info("data %s: %d train / %d test images", args.data, len(x_train), len(x_test))

    model = ARCHITECTURES[getattr(args, "arch", "cnn")]()
    if not args.quiet:
        lq.models.summary(model, print_fn=lambda s: log.info("%s", s))

    steps = args.epochs * int(np.ceil(len(x_train) / args.batch_size))
    schedule = tf.keras.optimizers.schedules.CosineDecay(args.lr, decay_steps=max(steps, 1), alpha=0.01)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )

    t0 = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        shuffle=True,
        verbose=0,
        callbacks=[_LogEpoch.make(args.epochs)],
    )
    train_seconds = time.perf_counter() - t0

    _, test_acc = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    log.info(
        "training took %.1f s; Larq model test accuracy %.4f on %d held-out images",
        train_seconds,
        test_acc,
        len(x_test),
    )

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # .h5 is what the bnn-mcu frontend reads; silence the "legacy" nag
        warnings.filterwarnings("ignore", message=".*HDF5 file.*")
        model.save(out, save_format="h5", include_optimizer=False)  # ~3x smaller; not needed to convert
    info = {
        "test_accuracy": round(float(test_acc), 6),
        "input_range": list(INPUT_RANGE),
        "epochs": args.epochs,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "data": args.data,
        "train_images": len(x_train),
        "test_images": len(x_test),
        "arch": getattr(args, "arch", "cnn"),
    }
    json_path = out.with_suffix(".json")
    json_path.write_text(json.dumps(info, indent=2) + "\n")
    log.info("saved %s and %s", out, json_path)
    return model, dict(info, train_seconds=train_seconds)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    _, info = train(args)
    print(f"test accuracy: {info['test_accuracy']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
