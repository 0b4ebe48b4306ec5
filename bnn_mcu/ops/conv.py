r"""Binary-weight convolution and dense layers: Larq's QuantConv2D and QuantDense.

A dense layer is a convolution whose kernel spans its whole input (op ``dense``); a QuantDense on an
unflattened ``(H, W, C)`` tensor acts on the channel axis: a 1x1 convolution (op ``conv2d``).

Accumulators
------------
* ``b1`` input: the kernel computes ``x = popcount(a XOR w)`` over the K = KH*KW*C input bits of the
  window; the +-1 dot product is ``y = K - 2x``.
* ``u8`` input (the first layer): ``Q = sum(w*q)`` with ``w = +-1`` (bit 1 = -1), ``x = LO + s*q``,
  ``s = (HI - LO)/255``, so ``y = s*Q + LO*S_w`` with ``S_w = sum(w)``.

Thresholds (b1 outputs)
-----------------------
The fold (``bnn_mcu/fold.py``) hands each accumulating layer the per-channel affine ``z = A*y + B``
that follows it (bias, batch-norms) and the sign of the next layer's input quantizer: the output bit
is 1 (value -1) iff ``z < 0`` (``sign(0) = +1``). Write ``y = C - 2x`` (b1 input).

* ``A > 0``: ``C - 2x < -B/A``  <=>  ``x > (C + B/A)/2``  <=>  ``x > tau = floor((C + B/A)/2)``.
* ``A < 0``: flip that channel's weights (real bits only; tails stay 0): the kernel counts ``x'`` with
  ``y' = -y = C' - 2x'``, and ``-A*y' + B < 0`` <=> ``x' > floor((C' - B/A)/2)``.
* ``A == 0`` (gamma = 0): the constant ``B < 0``: ``tau = -1`` (always) or ``tau = K`` (never).

For u8 input, ``z = alpha*Q + beta'`` with ``alpha = A*s`` and ``beta' = A*LO*S_w + B`` (more generally
``A*const + B``, below): ``alpha > 0``: flip (the kernel computes ``Q' = -Q``), ``Q' > floor(beta'/alpha)``;
``alpha < 0``: ``Q > floor(-beta'/alpha)``; ``alpha == 0``: constant.

Every tau is clamped into the range of the count (``[-1, K]``, ``[-255K - 1, 255K]`` for u8) without
changing one output; comparisons stay strict.

'same' padding
--------------
TF pads ``total = max((out - 1)*stride + k - in, 0)`` taps, ``total // 2`` before (top/left) and the
rest after. Larq pads *before* the input quantizer with ``pad_values``: 0.0 means the padded taps
contribute nothing; 1.0 (a sign input) means +1. The kernels read a padded tap as bit 0 (b1) or q = 0
(u8), so a padded tap adds its weight bit ``w`` to ``x`` (b1) and nothing to ``Q`` (u8). For an output
pixel whose window has ``n_pad`` padded inputs, ``P_w`` of them under a set weight bit (after any
flip), with pad value ``pv``:

* b1: ``y = (K - n_pad) - 2*(x - P_w) + pv*(n_pad - 2*P_w)``, i.e. ``y = C - 2x`` with
  ``C = K - n_pad + 2*P_w + pv*(n_pad - 2*P_w)`` (``C = K`` everywhere for ``pv = +1``);
* u8: ``y = s*Q + LO*S_w,valid + pv*S_w,pad``: the constant is ``LO*S_w,valid + pv*S_w,pad``.

``C`` (or the constant) depends on which taps are padded: one threshold block per *border class*
(distinct sets of padded rows, times distinct sets of padded columns; 9 for a 3x3 stride-1 layer). The
kernel picks the block by ``row_class[oy] * col_classes + col_class[ox]``; blocks that come out equal
are merged, so a layer whose padding changes nothing has one block and no tables.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..bitpack import pack_bits, popcount32
from ..errors import UnsupportedModelError
from ..ir import Node, Tensor
from .activation import activation_name, activation_nodes
from .base import CArray, CLayer, Op, Refusal, c_dims, c_padding, class_tables
from .quantizers import is_scaled_kernel_sign, is_sign

# --------------------------------------------------------------------------------------------------
# Frontend: QuantConv2D and QuantDense


def _weights_and_bias(layer) -> tuple[np.ndarray, np.ndarray | None]:
    kernel = np.asarray(layer.kernel.numpy(), dtype=np.float32)
    bias = np.asarray(layer.bias.numpy(), np.float32) if getattr(layer, "use_bias", False) else None
    return kernel, bias


def _check_kernel_quantizer(layer) -> None:
    if not is_scaled_kernel_sign(layer.kernel_quantizer):
        is_sign(layer.kernel_quantizer, "kernel_quantizer", allow_none=False)


def _kernel_scale(layer, kernel: np.ndarray) -> dict:
    """XNOR-Net's per-output-channel scale ``mean(|w|)`` (float32, over every axis but the last, as
    Larq's MagnitudeAwareSign computes it), or nothing for a plain sign."""
    if not is_scaled_kernel_sign(layer.kernel_quantizer):
        return {}
    axes = tuple(range(kernel.ndim - 1))
    return {"kernel_scale": np.mean(np.abs(kernel), axis=axes, dtype=np.float32).astype(np.float32)}


