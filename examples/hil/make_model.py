"""Make model.h5, the small Larq BNN this example suite tests: set (seeded) weights, no training.

    python make_model.py            # writes model.h5 next to this file

12x12 grey images in [0, 1] -> QuantConv2D(16, 3x3) on the real input -> max-pool -> BN ->
QuantConv2D(32, 3x3, binarized input) -> BN -> flatten -> QuantDense(10) -> BN. About 100 k binary
MACs: an inference takes a fraction of a millisecond in QEMU. Your own suite would point its
``bnn_model`` fixture at the model your training writes instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # Larq 0.14 needs legacy Keras 2
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent


def build(seed: int = 7):
    import larq as lq
    import tf_keras as keras

    binary = {"kernel_quantizer": "ste_sign", "kernel_constraint": "weight_clip", "use_bias": False}
    model = keras.Sequential([
        keras.layers.InputLayer((12, 12, 1)),
        lq.layers.QuantConv2D(16, 3, input_quantizer=None, name="conv1", **binary),
        keras.layers.MaxPooling2D(2, name="pool1"),
        keras.layers.BatchNormalization(name="bn1"),
        lq.layers.QuantConv2D(32, 3, input_quantizer="ste_sign", name="conv2", **binary),
        keras.layers.BatchNormalization(name="bn2"),
        keras.layers.Flatten(name="flatten"),
        lq.layers.QuantDense(10, input_quantizer="ste_sign", name="fc", **binary),
        keras.layers.BatchNormalization(name="bn3"),
    ], name="hil_example")
    rng = np.random.default_rng(seed)
    fan_in = 1
    for layer in model.layers:
        if isinstance(layer, (lq.layers.QuantConv2D, lq.layers.QuantDense)):
            layer.kernel.assign(rng.uniform(-1, 1, layer.kernel.shape).astype(np.float32))
            fan_in = int(np.prod(layer.kernel.shape[:-1]))
        elif isinstance(layer, keras.layers.BatchNormalization):
            c = layer.moving_mean.shape[0]
            scale = np.sqrt(fan_in) * (0.25 if layer.name == "bn1" else 1.0)  # conv1 sums 8-bit inputs
            layer.moving_mean.assign(rng.normal(0, scale, c).astype(np.float32))
            layer.moving_variance.assign((rng.uniform(0.5, 2, c) * scale**2).astype(np.float32))
            layer.gamma.assign((rng.uniform(0.2, 2, c) * rng.choice([-1, 1], c)).astype(np.float32))
            layer.beta.assign(rng.normal(0, 0.5, c).astype(np.float32))
    return model


def main(argv=None) -> int:
    out = Path(argv[0]) if argv else HERE / "model.h5"
    build().save(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
