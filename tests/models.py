"""Small Larq models with set (seeded random) weights for tests: no training, built in milliseconds.

Batch-norm statistics are drawn so that thresholds land inside the accumulator range, some gammas
are negative and one channel has gamma = 0, which exercises every case of the threshold derivation.
"""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def keras():
    import larq  # noqa: F401
    import tf_keras

    return tf_keras


def qconv(filters, k, first=False, **kw):
    import larq as lq

    return lq.layers.QuantConv2D(
        filters, k, input_quantizer=None if first else "ste_sign", kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip", **{"use_bias": False, **kw})


def qdense(units, first=False, **kw):
    import larq as lq

    return lq.layers.QuantDense(
        units, input_quantizer=None if first else "ste_sign", kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip", **{"use_bias": False, **kw})


def randomize(model, seed=0, fan_scale=True):
    """Set every weight: ±-ish kernels, BN stats centred on each layer's accumulator range."""
    rng = np.random.default_rng(seed)
    k = keras()
    for layer in model.layers:
        if type(layer).__name__ in ("QuantConv2D", "QuantDense"):
            kern = layer.kernel
            kern.assign(rng.uniform(-1, 1, kern.shape).astype(np.float32))
            if layer.use_bias:
                layer.bias.assign(rng.normal(0, 2, layer.bias.shape).astype(np.float32))
            fan_in = int(np.prod(kern.shape[:-1]))
        elif isinstance(layer, k.layers.BatchNormalization):
            c = layer.moving_mean.shape[0]
            spread = np.sqrt(fan_in) if fan_scale else 1.0
            layer.moving_mean.assign(rng.normal(0, spread, c).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.5, 2, c).astype(np.float32) * spread**2)
            if layer.gamma is not None:
                g = rng.uniform(0.2, 2, c) * rng.choice([-1, 1], c)
                g[0] = 0.0 if c > 2 else g[0]
                layer.gamma.assign(g.astype(np.float32))
            if layer.beta is not None:
                layer.beta.assign(rng.normal(0, 0.5, c).astype(np.float32))
    return model


def conv_model(input_shape=(12, 12, 3), c1=8, c2=33, units=40, classes=10, pool_before_bn=True,
               softmax=True, seed=0):
    """conv(first, real input) -> pool/BN -> conv -> pool/BN -> flatten -> dense -> BN -> dense -> BN."""
    k = keras()
    pool_bn = ([k.layers.MaxPooling2D(2), k.layers.BatchNormalization()] if pool_before_bn
               else [k.layers.BatchNormalization(), k.layers.MaxPooling2D(2)])
    pool_bn2 = ([k.layers.MaxPooling2D(2), k.layers.BatchNormalization(scale=False)] if pool_before_bn
                else [k.layers.BatchNormalization(), k.layers.MaxPooling2D(2)])
    layers = [k.layers.InputLayer(input_shape), qconv(c1, 3, first=True), *pool_bn,
              qconv(c2, 3), *pool_bn2, k.layers.Flatten(), k.layers.Dropout(0.2),
              qdense(units), k.layers.BatchNormalization(), qdense(classes), k.layers.BatchNormalization()]
    if softmax:
        layers.append(k.layers.Activation("softmax"))
    return randomize(k.Sequential(layers, name="toy_conv"), seed=seed)


def mlp_model(n_in=70, hidden=(65, 31), classes=5, seed=0):
    k = keras()
    layers = [k.layers.InputLayer((n_in,)), qdense(hidden[0], first=True), k.layers.BatchNormalization()]
    for h in hidden[1:]:
        layers += [qdense(h), k.layers.BatchNormalization()]
    layers += [qdense(classes), k.layers.BatchNormalization()]
    return randomize(k.Sequential(layers, name="toy_mlp"), seed=seed)
