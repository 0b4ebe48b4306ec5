"""Frontend: load a Larq/Keras model and lower it to the float IR.

Larq 0.14 works only with legacy Keras 2 (``tf_keras``): this module sets ``TF_USE_LEGACY_KERAS=1``
before TensorFlow is imported. TensorFlow is imported lazily, so verbs that do not read a model
(``build``, ``run``) never pay for it.

What is supported is listed in :data:`SUPPORTED`; everything else is refused with an
:class:`~bnn_mcu.errors.UnsupportedModelError` that names the layer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

import numpy as np

from .errors import ModelLoadError, UnsupportedModelError
from .ir import BatchNorm, Conv, FloatGraph, MaxPool, Shape3, Softmax
from .modelfile import vet
from .untrusted import inline

log = logging.getLogger(__name__)

SIGN_QUANTIZERS = ("SteSign", "ApproxSign", "SwishSign")  # forward pass: sign(x), sign(0) = +1
IGNORED_LAYERS = ("InputLayer", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "AlphaDropout",
                  "GaussianDropout", "GaussianNoise")
SUPPORTED = (
    "QuantConv2D (padding='valid', any strides, no dilation/groups, linear activation), "
    "QuantDense (linear or final softmax activation) — with input_quantizer None (first layer only) or "
    f"one of {', '.join(SIGN_QUANTIZERS)}, and kernel_quantizer one of {', '.join(SIGN_QUANTIZERS)}; "
    "BatchNormalization (last axis); MaxPooling2D (padding='valid'); Flatten; "
    "Dropout (ignored at inference); Activation('softmax') / Softmax as the final layer; "
    "Activation('linear')"
)


def import_tf():
    """Import TensorFlow, tf_keras and Larq in the one configuration that works (see module doc)."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        with _quiet_stderr():  # TF's C++ runtime logs to fd 2 before any Python setting applies
            import larq  # noqa: F401  (registers Larq's custom objects with tf_keras)
            import tensorflow as tf
            import tf_keras
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ModelLoadError(
            f"cannot import TensorFlow/Larq: {exc}",
            hint="run tools/install_deps.sh (larq 0.14.0, tensorflow-cpu 2.21, tf-keras 2.21)",
        ) from exc
    tf.get_logger().setLevel(logging.ERROR)
    return tf, tf_keras


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (not just sys.stderr) unless debug logging is on."""
    if log.isEnabledFor(logging.DEBUG):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_model(path: str | os.PathLike):
    """Load a ``.h5``, ``.keras`` or SavedModel directory with Larq's custom objects."""
    p = Path(path)
    vet(p)  # before Keras deserializes anything: a model file is data, never code (bnn_mcu/modelfile.py)
    _tf, keras = import_tf()

    try:
        with _quiet_stderr():
            # safe_mode applies to the .keras format only; vet() above covers .h5 and SavedModel too.
            model = keras.models.load_model(str(p), compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for bad files; all mean "not a usable model"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(
            f"could not load {p} as a Keras/Larq model: {inline(first)}",
            hint="the file must be a model saved by tf_keras/Larq (model.save)",
        ) from exc
    if not hasattr(model, "layers"):
        raise ModelLoadError(f"{p} loaded, but as a bare SavedModel without Keras layers")
    return model


def lower(model) -> FloatGraph:
    """Lower a loaded Keras model (a linear chain of layers) to the float IR."""
    layers = _linear_layers(model)
    keras_in = tuple(int(d) for d in model.input_shape[1:])
    shape = _as_hwc(keras_in, "model input")
    flat = len(keras_in) == 1  # a 1-D input is already flat from Keras' point of view
    ops: list = []
    ignored: list[str] = []
    for layer in layers:
        cls = type(layer).__name__
        where = f"layer '{_name(layer)}' ({cls})"
        if cls in IGNORED_LAYERS:
            ignored.append(_name(layer))
            continue
        if cls == "Flatten":
            flat = True
            ignored.append(_name(layer))
            continue
        if cls in ("QuantConv2D", "QuantDense"):
            conv = _lower_quant(layer, cls, where, shape, flat)
            ops.append(conv)
            shape = conv.out_shape
            flat = flat and cls == "QuantDense"
            act = _activation_name(layer)
            if act == "softmax":
                ops.append(Softmax(name=f"{_name(layer)}/softmax", shape=shape))
            elif act != "linear":
                raise UnsupportedModelError(
                    f"{where}: activation '{act}' is not supported; quantized layers must be linear "
                    "(the next layer's input quantizer does the sign), or softmax on the last layer"
                )
            continue
        if cls == "BatchNormalization":
            ops.append(_lower_bn(layer, where, shape))
            continue
        if cls == "MaxPooling2D":
            op = _lower_pool(layer, where, shape, flat)
            ops.append(op)
            shape = op.out_shape
            continue
        if cls in ("Activation", "Softmax"):
            act = "softmax" if cls == "Softmax" else _activation_name(layer)
            if act == "linear":
                ignored.append(_name(layer))
            elif act == "softmax":
                ops.append(Softmax(name=_name(layer), shape=shape))
            else:
                raise UnsupportedModelError(
                    f"{where}: activation '{act}' is not supported; binary networks get their "
                    "nonlinearity from the next layer's sign quantizer",
                    hint=f"supported: {SUPPORTED}",
                )
            continue
        if cls in ("Conv2D", "Dense", "DepthwiseConv2D", "SeparableConv2D"):
            raise UnsupportedModelError(
                f"{where} is a full-precision layer; only Larq's binarized QuantConv2D/QuantDense "
                "run on the target",
                hint=f"supported: {SUPPORTED}",
            )
        raise UnsupportedModelError(f"{where} is not supported", hint=f"supported: {SUPPORTED}")
    return FloatGraph(name=inline(model.name), input_shape=_as_hwc(keras_in, "model input"),
                      keras_input_shape=keras_in, ops=tuple(ops), ignored=tuple(ignored))


def load_graph(path: str | os.PathLike) -> tuple[FloatGraph, object]:
    model = load_model(path)
    return lower(model), model


# --------------------------------------------------------------------------------------------------


def _name(layer) -> str:
    """A layer's name as the IR, messages and tables carry it: one line, control characters escaped
    (names come from the model file; generated files encode them again for their own context)."""
    return inline(layer.name)


def _linear_layers(model) -> list:
    """The model's layers in order, refusing anything that is not a single chain."""
    layers = list(model.layers)
    if type(model).__name__ == "Sequential":
        return layers
    prev = None
    for layer in layers:
        nodes = layer._inbound_nodes
        if len(nodes) != 1:
            raise UnsupportedModelError(
                f"layer '{_name(layer)}' is called {len(nodes)} times; only single-chain models "
                "(Sequential, or functional without branches) are supported"
            )
        inbound = nodes[0].inbound_layers
        inbound = inbound if isinstance(inbound, (list, tuple)) else [inbound]
        if type(layer).__name__ != "InputLayer":
            if len(inbound) != 1 or (prev is not None and inbound[0] is not prev):
                raise UnsupportedModelError(
                    f"layer '{_name(layer)}' ({type(layer).__name__}) does not simply follow the previous "
                    "layer; branching models (residual connections, concatenations) are not supported"
                )
        prev = layer
    return layers


def _as_hwc(shape: tuple[int, ...], what: str) -> Shape3:
    if any(d is None or d <= 0 for d in shape):
        raise UnsupportedModelError(f"{what} has an unknown dimension {shape}; give the model a fixed "
                                    "input shape")
    if len(shape) == 1:
        return (1, 1, shape[0])
    if len(shape) == 2:  # Keras layers act on the last axis: (A, B) is A "pixels" of B channels
        return (1, shape[0], shape[1])
    if len(shape) == 3:
        return (shape[0], shape[1], shape[2])
    raise UnsupportedModelError(f"{what} has rank {len(shape)} (shape {shape}); expected (N,), (H, W) or "
                                "(H, W, C)")


def _quantizer_name(q) -> str | None:
    if q is None:
        return None
    # Larq quantizer objects are named by their class (SteSign), plain functions by __name__ (ste_sign).
    return getattr(q, "__name__", None) or type(q).__name__


def _check_sign(q, where: str, which: str, allow_none: bool) -> bool:
    """True for a sign-family quantizer, False for None (when allowed); refuse anything else."""
    name = _quantizer_name(q)
    if name is None:
        if allow_none:
            return False
        raise UnsupportedModelError(
            f"{where}: {which}=None keeps float weights; binary layers need one of "
            f"{', '.join(SIGN_QUANTIZERS)}"
        )
    if name in SIGN_QUANTIZERS or name in ("ste_sign", "approx_sign", "swish_sign"):
        return True
    raise UnsupportedModelError(
        f"{where}: {which} '{name}' is not supported; supported: {', '.join(SIGN_QUANTIZERS)} "
        "(forward pass sign(x) with sign(0)=+1)",
        hint="scaled or multi-bit quantizers (MagnitudeAwareSign, DoReFa, SteTern, SteHeaviside) "
        "are not supported yet",
    )


def _activation_name(layer) -> str:
    act = getattr(layer, "activation", None)
    if act is None:
        return "linear"
    return getattr(act, "__name__", str(act))


def _lower_quant(layer, cls: str, where: str, shape: Shape3, flat: bool) -> Conv:
    input_binary = _check_sign(layer.input_quantizer, where, "input_quantizer", allow_none=True)
    _check_sign(layer.kernel_quantizer, where, "kernel_quantizer", allow_none=False)
    kernel = np.asarray(layer.kernel.numpy(), dtype=np.float32)
    bias = np.asarray(layer.bias.numpy(), np.float32) if getattr(layer, "use_bias", False) else None
    h, w, c = shape
    if cls == "QuantConv2D":
        if layer.data_format != "channels_last":
            raise UnsupportedModelError(f"{where}: data_format='{layer.data_format}'; only channels_last")
        if tuple(layer.dilation_rate) != (1, 1) or getattr(layer, "groups", 1) != 1:
            raise UnsupportedModelError(f"{where}: dilation and groups are not supported")
        if layer.padding != "valid":
            raise UnsupportedModelError(
                f"{where}: padding='{layer.padding}' is not supported yet; supported: padding='valid'"
            )
        if flat:
            raise UnsupportedModelError(f"{where}: a convolution after Flatten is not supported")
        kh, kw, _kc, o = kernel.shape
        sh, sw = (int(s) for s in layer.strides)
        if kh > h or kw > w:
            raise UnsupportedModelError(f"{where}: kernel {kh}x{kw} is larger than its input {h}x{w}")
        out = ((h - kh) // sh + 1, (w - kw) // sw + 1, o)
        return Conv(name=_name(layer), keras_class=cls, kernel=np.transpose(kernel, (3, 0, 1, 2)),
                    bias=bias, strides=(sh, sw), padding="valid", input_binary=input_binary,
                    in_shape=shape, out_shape=out, is_dense=False)
    # QuantDense
    fan_in, o = kernel.shape
    if flat or (h == 1 and w == 1):
        if fan_in != h * w * c:
            raise UnsupportedModelError(f"{where}: kernel expects {fan_in} inputs, the tensor has {h*w*c}")
        k = kernel.reshape(h, w, c, o)  # Keras flattens row-major over (H, W, C): our layout exactly
        return Conv(name=_name(layer), keras_class=cls, kernel=np.transpose(k, (3, 0, 1, 2)), bias=bias,
                    strides=(1, 1), padding="valid", input_binary=input_binary, in_shape=shape,
                    out_shape=(1, 1, o), is_dense=True)
    # Dense on an unflattened (H, W, C) tensor acts on the channel axis: a 1x1 convolution.
    k = kernel.reshape(1, 1, c, o)
    return Conv(name=_name(layer), keras_class=cls, kernel=np.transpose(k, (3, 0, 1, 2)), bias=bias,
                strides=(1, 1), padding="valid", input_binary=input_binary, in_shape=shape,
                out_shape=(h, w, o), is_dense=False)


def _lower_bn(layer, where: str, shape: Shape3) -> BatchNorm:
    axis = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    axis = list(axis)
    rank = len(layer.input_shape) - 1
    if len(axis) != 1 or axis[0] not in (-1, rank):
        raise UnsupportedModelError(f"{where}: only normalisation over the last (channel) axis is "
                                    f"supported, got axis={axis}")
    c = shape[2]
    gamma = layer.gamma.numpy() if layer.gamma is not None else np.ones(c, np.float32)
    beta = layer.beta.numpy() if layer.beta is not None else np.zeros(c, np.float32)
    return BatchNorm(name=_name(layer), gamma=np.asarray(gamma, np.float32), beta=np.asarray(beta, np.float32),
                     mean=np.asarray(layer.moving_mean.numpy(), np.float32),
                     variance=np.asarray(layer.moving_variance.numpy(), np.float32),
                     epsilon=float(layer.epsilon), shape=shape)


def _lower_pool(layer, where: str, shape: Shape3, flat: bool) -> MaxPool:
    if layer.padding != "valid":
        raise UnsupportedModelError(f"{where}: padding='{layer.padding}' is not supported yet; "
                                    "supported: padding='valid'")
    if layer.data_format != "channels_last" or flat:
        raise UnsupportedModelError(f"{where}: only channels_last 2-D pooling before Flatten is supported")
    ph, pw = (int(p) for p in layer.pool_size)
    sh, sw = (int(s) for s in layer.strides)
    h, w, c = shape
    if ph > h or pw > w:
        raise UnsupportedModelError(f"{where}: pool {ph}x{pw} is larger than its input {h}x{w}")
    out = ((h - ph) // sh + 1, (w - pw) // sw + 1, c)
    return MaxPool(name=_name(layer), pool=(ph, pw), strides=(sh, sw), in_shape=shape, out_shape=out)