def same_padding(size: int, k: int, stride: int) -> tuple[int, int, int]:
    """(output size, taps before, taps after) of TF's 'same' padding along one axis."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return out, total // 2, total - total // 2


class Conv2D(Op):
    name = "conv2d"
    reads_padding_views = True
    role = "accumulate"
    keras_classes = ("QuantConv2D",)
    supported = ("padding 'valid' or 'same' (pad_values 0 or 1), any kernel size and strides, bias; no dilation "
                 "or groups; kernel_quantizer and input_quantizer of the sign family (input_quantizer=None: "
                 "the real model input, first layer only); MagnitudeAwareSign kernels (XNOR-Net scales); activation "
                 "linear, relu, relu6 or hard_tanh before the BN and sign, or softmax at the end")

    def lower(self, layer, inp: Tensor, ctx) -> list[Node]:
        if tuple(layer.dilation_rate) != (1, 1) or getattr(layer, "groups", 1) != 1:
            raise Refusal("dilation or groups", "dilation_rate=1, groups=1")
        kernel = np.asarray(layer.kernel.numpy(), dtype=np.float32)
        return _lower_conv(layer, inp, ctx, kernel, tuple(int(s) for s in layer.strides), layer.padding)

    def leading_affines(self, node: Node) -> list[tuple[np.ndarray, np.ndarray]]:
        """The per-channel affines between the +-1 dot product and the layer's output, in order: the
        XNOR-Net kernel scale, then the bias (``fold.py`` continues the chain with what follows)."""
        o = node.out_shape[2]
        out = []
        if node.params.get("kernel_scale") is not None:
            out.append((np.asarray(node.params["kernel_scale"], np.float64), np.zeros(o)))
        if node.params.get("bias") is not None:
            out.append((np.ones(o), np.asarray(node.params["bias"], np.float64)))
        return out

    def target_limits(self, node: Node) -> list[str]:
        return _dims_limits(node)

    def fold(self, fnode: Node, inp: Tensor, out_kind: str, A, B, input_range, new_tensor, sources,
             per_class_offset: bool = False) -> Node:
        return fold(fnode, inp, out_kind, A, B, input_range, new_tensor, sources, per_class_offset)

    # -- integer graph ----------------------------------------------------------------------------
    def fan_in(self, node: Node) -> int:
        """Input values each output reads (K): the range of the count is [0, K]."""
        return fan_in(node)

    def macs(self, node: Node) -> int:
        oh, ow, oc = node.out_shape
        return oh * ow * oc * fan_in(node)

    def reference(self, node: Node, inputs: list[np.ndarray]) -> np.ndarray:
        return _reference(node, inputs[0])

    def c_layer(self, node: Node, kernel_set: str) -> CLayer:
        return _c_layer(node, kernel_set, "conv2d")


class Dense(Conv2D):
    name = "dense"
    reads_padding_views = False
    keras_classes = ("QuantDense",)
    supported = ("on a flattened input, or per pixel (a 1x1 convolution); bias, quantizers and activation as "
                 "QuantConv2D")

    def lower(self, layer, inp: Tensor, ctx) -> Node:
        input_sign = is_sign(layer.input_quantizer, "input_quantizer", allow_none=True)
        _check_kernel_quantizer(layer)
        kernel, bias = _weights_and_bias(layer)
        scale = _kernel_scale(layer, kernel)
        fan, o = kernel.shape
        h, w, c = inp.shape
        attrs = {"strides": [1, 1], "pads": [0, 0, 0, 0], "pad_value": 0.0, "input_sign": input_sign}
        if ctx.is_flat(inp) or (h == 1 and w == 1):
            if fan != h * w * c:
                raise Refusal(f"a kernel for {fan} inputs on a tensor of {h * w * c}", "matching shapes")
            k = kernel.reshape(h, w, c, o)  # Keras flattens row-major over (H, W, C): our layout exactly
            node = ctx.node("dense", layer, inp, (1, 1, o), attrs={**attrs, "kernel_size": [h, w]},
                            params={"kernel": np.transpose(k, (3, 0, 1, 2)), "bias": bias, **scale})
        else:
            k = kernel.reshape(1, 1, c, o)  # Dense on (H, W, C) acts on the channel axis: a 1x1 convolution
            node = ctx.node("conv2d", layer, inp, (h, w, o), attrs={**attrs, "kernel_size": [1, 1]},
                            params={"kernel": np.transpose(k, (3, 0, 1, 2)), "bias": bias, **scale})
        return with_activation(layer, node, ctx)

    def c_layer(self, node: Node, kernel_set: str) -> CLayer:
        return _c_layer(node, kernel_set, "dense")


def geometry(layer, padding: str, shape, zero_pads, kernel, strides, input_sign: bool):
    """((OH, OW), pads [top, bottom, left, right], pad value) of a convolution over ``shape``.

    ``zero_pads``: a ZeroPadding before the layer (``ctx.unpad``): its zeros come *before* the input
    quantizer, so a padded tap is sign(0) = +1 for a binarized input and the real value 0 otherwise.
    Larq's own 'same' padding pads *after* the quantizer with ``pad_values``."""
    (h, w, _), (kh, kw), (sh, sw) = shape, kernel, strides
    if zero_pads is not None:
        if padding != "valid":
            raise Refusal(f"padding='{padding}' after ZeroPadding", "padding='valid' after ZeroPadding")
        top, bottom, left, right = zero_pads
        if kh > h + top + bottom or kw > w + left + right:
            raise Refusal(f"kernel {kh}x{kw} larger than its padded input", "kernels within the input")
        return (((h + top + bottom - kh) // sh + 1, (w + left + right - kw) // sw + 1), tuple(zero_pads),
                1.0 if input_sign else 0.0)
    if padding == "valid":
        if kh > h or kw > w:
            raise Refusal(f"kernel {kh}x{kw} larger than its input {h}x{w}", "kernels within the input")
        return ((h - kh) // sh + 1, (w - kw) // sw + 1), (0, 0, 0, 0), 0.0
    if padding == "same":
        oh, top, bottom = same_padding(h, kh, sh)
        ow, left, right = same_padding(w, kw, sw)
        pad_value = float(np.asarray(layer.pad_values))
        if input_sign and pad_value not in (0.0, 1.0, -1.0):
            raise Refusal(f"pad_values={pad_value:g} before a sign quantizer", "pad_values 0.0 or 1.0")
        return (oh, ow), (top, bottom, left, right), pad_value
    if padding == "causal":  # Conv1D: k-1 zeros before the sequence, after the input quantizer
        return (h, (w - 1) // sw + 1), (0, 0, kw - 1, 0), 0.0
    raise Refusal(f"padding='{padding}'", "padding 'valid' or 'same' (Conv1D also 'causal')")


def _lower_conv(layer, inp: Tensor, ctx, kernel: np.ndarray, strides: tuple[int, int], padding: str) -> list[Node]:
    """A QuantConv2D (or QuantConv1D as a 1 x k convolution): ``kernel`` is ``[KH, KW, C, O]``."""
    input_sign = is_sign(layer.input_quantizer, "input_quantizer", allow_none=True)
    _check_kernel_quantizer(layer)
    if layer.data_format != "channels_last":
        raise Refusal(f"data_format='{layer.data_format}'", "channels_last")
    if ctx.is_flat(inp):
        raise Refusal("a convolution after Flatten", "convolutions before Flatten")
    _, bias = _weights_and_bias(layer)
    kh, kw, _c, o = kernel.shape
    inp, zero_pads = ctx.unpad(inp)
    (oh, ow), pads, pad_value = geometry(layer, padding, inp.shape, zero_pads, (kh, kw), strides, input_sign)
    out, (sh, sw) = (oh, ow, o), strides
    node = ctx.node("conv2d", layer, inp, out,
                    attrs={"kernel_size": [kh, kw], "strides": [sh, sw], "pads": list(pads),
                           "pad_value": pad_value, "input_sign": input_sign},
                    params={"kernel": np.transpose(kernel, (3, 0, 1, 2)), "bias": bias,
                            **_kernel_scale(layer, kernel)})
    return with_activation(layer, node, ctx)


class Conv1D(Conv2D):
    """QuantConv1D on ``(time, features)``: the IR's ``(1, time, features)``, a 1 x k convolution."""

    name = "conv1d"
    keras_classes = ("QuantConv1D",)
    supported = ("on (time, features); padding 'valid', 'same' (pad_values 0 or 1) or 'causal', any kernel size "
                 "and stride; quantizers, bias and activation as QuantConv2D")

    def lower(self, layer, inp: Tensor, ctx) -> list[Node]:
        if tuple(layer.dilation_rate) != (1,) or getattr(layer, "groups", 1) != 1:
            raise Refusal("dilation or groups", "dilation_rate=1, groups=1")
        kernel = np.asarray(layer.kernel.numpy(), dtype=np.float32)[None]  # [1, K, C, O]
        return _lower_conv(layer, inp, ctx, kernel, (1, int(layer.strides[0])), layer.padding)


def with_activation(layer, node: Node, ctx) -> list[Node]:
    """The layer's own activation after it: linear, a clip (relu, hard_tanh) before a sign, or softmax
    (then it must be the model's end; fold checks)."""
    return [node, *activation_nodes(layer, activation_name(layer), node.output, ctx)]


def fan_in(node: Node) -> int:
    kh, kw = node.attrs["kernel_size"]
    return kh * kw * node.in_shape[2]


# --------------------------------------------------------------------------------------------------
# Fold: thresholds (see the module docstring)


def border_classes(node_attrs: dict, in_shape, out_shape):
    """(row_class [OH], col_class [OW], pad masks [classes, KH, KW] bool) of a padded layer."""
    (kh, kw), (sh, sw) = node_attrs["kernel_size"], node_attrs["strides"]
    top, _bottom, left, _right = node_attrs["pads"]

    def axis(size, k, stride, before, outs):
        masks, index = [], []
        for o in range(outs):
            taps = tuple(not (0 <= o * stride + t - before < size) for t in range(k))
            if taps not in masks:
                masks.append(taps)
            index.append(masks.index(taps))
        return np.array(index, np.uint8), np.array(masks, bool)

    row_class, row_masks = axis(in_shape[0], kh, sh, top, out_shape[0])
    col_class, col_masks = axis(in_shape[1], kw, sw, left, out_shape[1])
    masks = row_masks[:, None, :, None] | col_masks[None, :, None, :]  # [R, Cc, KH, KW]
    return row_class, col_class, masks.reshape(-1, kh, kw)


def binary_thresholds(A: np.ndarray, B: np.ndarray, C: np.ndarray, K: int) -> np.ndarray:
    """tau int32 with the shape of C ([classes, O]) for b1 input; weights already flipped where A < 0."""
    A, B = np.asarray(A, np.float64), np.asarray(B, np.float64)
    C = np.asarray(C, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = B / A
        t = np.where(A > 0, np.floor((C + ratio) / 2.0), np.floor((C - ratio) / 2.0))
    t = np.where(A == 0, np.where(B < 0, -1, K), t)
    return np.clip(t, -1, K).astype(np.int32)


def u8_thresholds(alpha: np.ndarray, beta: np.ndarray, K: int) -> np.ndarray:
    """tau int32 (shape of beta) for u8 input with z = alpha*Q + beta; weights flipped where alpha > 0."""
    alpha, beta = np.asarray(alpha, np.float64), np.asarray(beta, np.float64)
    qmax = 255 * K
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(alpha > 0, np.floor(beta / alpha), np.floor(-beta / alpha))
    t = np.where(alpha == 0, np.where(beta < 0, -qmax - 1, qmax), t)
    return np.clip(t, -qmax - 1, qmax).astype(np.int32)


def fold(fnode: Node, inp: Tensor, out_kind: str, A: np.ndarray, B: np.ndarray,
         input_range: tuple[float, float], new_tensor, source_layers: tuple[str, ...] = (),
         per_class_offset: bool = False) -> Node:
    """The integer node of a QuantConv2D/QuantDense whose output passes through ``z = A*y + B`` and then
    either a sign (``out_kind`` b1: thresholds) or nothing (s32: ``z = scale*raw + offset``, applied by
    the host for the model's output; with ``per_class_offset`` the offset is ``[border class, O]`` and
    the class tables are kept, for a requantizing node that reads the sums, ``ops/requant.py``)."""
    lo, hi = input_range
    s = (hi - lo) / 255.0
    kernel = np.asarray(fnode.params["kernel"])
    o, kh, kw, c = kernel.shape
    K = kh * kw * c
    wbits = kernel < 0  # sign(w), 0 -> +1
    attrs = {"kernel_size": [kh, kw], "strides": list(fnode.attrs["strides"]), "pads": list(fnode.attrs["pads"])}
    out = new_tensor(out_kind, fnode.out_shape)
    padded = any(attrs["pads"])
    if padded:
        row_class, col_class, masks = border_classes(attrs, inp.shape, out.shape)
    else:
        row_class = col_class = None
        masks = np.zeros((1, kh, kw), bool)
    pv = float(fnode.attrs["pad_value"])
    if inp.kind == "b1" and padded:
        pv = float(np.sign(pv)) if pv else 0.0  # padded before the sign quantizer (sign(1.0) = +1)
    n_pad = masks.reshape(len(masks), -1).sum(axis=1)[:, None] * c  # [classes, 1]
    params: dict = {}

    def pad_set_bits(bits):  # [classes, O]: weight bits set on padded taps
        return np.einsum("pyx,oyxc->po", masks.astype(np.int64), bits.astype(np.int64))

    if inp.kind == "u8":
        s_w_all = (K - 2 * wbits.reshape(o, -1).sum(axis=1)).astype(np.float64)  # [O]
        s_w_pad = (n_pad - 2 * pad_set_bits(wbits)).astype(np.float64)  # [classes, O]
        const = lo * (s_w_all[None, :] - s_w_pad) + pv * s_w_pad  # y = s*Q + const
        alpha = np.asarray(A, np.float64) * s
        if out_kind == "b1":
            flip = alpha > 0
            params["thresholds"] = u8_thresholds(alpha[None, :], A[None, :] * const + B[None, :], K)
        else:
            flip = np.zeros(o, bool)
            params.update(_last_affine(fnode, alpha, A[None, :] * const + B[None, :], per_class_offset))
    else:
        flip = np.asarray(A) < 0 if out_kind == "b1" else np.zeros(o, bool)
        wflip = wbits ^ flip[:, None, None, None]
        p_w = pad_set_bits(wflip)
        C = K - n_pad + 2 * p_w + pv * (n_pad - 2 * p_w)  # [classes, O]; y = C - 2x
        if out_kind == "b1":
            params["thresholds"] = binary_thresholds(A[None, :], B[None, :], C, K)
        else:  # the kernel returns K - 2x; y = (K - 2x) + (C - K)
            params.update(_last_affine(fnode, np.asarray(A, np.float64), A[None, :] * (C - K) + B[None, :],
                                       per_class_offset))
    params["weight_bits"] = wbits ^ flip[:, None, None, None]
    if "thresholds" in params:
        params["thresholds"], row_class, col_class = _merge_classes(params["thresholds"], row_class, col_class)
    if row_class is not None:
        params["row_class"], params["col_class"] = row_class, col_class
    return Node(op=fnode.op, name=fnode.name, inputs=(inp,), output=out, attrs=attrs, params=params,
                source_layers=source_layers or fnode.source_layers)


def _last_affine(fnode: Node, scale: np.ndarray, offset: np.ndarray, per_class: bool = False) -> dict:
    """scale/offset of a last layer; the host applies one affine per channel, so padding whose effect
    depends on the border position cannot be represented there (``per_class``: kept per class)."""
    if per_class:
        return {"scale": np.asarray(scale, np.float64), "offset": np.asarray(offset, np.float64)}
    if not np.all(offset == offset[:1]):
        raise UnsupportedModelError(
            f"layer '{fnode.name}' ({fnode.attrs.get('keras_class', fnode.op)}) is the last layer and its "
            "'same' padding changes the result at the borders; the last layer's outputs get one affine per "
            "channel", hint="use padding='valid' (or pad_values=1.0 on a binary input) in the last layer")
    return {"scale": np.asarray(scale, np.float64), "offset": np.asarray(offset[0], np.float64)}


def _merge_classes(tau: np.ndarray, row_class, col_class):
    """Drop the class tables when every border class has the same thresholds."""
    if row_class is None or np.all(tau == tau[:1]):
        return tau[:1], None, None
    return tau, row_class, col_class


# --------------------------------------------------------------------------------------------------
# Reference: exactly the kernels' arithmetic, vectorised over the batch


_CHUNK_ELEMENTS = 1 << 24  # bounds the XOR temporary (~100 MB)


def windows(x: np.ndarray, kernel, strides, pads=(0, 0, 0, 0)) -> np.ndarray:
    """(N, H, W, D) -> (N, OH, OW, KH*KW*D) views of every window; padded taps read as 0."""
    top, bottom, left, right = pads
    if any(pads):
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    kh, kw = kernel
    sh, sw = strides
    win = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]  # (N, OH, OW, D, KH, KW)
    win = np.moveaxis(win, 3, -1)
    n, oh, ow = win.shape[:3]
    return win.reshape(n, oh, ow, -1)


def _reference(node: Node, x: np.ndarray) -> np.ndarray:
    o = node.out_shape[2]
    K = fan_in(node)
    kernel, strides, pads = node.attrs["kernel_size"], node.attrs["strides"], node.attrs["pads"]
    bits = node.params["weight_bits"]
    win = windows(x, kernel, strides, pads)
    if node.input_kind == "u8":
        # integer matmul, not BLAS: exact, and it does not stall when the reference runs in a thread of a
        # process whose cores TensorFlow's and OpenBLAS's thread pools already fight over
        w = 1 - 2 * bits.reshape(o, -1).astype(np.int32)  # +-1, bit 1 = -1
        acc = (win.astype(np.int32) @ w.T).astype(np.int64)  # |acc| <= 255K < 2**31 for K < 8.4 M
    else:
        wp = pack_bits(bits).reshape(o, -1)
        n, oh, ow, length = win.shape
        acc = np.empty((n, oh, ow, o), np.int64)
        step = max(1, _CHUNK_ELEMENTS // max(1, oh * ow * o * length))
        for s in range(0, n, step):
            acc[s:s + step] = popcount32(win[s:s + step, :, :, None, :] ^ wp[None, None, None]).sum(
                axis=-1, dtype=np.int64)
    if node.output_kind == "b1":
        return compare_thresholds(node, acc)
    if node.input_kind == "b1":
        return (K - 2 * acc).astype(np.int32)
    return acc.astype(np.int32)


def compare_thresholds(node: Node, acc: np.ndarray) -> np.ndarray:
    """Packed bits ``acc > tau`` of counts ``acc`` (N, OH, OW, O), each pixel with its border class's block."""
    tau = node.params["thresholds"].astype(np.int64)
    if "row_class" in node.params:
        cls = (node.params["row_class"].astype(np.int64)[:, None] * _col_classes(node)
               + node.params["col_class"].astype(np.int64)[None, :])  # [OH, OW]
        return pack_bits(acc > tau[cls][None])
    return pack_bits(acc > tau[0])


def _col_classes(node: Node) -> int:
    return int(node.params["col_class"].max()) + 1


# --------------------------------------------------------------------------------------------------
# Target: parameter layouts (bnn_mcu/layouts.py) and the kernel call


def _c_layer(node: Node, kernel_set: str, family: str) -> CLayer:
    from .. import layouts

    kind = f"{family}_{node.input_kind}_{node.output_kind}"
    layout = layouts.layout_for(node, kernel_set)
    arrays = [CArray("weights", "uint32_t", layouts.weight_words(node, layout),
                     layouts.WEIGHT_NOTES[layout])]
    error = None
    if node.output_kind == "b1":
        try:
            arrays.append(CArray("thresholds", "int32_t", layouts.threshold_words(node, layout),
                                 layouts.THRESHOLD_NOTES[layout]))
        except UnsupportedModelError as exc:
            error = exc.message
    tables, fields = class_tables(node)
    arrays += tables
    init = (f"{{ .dims = {c_dims(node.in_shape, node.out_shape, node.attrs['kernel_size'], node.attrs['strides'])},\n"
            f"      .padding = {c_padding(node.attrs['pads'])}, {fields} }}")
    thresholds = ", $thresholds" if node.output_kind == "b1" else ""
    in_type = "const uint8_t *" if node.input_kind == "u8" else "const uint32_t *"
    out_type = "uint32_t *" if node.output_kind == "b1" else "int32_t *"
    call = f"bnn_{kind}(&$params, ({in_type})$input, $weights{thresholds}, ({out_type})$output)"
    return CLayer(layout=layout, arrays=arrays, params_type="bnn_conv_params_t", params_init=init, call=call,
                  error=error, kernel=f"bnn_{kind}")


def _dims_limits(node: Node) -> list[str]:
    """Shapes the runtime's 16-bit dims and 8-bit kernel/stride/pad fields cannot hold."""
    problems = [f"dimension {v} exceeds 65,535" for v in (*node.in_shape, *node.out_shape) if v > 0xFFFF]
    problems += [f"kernel/stride/padding {v} exceeds 255" for v in
                 (*node.attrs["kernel_size"], *node.attrs["strides"], *node.attrs["pads"]) if v > 0xFF]
    return problems

