r"""Fold batch-norm, biases and the next layer's sign into integer thresholds (float IR -> integer IR).

The derivation lives here, once; tests check every accumulator value around every threshold.

Segments
--------
The float graph is cut into segments, each a convolution/dense layer followed by the ops up to the
next one: batch-norms, max-pools (Flatten and Dropout are gone already) and, at the very end, a
softmax. Every segment but the last ends in the next layer's input quantizer: a sign.

Affine chain
------------
Between the layer's raw dot product ``y`` and the sign, a segment applies per-channel affine maps
(bias ``y + b``; batch-norm ``a*y + b`` with ``a = gamma / sqrt(var + eps)``, ``b = beta - a*mean``)
and max-pools. Affines compose: ``z = A*y + B`` (float64, from the float32 parameters).

Max-pool commutes with any monotone map. ``sign`` after an increasing affine is increasing, after
a decreasing one (``a < 0``) decreasing, so ``sign(post(maxpool(pre(y)))) = P(sign(post(pre(y))))``
where ``P`` is a max over the window when ``post`` is increasing and a min when it is decreasing.
On bits (1 = -1) max is AND and min is OR. Only the affines *after* a pool decide: the pool's
``or_mask[c]`` is ``prod(a over affines after the pool)[c] < 0``. So the firmware thresholds every
pixel with the *total* affine first and pools the bits afterwards, whatever order Keras used.

Thresholds, binary input (``b1``)
---------------------------------
The kernel computes ``x = popcount(a XOR w)`` over the K real input bits; the ±1 dot product is
``y = K - 2x``. The output bit is 1 (value -1) iff ``z = A*y + B < 0`` (sign(0) = +1).

* ``A > 0``: ``K - 2x < -B/A``  <=>  ``x > t`` with ``t = (K + B/A) / 2``. For integer x,
  ``x > t`` <=> ``x > floor(t)``, so ``tau = floor(t)``.
* ``A < 0``: ``x < t``. Flip that channel's weights (real bits only; tails stay 0): the kernel then
  counts ``x' = K - x`` and ``x < t`` <=> ``x' > K - t`` <=> ``x' > floor(K - t)``:
  ``tau = floor((K - B/A) / 2)``.
* ``A == 0`` (gamma = 0): the output is the constant ``B < 0``: ``tau = -1`` (always 1, since x >= 0)
  or ``tau = K`` (never, since x <= K).

Any tau is clamped into ``[-1, K]`` without changing a single output (x only takes values 0..K), which
also covers batch-norms that never cross zero. Comparisons stay strict, so a ``z`` of exactly 0 gives
+1 as Larq's sign does.

Thresholds, 8-bit input (``u8``, the first layer)
-------------------------------------------------
The firmware gets ``q`` in 0..255 with ``x = LO + s*q``, ``s = (HI - LO)/255``. With weights
``w = ±1`` (bit 1 = -1) the kernel computes ``Q = sum(w*q)``, and ``y = LO*S_w + s*Q`` where
``S_w = sum(w)`` over the window (constant: valid padding). So ``z = alpha*Q + beta'`` with
``alpha = A*s`` and ``beta' = A*LO*S_w + B``; bit = 1 iff ``z < 0``:

* ``alpha > 0``: ``Q < -beta'/alpha``. Flip the weights (the kernel then computes ``Q' = -Q``):
  ``Q' > beta'/alpha`` <=> ``Q' > floor(beta'/alpha)``.
* ``alpha < 0``: ``Q > -beta'/alpha`` <=> ``Q > floor(-beta'/alpha)``; no flip.
* ``alpha == 0``: constant ``beta' < 0``.

Clamped into ``[-255K - 1, 255K]``.

Last layer
----------
No sign follows: the target returns int32 ``out`` (``y = K - 2x`` for binary input, ``Q`` for 8-bit
input) and the host rebuilds the float logits as ``scale*out + offset`` (binary: ``A``, ``B``; 8-bit:
``A*s``, ``A*LO*S_w + B``), then softmax if the model ends in one.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from .errors import UnsupportedModelError, UsageError
from .ir import BatchNorm, Conv, FloatGraph, IntConv, IntGraph, IntLayer, IntMaxPool, MaxPool, Softmax

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Affine:
    a: np.ndarray  # float64 [C]
    b: np.ndarray  # float64 [C]


def batchnorm_affine(bn: BatchNorm) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (a, b) with BN(y) = a*y + b, in float64 from the stored float32 parameters."""
    var_eps = (np.asarray(bn.variance, np.float32) + np.float32(bn.epsilon)).astype(np.float64)  # float32 add, as Keras
    a = np.asarray(bn.gamma, np.float64) / np.sqrt(var_eps)
    b = np.asarray(bn.beta, np.float64) - a * np.asarray(bn.mean, np.float64)
    return a, b


