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
        filters, k, **{"input_quantizer": None if first else "ste_sign", "kernel_quantizer": "ste_sign",
                       "kernel_constraint": "weight_clip", "use_bias": False, **kw})


def qdense(units, first=False, **kw):
    import larq as lq

    return lq.layers.QuantDense(
        units, **{"input_quantizer": None if first else "ste_sign", "kernel_quantizer": "ste_sign",
                  "kernel_constraint": "weight_clip", "use_bias": False, **kw})


def randomize(model, seed=0, fan_scale=True):
    """Set every weight: ±-ish kernels, BN stats centred on each layer's accumulator range."""
    rng = np.random.default_rng(seed)
    k = keras()
    for layer in model.layers:
        if type(layer).__name__ in ("QuantConv2D", "QuantConv1D", "QuantDense", "QuantDepthwiseConv2D"):
            kern = layer.depthwise_kernel if hasattr(layer, "depthwise_kernel") else layer.kernel
            kern.assign(rng.uniform(-1, 1, kern.shape).astype(np.float32))
            if layer.use_bias:
                layer.bias.assign(rng.normal(0, 2, layer.bias.shape).astype(np.float32))
            fan_in = int(np.prod(kern.shape[:2] if hasattr(layer, "depthwise_kernel") else kern.shape[:-1]))
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


def bconv(filters, k, **kw):
    """A binary conv whose input quantizer is a sign (any sign-family quantizer via input_quantizer=)."""
    return qconv(filters, k, **kw)


def same_padding_model(pad_values=0.0, input_shape=(9, 7, 3), seed=0, strides=1, kernel=3, first_same=True,
                       input_sign=False):
    """Every conv 'same' (odd sizes: asymmetric bottom/right padding) with Larq's pad_values."""
    k = keras()
    first_q = "ste_sign" if input_sign else None
    layers = [k.layers.InputLayer(input_shape),
              qconv(12, kernel, first=True, padding="same" if first_same else "valid", strides=strides,
                    input_quantizer=first_q, pad_values=pad_values),
              k.layers.BatchNormalization(),
              qconv(33, kernel, padding="same", strides=strides, pad_values=pad_values),
              k.layers.BatchNormalization(), k.layers.Flatten(), qdense(5), k.layers.BatchNormalization()]
    return randomize(k.Sequential(layers, name="same_padding"), seed=seed)


def binary_mlp(n_in=(28, 28), hidden=(64, 48), classes=10, seed=0):
    """The textbook binary MLP: the first layer binarizes the pixels (input_quantizer='ste_sign')."""
    k = keras()
    layers = [k.layers.InputLayer(n_in), k.layers.Flatten(), qdense(hidden[0], input_quantizer="ste_sign"),
              k.layers.BatchNormalization()]
    for h in hidden[1:]:
        layers += [qdense(h), k.layers.BatchNormalization()]
    layers += [qdense(classes), k.layers.BatchNormalization(), k.layers.Activation("softmax")]
    return randomize(k.Sequential(layers, name="binary_mlp"), seed=seed)


def everything_model(seed=0):
    """One model with every capability of the graph-IR issue: a binarized model input into a 'same' conv
    (pad_values=1), a 'same' conv with pad_values=0, stride 2 and a bias before BN, 'same' max-pooling
    3x3/2 before a BN with mixed-sign gamma, BN without center, BN without scale and a large epsilon,
    a 5x3 kernel, SteSign(clip_value=0.5) and ApproxSign/SwishSign quantizers, a dense layer, and a last
    binary layer without BN (real logits) with a bias."""
    import larq as lq

    k = keras()
    layers = [
        k.layers.InputLayer((11, 10, 2)),
        qconv(16, 3, padding="same", pad_values=1.0, input_quantizer="ste_sign"), k.layers.BatchNormalization(),
        qconv(24, 3, padding="same", strides=2, use_bias=True,
              input_quantizer=lq.quantizers.SteSign(clip_value=0.5)), k.layers.BatchNormalization(center=False),
        k.layers.MaxPooling2D(3, strides=2, padding="same"), k.layers.BatchNormalization(epsilon=0.5),
        qconv(40, (5, 3), padding="same", input_quantizer="approx_sign"), k.layers.BatchNormalization(scale=False),
        k.layers.Flatten(), qdense(33, input_quantizer="swish_sign"), k.layers.BatchNormalization(),
        qdense(7, use_bias=True),
    ]
    return randomize(k.Sequential(layers, name="everything"), seed=seed)


