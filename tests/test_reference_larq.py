"""The numpy reference agrees with Larq's own forward pass (set weights and a trained model)."""

import models
import numpy as np
import pytest
from conftest import REPO, random_u8

from bnn_mcu import fold, frontend, reference
from bnn_mcu.larqcheck import compare


def _check(model, input_range=(0.0, 1.0), n=300, seed=0):
    graph = fold.fold(frontend.lower(model), input_range)
    q = random_u8(graph.keras_input_shape, n, seed)
    cmp, _larq_out = compare(model, graph, q)
    assert cmp.unexplained_disagreements == 0, cmp
    assert cmp.tie_disagreements <= max(1, cmp.bits_compared // 100000), cmp
    assert cmp.top1_agreement == 1.0, cmp
    assert cmp.max_abs_output_diff < 1e-4, cmp
    return graph, cmp


@pytest.mark.parametrize("pool_before_bn", [True, False])
def test_conv_model_pool_and_bn_orders(pool_before_bn):
    graph, cmp = _check(models.conv_model(pool_before_bn=pool_before_bn, seed=3))
    assert cmp.binary_layers == 3 and cmp.bits_compared > 0
    # γ<0 channels exist, so both pooling directions are exercised when the pool precedes BN.
    masks = [l.or_mask for l in graph.layers if hasattr(l, "or_mask")]
    if pool_before_bn:
        assert any(m.any() and not m.all() for m in masks)
    else:
        assert not any(m.any() for m in masks)


@pytest.mark.parametrize("c2", [1, 31, 32, 33, 63, 64, 65])
def test_channel_boundaries(c2):
    _check(models.conv_model(input_shape=(10, 10, 2), c1=c2, c2=c2, units=c2, seed=c2), n=120)


def test_mlp_odd_sizes_and_negative_input_range():
    _check(models.mlp_model(n_in=70, hidden=(65, 31, 33), classes=5, seed=4), input_range=(-1.0, 1.0))


def test_biases_strides_and_2d_input():
    k = models.keras()
    # A 2-D input (H, W) through Flatten into a first dense layer; biases everywhere.
    m = k.Sequential([
        k.layers.InputLayer((9, 11)), k.layers.Flatten(),
        models.qdense(40, first=True, use_bias=True), k.layers.BatchNormalization(),
        models.qdense(7, use_bias=True), k.layers.Activation("softmax"),
    ])
    _check(models.randomize(m, seed=5), input_range=(0.0, 255.0))
    m = k.Sequential([
        k.layers.InputLayer((13, 13, 3)), models.qconv(16, 3, first=True, strides=2, use_bias=True),
        k.layers.BatchNormalization(), models.qconv(20, 2, strides=(2, 1)), k.layers.BatchNormalization(),
        k.layers.Flatten(), models.qdense(4),
    ])
    _check(models.randomize(m, seed=6))


def test_dense_on_unflattened_tensor_is_a_1x1_conv():
    k = models.keras()
    m = k.Sequential([
        k.layers.InputLayer((6, 6, 4)), models.qconv(8, 3, first=True), k.layers.BatchNormalization(),
        models.qdense(12), k.layers.BatchNormalization(), k.layers.Flatten(), models.qdense(3),
    ])
    _check(models.randomize(m, seed=8))


def test_reference_is_vectorised_enough():
    """Thousands of inputs in seconds (a guard against accidental per-input Python loops)."""
    import time

    graph = fold.fold(frontend.lower(models.conv_model()), (0.0, 1.0))
    q = random_u8(graph.keras_input_shape, 2000, 1)
    t = time.perf_counter()
    res = reference.run(graph, q)
    assert res.raw.shape == (2000, 10)
    assert time.perf_counter() - t < 20


@pytest.mark.slow
def test_trained_model_on_real_digits(tmp_path):
    """Train a small BNN for one epoch on real MNIST digits, then compare on held-out digits."""
    _tf, keras = frontend.import_tf()
    data = np.load(REPO / "examples" / "mnist" / "data" / "mnist10k.npz")
    x = data["x"][:, :, :, None].astype(np.float32) / 255.0
    y = data["y"].astype(np.int64)
    keras.utils.set_random_seed(0)
    m = keras.Sequential([
        keras.layers.InputLayer((28, 28, 1)), models.qconv(16, 3, first=True), keras.layers.MaxPooling2D(2),
        keras.layers.BatchNormalization(), models.qconv(32, 3), keras.layers.MaxPooling2D(2),
        keras.layers.BatchNormalization(), keras.layers.Flatten(), models.qdense(10),
        keras.layers.BatchNormalization(), keras.layers.Activation("softmax"),
    ])
    m.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    m.fit(x[:2000], y[:2000], epochs=1, batch_size=64, verbose=0)
    m.save(tmp_path / "trained.h5")
    loaded = frontend.load_model(tmp_path / "trained.h5")
    graph = fold.fold(frontend.lower(loaded), (0.0, 1.0))
    q = data["x"][8000:8500, :, :, None]
    cmp, _larq_out = compare(loaded, graph, q)
    assert cmp.unexplained_disagreements == 0, cmp
    assert cmp.top1_agreement == 1.0, cmp
    ref = reference.run(graph, q)
    assert np.mean(ref.top1 == y[8000:8500]) > 0.5  # it learned something real


def test_dense_directly_on_a_2d_input():
    """Keras' Dense on an (A, B) input acts on the last axis: (1, A, B) in our layout."""
    k = models.keras()
    m = k.Sequential([
        k.layers.InputLayer((6, 10)), models.qdense(12, first=True), k.layers.BatchNormalization(),
        k.layers.Flatten(), models.qdense(3),
    ])
    graph, _ = _check(models.randomize(m, seed=9))
    assert graph.input_shape == (1, 6, 10)


def test_last_layer_convolution_with_spatial_output():
    """The Larq output (N, H, W, C) is compared in the target's NHWC-flattened order."""
    k = models.keras()
    m = k.Sequential([
        k.layers.InputLayer((9, 9, 2)), models.qconv(8, 3, first=True), k.layers.BatchNormalization(),
        models.qconv(5, 3), k.layers.BatchNormalization(),
    ])
    graph, cmp = _check(models.randomize(m, seed=10))
    assert graph.output_count == 5 * 5 * 5


@pytest.mark.parametrize("pad_values", [0.0, 1.0])
@pytest.mark.parametrize("strides,kernel", [(1, 3), (2, 3), (1, 5), (2, (3, 5)), (1, 1)])
def test_same_padding_both_pad_values(pad_values, strides, kernel):
    graph, _ = _check(models.same_padding_model(pad_values=pad_values, strides=strides, kernel=kernel,
                                                 seed=strides * 7 + int(pad_values)), n=120)
    conv = graph.layers[1]
    assert conv.attrs["pads"] != [0, 0, 0, 0] or kernel == 1
    if pad_values == 0.0 and kernel != 1:  # the border correction needs one threshold block per class
        assert conv.params["thresholds"].shape[0] > 1 and "row_class" in conv.params


@pytest.mark.parametrize("input_range", [(-1.0, 1.0), (0.0, 1.0), (-0.3, 2.0)])
def test_same_padding_on_the_8bit_first_layer(input_range):
    """The padded real value 0 can fall between two 8-bit codes: the correction uses the exact 0."""
    for pad_values in (0.0, 1.0):
        _check(models.same_padding_model(pad_values=pad_values, seed=3), input_range=input_range, n=150)


@pytest.mark.parametrize("input_range", [(-1.0, 1.0), (0.0, 1.0), (-0.37, 1.0)])
def test_binarized_model_input(input_range):
    """sign(x) of the real input, exact for every 8-bit code (sign(0) = +1)."""
    graph, cmp = _check(models.binary_mlp(seed=2), input_range=input_range)
    assert graph.layers[0].op == "sign" and graph.layers[1].input_kind == "b1"
    assert cmp.binary_layers == 3  # the model input is compared too
    graph, _ = _check(models.same_padding_model(pad_values=1.0, input_sign=True, seed=5), input_range=input_range)
    assert graph.layers[0].op == "sign"


def test_everything_model():
    graph, cmp = _check(models.everything_model(seed=1), input_range=(-1.0, 1.0), n=400)
    assert [n.op for n in graph.layers] == ["sign", "conv2d", "conv2d", "maxpool2d", "conv2d", "dense", "dense"]
    assert cmp.binary_layers == 5


@pytest.mark.parametrize("scale,offset,sign", [(1 / 255, 0.0, False), (1 / 127.5, -1.0, False),
                                               (1 / 127.5, -1.0, True), (0.01, -0.37, True)])
def test_rescaling_on_the_input_is_folded_exactly(scale, offset, sign):
    """A leading Rescaling states raw 8-bit pixels: folded into the first layer's input range, and for a
    binarized input the sign of Larq's own float32 value; the default --input-range becomes 0 255."""
    k = models.keras()
    first = models.qconv(12, 3, first=True, padding="same", **({"input_quantizer": "ste_sign"} if sign else {}))
    m = k.Sequential([k.layers.InputLayer((8, 9, 2)), k.layers.Rescaling(scale, offset=offset), first,
                      k.layers.BatchNormalization(), k.layers.Flatten(), models.qdense(5)])
    m = models.randomize(m, seed=9)
    fg = frontend.lower(m)
    assert fold.input_range_for(fg, None, (0.0, 1.0)) == (0.0, 255.0)
    graph, _ = _check(m, input_range=(0.0, 255.0))
    assert (graph.layers[0].op == "sign") == sign


@pytest.mark.parametrize("input_sign", [False, True])
def test_branches_and_concatenation(input_sign):
    """A functional model with branches that meet in Concatenate: the reference reproduces every binary
    activation Larq computes (the concatenations' signs included, read by the layers after them)."""
    graph, cmp = _check(models.branchy_model(seed=2, input_sign=input_sign), input_range=(-1.0, 1.0), n=300)
    ops_run = [n.op for n in graph.layers]
    assert ops_run.count("concat") == 2 and ops_run.count("maxpool2d") == 2
    assert cmp.binary_layers == 4 + input_sign  # a, b, z, the dense (and the first layer on a signed input)
    # x is materialized once although three layers read it
    x_readers = [n for n in graph.layers if graph.layers[1 if input_sign else 0].output in n.inputs]
    assert len(x_readers) == 3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clipping_activations_and_xnor_scales(seed):
    """relu / relu6 / hard_tanh before a BN change the thresholds (some channels become constant) and
    MagnitudeAwareSign scales every output channel: the reference still reproduces every Larq bit."""
    graph, cmp = _check(models.activations_model(seed=seed), input_range=(-1.0, 1.0), n=300)
    assert cmp.binary_layers == 4 and cmp.bits_compared > 0
    # the last layer's XNOR scale is in its float affine: not all ones
    assert not np.allclose(np.abs(graph.out_scale), np.abs(graph.out_scale[0]))


def test_clipping_activation_is_not_dropped():
    """The same weights without the activations give different binary activations (so honouring them
    matters, and the test above would notice a dropped activation)."""
    from bnn_mcu import fold, frontend

    k = models.keras()
    with_act = models.activations_model(seed=1)
    plain = k.models.clone_model(with_act)
    for layer in plain.layers:
        if hasattr(layer, "activation") and getattr(layer.activation, "__name__", "") in ("relu", "relu6", "hard_tanh"):
            layer.activation = k.activations.linear
    plain.set_weights(with_act.get_weights())
    q = random_u8(with_act.input_shape[1:], 50, 0)
    a = reference.run(fold.fold(frontend.lower(with_act), (-1.0, 1.0)), q, keep_layers=True)
    b = reference.run(fold.fold(frontend.lower(plain), (-1.0, 1.0)), q, keep_layers=True)
    differ = [i for i, (x, y) in enumerate(zip(a.layers, b.layers)) if not np.array_equal(x, y)]
    assert len(differ) >= 3, differ


@pytest.mark.parametrize("pad_values,input_sign", [(0.0, False), (1.0, False), (1.0, True), (0.0, True)])
def test_conv1d_keyword_spotting_stack(pad_values, input_sign):
    """QuantConv1D on (time, features): stride 2 'same' first layer (real or binarized input), both pad
    values, MaxPooling1D, a causal conv: every binary activation equals Larq's."""
    graph, cmp = _check(models.kws_model(seed=3, pad_values=pad_values, input_sign=input_sign),
                        input_range=(-1.0, 1.0), n=200)
    assert graph.input_shape == (1, 49, 10)
    assert cmp.binary_layers == 4 + input_sign


@pytest.mark.parametrize("multiplier,strides,padding,pad_values", [
    (1, 1, "same", 1.0), (2, 1, "same", 0.0), (1, 2, "same", 0.0), (2, 2, "valid", 0.0), (1, 1, "valid", 1.0)])
def test_depthwise_convolutions(multiplier, strides, padding, pad_values):
    """QuantDepthwiseConv2D with depth_multiplier 1 and 2, both paddings and pad values, strides 1 and 2."""
    graph, cmp = _check(models.depthwise_model(seed=4, multiplier=multiplier, strides=strides, padding=padding,
                                               pad_values=pad_values), input_range=(-1.0, 1.0), n=200)
    assert [n.op for n in graph.layers].count("depthwise2d") == 2
    assert cmp.binary_layers == 4


@pytest.mark.parametrize("pad_values", [1.0, 0.0])
def test_residual_blocks_in_fixed_point(pad_values):
    """Bi-Real-style blocks: the real stream is int16 fixed point. Checked layer by layer on Larq's own
    input signs: every threshold layer exact (ties aside), every stream within its error bound, and the
    stream signs that differ from Larq's lie within that bound (a few per ten thousand)."""
    from bnn_mcu import fold, frontend
    from bnn_mcu.larqcheck import compare

    model = models.residual_model(seed=1, pad_values=pad_values)
    graph = fold.fold(frontend.lower(model), (-1.0, 1.0))
    assert [n.op for n in graph.layers].count("add") == 3
    assert [n.op for n in graph.layers].count("conv2d") == 4  # the stem runs once: its sign comes from the stream
    cmp, _ = compare(model, graph, random_u8(graph.keras_input_shape, 300, 0))
    assert cmp.unexplained_disagreements == 0, cmp
    assert cmp.real_streams == 7
    assert 0 < cmp.stream_max_abs_diff <= cmp.stream_max_error_bound, cmp
    assert cmp.fixed_point_disagreements <= 0.001 * cmp.bits_compared, cmp
    assert cmp.top1_agreement >= 0.85, cmp


@pytest.mark.parametrize("global_pool,real_head", [(True, True), (False, False)])
def test_average_pooling_of_streams_and_a_real_head(global_pool, real_head):
    """AveragePooling2D 'same' (border taps left out, as TF) and GlobalAveragePooling2D on int16 streams,
    a real-input QuantDense head on the pooled stream, or a binary one on its sign."""
    from bnn_mcu import fold, frontend
    from bnn_mcu.larqcheck import compare

    model = models.pooled_residual_model(seed=1, global_pool=global_pool, real_head=real_head)
    graph = fold.fold(frontend.lower(model), (-1.0, 1.0))
    ops_run = [n.op for n in graph.layers]
    assert ops_run.count("avgpool2d") == 2 and ops_run[-1] == ("dense_s16" if real_head else "dense")
    assert "row_class" in graph.layers[ops_run.index("avgpool2d")].params  # 'same': several divisors
    cmp, _ = compare(model, graph, random_u8(graph.keras_input_shape, 300, 0))
    assert cmp.unexplained_disagreements == 0, cmp
    assert cmp.fixed_point_disagreements <= 0.001 * cmp.bits_compared, cmp
    assert cmp.top1_agreement >= 0.97, cmp
    if real_head:
        assert cmp.max_abs_output_diff < 0.05, cmp


def test_one_dimensional_average_pooling():
    """AveragePooling1D and GlobalAveragePooling1D on (time, features) streams."""
    import larq as lq

    from bnn_mcu import fold, frontend
    from bnn_mcu.larqcheck import compare

    k = models.keras()
    conv = {"kernel_quantizer": "ste_sign", "kernel_constraint": "weight_clip", "use_bias": False, "padding": "same"}
    inp = k.Input((30, 8))
    x = k.layers.BatchNormalization()(lq.layers.QuantConv1D(20, 3, input_quantizer=None, **conv)(inp))
    x = k.layers.AveragePooling1D(3, strides=2, padding="same")(x)
    x = k.layers.BatchNormalization()(lq.layers.QuantConv1D(20, 3, input_quantizer="ste_sign", **conv)(x))
    x = k.layers.GlobalAveragePooling1D()(x)
    out = k.layers.BatchNormalization()(models.qdense(6, first=True)(x))
    model = models.randomize(k.Model(inp, out), seed=2)
    graph = fold.fold(frontend.lower(model), (-1.0, 1.0))
    assert [n.op for n in graph.layers].count("avgpool2d") == 2
    cmp, _ = compare(model, graph, random_u8(graph.keras_input_shape, 300, 0))
    assert cmp.unexplained_disagreements == 0 and cmp.top1_agreement >= 0.97, cmp


@pytest.mark.parametrize("asymmetric", [False, True])
def test_zero_padding_into_convolutions(asymmetric):
    """ZeroPadding2D before a 'valid' QuantConv2D (real model input: pads the value 0; binarized input:
    sign(0) = +1), before a depthwise conv, and ZeroPadding1D before a QuantConv1D."""
    import larq as lq

    k = models.keras()
    pad = ((1, 2), (0, 1)) if asymmetric else 1
    inp = k.Input((9, 8, 3))
    x = k.layers.BatchNormalization()(models.qconv(16, 3, first=True)(k.layers.ZeroPadding2D(pad)(inp)))
    x = k.layers.BatchNormalization()(models.qconv(20, 3, strides=2)(k.layers.ZeroPadding2D(pad)(x)))
    dw = lq.layers.QuantDepthwiseConv2D(3, input_quantizer="ste_sign", depthwise_quantizer="ste_sign", use_bias=False)
    x = k.layers.BatchNormalization()(dw(k.layers.ZeroPadding2D(1)(x)))
    out = k.layers.BatchNormalization()(models.qdense(5)(k.layers.Flatten()(x)))
    graph, _ = _check(models.randomize(k.Model(inp, out), seed=6), input_range=(-1.0, 1.0), n=200)
    assert all(any(n.attrs["pads"]) for n in graph.layers[:3])

    seq = k.Input((20, 6))
    y = k.layers.BatchNormalization()(lq.layers.QuantConv1D(8, 3, input_quantizer=None, kernel_quantizer="ste_sign",
                                                             use_bias=False)(k.layers.ZeroPadding1D((2, 1))(seq)))
    y = k.layers.BatchNormalization()(models.qdense(4)(k.layers.Flatten()(y)))
    _check(models.randomize(k.Model(seq, y), seed=7), input_range=(-1.0, 1.0), n=200)


def test_reshape_of_the_model_input_and_to_one_axis():
    """A keyword spotter's flat features reshaped to (time, features, 1) for QuantConv2D, and a Reshape
    to one axis in place of Flatten; a Reshape between layers is refused naming it."""
    from bnn_mcu import frontend
    from bnn_mcu.errors import UnsupportedModelError

    k = models.keras()
    inp = k.Input((130,))
    x = k.layers.Reshape((13, 10, 1))(inp)
    x = k.layers.BatchNormalization()(models.qconv(12, 3, first=True, padding="same")(x))
    x = k.layers.BatchNormalization()(models.qconv(16, 3, strides=2)(x))
    out = k.layers.BatchNormalization()(models.qdense(4)(k.layers.Reshape((-1,))(x)))
    graph, _ = _check(models.randomize(k.Model(inp, out), seed=8), input_range=(-1.0, 1.0), n=200)
    assert graph.input_shape == (13, 10, 1) and graph.keras_input_shape == (130,)

    mid = k.layers.Reshape((6, 16 * 4), name="mid_reshape")(x)
    bad = k.Model(inp, models.qdense(3)(k.layers.Flatten()(mid)))
    with pytest.raises(UnsupportedModelError, match="mid_reshape"):
        frontend.lower(bad)