def _compose(items: list[_Affine], channels: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.ones(channels, np.float64)
    b = np.zeros(channels, np.float64)
    for it in items:
        a, b = it.a * a, it.a * b + it.b
    return a, b


def binary_thresholds(A: np.ndarray, B: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """(tau int32 [C], flip bool [C]) for a binary-input layer; see the module docstring."""
    A = np.asarray(A, np.float64)
    B = np.asarray(B, np.float64)
    tau = np.empty(A.shape, np.int64)
    flip = A < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = B / A
        t_pos = np.floor((K + ratio) / 2.0)
        t_neg = np.floor((K - ratio) / 2.0)
    pos, neg, zero = A > 0, A < 0, A == 0
    tau[pos] = _clamp(t_pos[pos], -1, K)
    tau[neg] = _clamp(t_neg[neg], -1, K)
    tau[zero] = np.where(B[zero] < 0, -1, K)
    return tau.astype(np.int32), flip


def u8_thresholds(
    A: np.ndarray, B: np.ndarray, s_w: np.ndarray, lo: float, hi: float, K: int
) -> tuple[np.ndarray, np.ndarray]:
    """(tau int32 [C], flip bool [C]) for an 8-bit-input layer; see the module docstring."""
    s = (hi - lo) / 255.0
    alpha = np.asarray(A, np.float64) * s
    beta = np.asarray(A, np.float64) * lo * s_w + np.asarray(B, np.float64)
    qmax = 255 * K
    tau = np.empty(alpha.shape, np.int64)
    flip = alpha > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        t_pos = np.floor(beta / alpha)
        t_neg = np.floor(-beta / alpha)
    pos, neg, zero = alpha > 0, alpha < 0, alpha == 0
    tau[pos] = _clamp(t_pos[pos], -qmax - 1, qmax)
    tau[neg] = _clamp(t_neg[neg], -qmax - 1, qmax)
    tau[zero] = np.where(beta[zero] < 0, -qmax - 1, qmax)
    return tau.astype(np.int32), flip


def _clamp(values: np.ndarray, lo: int, hi: int) -> np.ndarray:
    # NaN cannot occur for finite BN parameters; inf clamps like any large value.
    return np.clip(values, lo, hi).astype(np.int64)


def fold(graph: FloatGraph, input_range: tuple[float, float] = (0.0, 1.0)) -> IntGraph:
    """Lower a float graph to the integer graph the reference and the firmware execute."""
    lo, hi = float(input_range[0]), float(input_range[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise UsageError(f"--input-range needs finite LO < HI, got {lo:g} {hi:g}")
    segments = _segments(graph)
    layers: list[IntLayer] = []
    softmax = False
    constant_channels = 0
    for i, (conv, tail) in enumerate(segments):
        first, last = i == 0, i == len(segments) - 1
        if first and conv.input_binary:
            raise UnsupportedModelError(
                f"layer '{conv.name}' ({conv.keras_class}) binarizes the model input with its input "
                "quantizer; the first layer must take the real-valued input (input_quantizer=None)",
                hint="the firmware feeds the first layer 8-bit integers; binarized inputs are not "
                "supported yet",
            )
        if not first and not conv.input_binary:
            raise UnsupportedModelError(
                f"layer '{conv.name}' ({conv.keras_class}) has a real-valued input (input_quantizer="
                "None) but is not the first layer; not supported: only the first layer may take real values",
                hint="give every later quantized layer input_quantizer='ste_sign'",
            )
        channels = conv.out_shape[2]
        affines: list[tuple[str, object]] = []
        if conv.bias is not None:
            affines.append(("affine", _Affine(np.ones(channels), np.asarray(conv.bias, np.float64))))
        sources = [conv.name]
        for op in tail:
            sources.append(op.name)
            if isinstance(op, BatchNorm):
                a, b = batchnorm_affine(op)
                affines.append(("affine", _Affine(a, b)))
            elif isinstance(op, MaxPool):
                if last:
                    raise UnsupportedModelError(
                        f"layer '{op.name}' (MaxPooling2D) follows the last quantized layer "
                        f"'{conv.name}'; pooling the output logits is not supported"
                    )
                affines.append(("pool", op))
            elif isinstance(op, Softmax):
                softmax = True
        A, B = _compose([x for k, x in affines if k == "affine"], channels)
        K = conv.kernel.shape[1] * conv.kernel.shape[2] * conv.kernel.shape[3]
        wbits = np.asarray(conv.kernel) < 0  # sign(w), 0 -> +1
        s_w = (K - 2 * wbits.reshape(channels, -1).sum(axis=1)).astype(np.float64)
        input_kind = "b1" if conv.input_binary else "u8"
        op_name = "dense" if conv.is_dense else "conv2d"
        common = {
            "name": conv.name,
            "op": op_name,
            "input_kind": input_kind,
            "in_shape": conv.in_shape,
            "out_shape": conv.out_shape,
            "kernel_size": (conv.kernel.shape[1], conv.kernel.shape[2]),
            "strides": conv.strides,
            "source_layers": tuple(sources),
        }
        if last:
            if input_kind == "b1":
                scale, offset = A, B
            else:
                s = (hi - lo) / 255.0
                scale, offset = A * s, A * lo * s_w + B
            layers.append(
                IntConv(output_kind="s32", weight_bits=wbits, thresholds=None, scale=scale,
                        offset=offset, **common)
            )
            continue
        if input_kind == "b1":
            tau, flip = binary_thresholds(A, B, K)
            never, always = K, -1
        else:
            tau, flip = u8_thresholds(A, B, s_w, lo, hi, K)
            never, always = 255 * K, -255 * K - 1
        constant_channels += int(np.sum((tau == never) | (tau == always)))
        wbits = np.where(flip[:, None, None, None], ~wbits, wbits)
        layers.append(IntConv(output_kind="b1", weight_bits=wbits, thresholds=tau, **common))
        # Pools, each with the direction given by the affines after it.
        for j, (kind, item) in enumerate(affines):
            if kind != "pool":
                continue
            after = [x for k, x in affines[j + 1:] if k == "affine"]
            a_after, _ = _compose(after, channels)
            layers.append(
                IntMaxPool(
                    name=item.name,
                    in_shape=item.in_shape,
                    out_shape=item.out_shape,
                    pool=item.pool,
                    strides=item.strides,
                    or_mask=a_after < 0,
                    source_layers=(item.name,),
                )
            )
    meta = {"ignored_layers": list(graph.ignored), "constant_channels": constant_channels}
    return IntGraph(
        name=graph.name,
        input_shape=graph.input_shape,
        keras_input_shape=graph.keras_input_shape,
        input_range=(lo, hi),
        layers=tuple(layers),
        softmax=softmax,
        meta=meta,
    )


def _segments(graph: FloatGraph) -> list[tuple[Conv, list]]:
    segments: list[tuple[Conv, list]] = []
    for op in graph.ops:
        if isinstance(op, Conv):
            segments.append((op, []))
            continue
        if not segments:
            raise UnsupportedModelError(
                f"layer '{op.name}' ({type(op).__name__}) comes before the first quantized layer; "
                "the model must start with a QuantConv2D or QuantDense"
            )
        segments[-1][1].append(op)
    if not segments:
        raise UnsupportedModelError(
            "the model has no QuantConv2D or QuantDense layer: nothing to run as a binary network"
        )
    for i, (_conv, tail) in enumerate(segments):
        for j, op in enumerate(tail):
            if isinstance(op, Softmax) and (i != len(segments) - 1 or j != len(tail) - 1):
                raise UnsupportedModelError(
                    f"layer '{op.name}' (softmax) is not at the end of the model; softmax is only "
                    "supported as the final activation"
                )
    return segments