def branchy_model(seed=0, input_sign=False):
    """A functional model whose branches meet again (BinaryDenseNet / Inception style): a BN output read
    by two convs and a concatenation, a branch pooled after its BN, concatenations at channel offsets
    that are not multiples of 32 (20 + 13 + 7), a pool of a concatenation, and a 'same' conv after it."""
    k = keras()
    inp = k.Input((10, 9, 3))
    first = qconv(20, 3, first=True, padding="same", input_quantizer="ste_sign" if input_sign else None)
    x = k.layers.BatchNormalization()(first(inp))
    a = k.layers.BatchNormalization()(qconv(13, 3, padding="same", pad_values=1.0)(x))
    b = k.layers.BatchNormalization()(qconv(7, 1)(x))
    b = k.layers.MaxPooling2D(3, strides=1, padding="same")(b)
    y = k.layers.Concatenate()([x, a, b])  # 40 channels
    y = k.layers.MaxPooling2D(2)(y)  # 5x4
    z = k.layers.BatchNormalization()(qconv(33, 3, padding="same")(y))
    y = k.layers.Concatenate(axis=-1)([y, z])  # 73 channels
    out = k.layers.BatchNormalization()(qdense(10)(k.layers.Flatten()(y)))
    out = k.layers.Activation("softmax")(out)
    return randomize(k.Model(inp, out, name="branchy"), seed=seed)


def activations_model(seed=0, magnitude_aware=True):
    """Clipping activations before batch-norms, fused (activation=) and as layers, and XNOR-Net's
    MagnitudeAwareSign kernel scales: relu on the 8-bit first layer, hard_tanh fused into a 'same' conv,
    ReLU(max_value=6) and Activation('relu') layers before and after a pool, relu6 on a dense layer, and
    scaled kernels on every layer but the first (the last layer's scale lands in its float affine)."""
    k = keras()
    kq = "magnitude_aware_sign" if magnitude_aware else "ste_sign"
    layers = [
        k.layers.InputLayer((9, 8, 2)),
        qconv(12, 3, first=True, activation="relu"), k.layers.BatchNormalization(),
        qconv(20, 3, padding="same", kernel_quantizer=kq, activation="hard_tanh"),
        k.layers.BatchNormalization(),
        qconv(24, 3, padding="same", kernel_quantizer=kq, use_bias=True), k.layers.ReLU(max_value=6.0),
        k.layers.MaxPooling2D(2), k.layers.BatchNormalization(), k.layers.Activation("relu"),
        k.layers.BatchNormalization(),
        k.layers.Flatten(), qdense(17, kernel_quantizer=kq, activation="relu6"), k.layers.BatchNormalization(),
        qdense(6, kernel_quantizer=kq, use_bias=True), k.layers.BatchNormalization(),
    ]
    model = randomize(k.Sequential(layers, name="activations"), seed=seed)
    # BN statistics mostly inside each clip's output range (those channels switch), some outside (there
    # the clip decides: the channel becomes constant, unlike without the activation)
    rng = np.random.default_rng(seed + 100)
    for prev, layer in zip(model.layers, model.layers[1:]):
        act = getattr(getattr(prev, "activation", None), "__name__", "")
        if isinstance(prev, k.layers.ReLU):
            act = "relu"
        if isinstance(layer, k.layers.BatchNormalization) and act in ("relu", "relu6", "hard_tanh"):
            c = layer.moving_mean.shape[0]
            lo, hi = (-1.6, 1.6) if act == "hard_tanh" else (-1.0, 4.0)
            layer.moving_mean.assign(rng.uniform(lo, hi, c).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.05, 1.0, c).astype(np.float32))
            if layer.beta is not None:
                layer.beta.assign(rng.normal(0, 0.2, c).astype(np.float32))
    return model


def kws_model(seed=0, pad_values=0.0, input_sign=False):
    """A keyword-spotting stack on (time, features): QuantConv1D with a real (or binarized) first layer,
    stride 2 and 'same' padding, MaxPooling1D 'same', a 'same' conv with both pad values, a 'causal'
    conv, then a dense head."""
    import larq as lq

    k = keras()

    def conv1d(filters, size, first=False, **kw):
        return lq.layers.QuantConv1D(filters, size, **{
            "input_quantizer": None if first else "ste_sign", "kernel_quantizer": "ste_sign",
            "kernel_constraint": "weight_clip", "use_bias": False, **kw})

    layers = [
        k.layers.InputLayer((49, 10)),
        conv1d(24, 5, first=True, strides=2, padding="same", input_quantizer="ste_sign" if input_sign else None,
               pad_values=pad_values),
        k.layers.BatchNormalization(),
        k.layers.MaxPooling1D(3, strides=2, padding="same"), k.layers.BatchNormalization(),
        conv1d(33, 3, padding="same", pad_values=pad_values), k.layers.BatchNormalization(),
        conv1d(40, 4, padding="causal", strides=1), k.layers.BatchNormalization(),
        conv1d(20, 3, strides=2), k.layers.BatchNormalization(),
        k.layers.Flatten(), qdense(12), k.layers.BatchNormalization(), k.layers.Activation("softmax"),
    ]
    return randomize(k.Sequential(layers, name="kws"), seed=seed)


def depthwise_model(seed=0, multiplier=1, strides=1, padding="same", pad_values=1.0):
    """Binary depthwise convolutions between binary convs (MobileNet-style blocks), with a bias and
    channel counts that are not multiples of 32."""
    import larq as lq

    k = keras()

    def dw(**kw):
        return lq.layers.QuantDepthwiseConv2D(3, **{
            "input_quantizer": "ste_sign", "depthwise_quantizer": "ste_sign", "depthwise_constraint": "weight_clip",
            "use_bias": False, **kw})

    layers = [
        k.layers.InputLayer((11, 10, 3)), qconv(20, 3, first=True, padding="same"), k.layers.BatchNormalization(),
        dw(depth_multiplier=multiplier, strides=strides, padding=padding, pad_values=pad_values),
        k.layers.BatchNormalization(),
        qconv(33, 1), k.layers.BatchNormalization(),
        dw(depth_multiplier=2, padding="same", pad_values=0.0, use_bias=True), k.layers.BatchNormalization(),
        k.layers.Flatten(), qdense(7), k.layers.BatchNormalization(),
    ]
    return randomize(k.Sequential(layers, name="depthwise"), seed=seed)


def residual_model(seed=0, blocks=3, channels=16, pad_values=1.0, input_shape=(10, 9, 3)):
    """Bi-Real-style residual blocks ``x = x + BN(QuantConv2D(sign(x)))`` on a real-valued stream that
    starts at the stem (a binary-weight conv on the real input, then BN), then a dense head on sign(x)."""
    k = keras()
    inp = k.Input(input_shape)
    x = k.layers.BatchNormalization()(qconv(channels, 3, first=True, padding="same")(inp))
    for i in range(blocks):
        y = qconv(channels, 3, padding="same", pad_values=pad_values)(x)
        y = k.layers.BatchNormalization()(y)
        x = k.layers.Add(name=f"residual_{i}")([x, y])
    out = k.layers.BatchNormalization()(qdense(10)(k.layers.Flatten()(x)))
    return randomize(k.Model(inp, k.layers.Activation("softmax")(out), name="residual"), seed=seed)


def pooled_residual_model(seed=0, global_pool=True, real_head=True):
    """A residual stream average-pooled ('same' 3x3/2: border classes; then a block on the pooled
    stream) and ended by a global average pool and a real-input QuantDense head (input_quantizer=None),
    as in the published architectures' heads."""
    k = keras()
    inp = k.Input((11, 10, 3))
    x = k.layers.BatchNormalization()(qconv(24, 3, first=True, padding="same")(inp))
    y = k.layers.BatchNormalization()(qconv(24, 3, padding="same", pad_values=1.0)(x))
    x = k.layers.Add()([x, y])
    x = k.layers.AveragePooling2D(3, strides=2, padding="same")(x)  # 6x5
    y = k.layers.BatchNormalization()(qconv(24, 3, padding="same", pad_values=1.0)(x))
    x = k.layers.Add()([x, y])
    if global_pool:
        x = k.layers.GlobalAveragePooling2D()(x)
    else:
        x = k.layers.Flatten()(k.layers.AveragePooling2D(2)(x))
    out = k.layers.BatchNormalization()(qdense(10, first=real_head)(x))
    return randomize(k.Model(inp, k.layers.Activation("softmax")(out), name="pooled_residual"), seed=seed)


def larq_everything_model(seed=0):
    """One functional model with every layer kind of the 'rest of Larq' issue at once: a ZeroPadding2D
    into the real-input stem (relu before its BN), XNOR-Net scales, a hard_tanh-fused conv, a depthwise
    conv (multiplier 2), a 'same' max-pool, branches meeting in a Concatenate (33 + 20 channels), a
    residual block on an int16 stream, an average pool of the stream, another block, a global average
    pool and a real-input QuantDense head with a bias."""
    import larq as lq

    k = keras()
    inp = k.Input((12, 11, 3))
    x = qconv(20, 3, first=True, activation="relu")(k.layers.ZeroPadding2D(1)(inp))
    x = k.layers.BatchNormalization()(x)  # 12x11x20
    a = qconv(33, 3, padding="same", pad_values=1.0, kernel_quantizer="magnitude_aware_sign",
              activation="hard_tanh")(x)
    a = k.layers.BatchNormalization()(a)
    d = lq.layers.QuantDepthwiseConv2D(3, depth_multiplier=2, padding="same", input_quantizer="ste_sign",
                                       depthwise_quantizer="ste_sign", use_bias=False)(x)
    d = k.layers.MaxPooling2D(3, strides=1, padding="same")(k.layers.BatchNormalization()(d))  # 40 channels
    cat = k.layers.Concatenate()([a, d])  # 73 channels
    s = k.layers.BatchNormalization()(qconv(24, 3, strides=2, padding="same")(cat))  # a new stream, 6x6
    y = k.layers.BatchNormalization()(qconv(24, 3, padding="same", pad_values=1.0)(s))
    s = k.layers.Add()([s, y])
    s = k.layers.AveragePooling2D(2, strides=1, padding="same")(s)
    y = k.layers.BatchNormalization()(qconv(24, 1)(s))
    s = k.layers.Add()([s, y])
    head = qdense(10, first=True, use_bias=True)(k.layers.GlobalAveragePooling2D()(s))
    out = k.layers.Activation("softmax")(k.layers.BatchNormalization()(head))
    model = randomize(k.Model(inp, out, name="larq_everything"), seed=seed)
    relu_bn = model.layers[3]  # BN statistics inside relu's range, so that its channels switch
    c = relu_bn.moving_mean.shape[0]
    rng = np.random.default_rng(seed + 1)
    relu_bn.moving_mean.assign(rng.uniform(0.5, 4.0, c).astype(np.float32))
    relu_bn.moving_variance.assign(rng.uniform(0.5, 4.0, c).astype(np.float32))
    return model
