"""Parameter layouts: how each kernel set wants a layer's weights and thresholds laid out in flash.

The integer IR holds weights as booleans ``[O, KH, KW, C]`` (True = -1) and thresholds as int32
``[classes, O]`` (one row per border class of a 'same'-padded layer, see ``bnn_mcu/ops/conv.py``; one
row for valid padding); this module is the one place that turns them into the words a kernel set
reads. Layouts by kernel set and layer kind (input -> output):

============  ===============  ===================================================================
set           layer            layout
============  ===============  ===================================================================
ref           b1 -> any        ``standard``: ``[O][KH][KW][ceil(C/32)]`` words, channel c at bit c%32
                               of word c/32 (the activation layout); thresholds int32 ``[class][O]``
ref           u8 -> any        ``flat``: ``[O][ceil(K/32)]`` words, K = KH*KW*C, tap i =
                               (ky*KW + kx)*C + c at bit i%32 of word i/32 (1 bit per weight even for
                               C = 1); thresholds int32 ``[class][O]``
bitsliced     b1 -> b1         ``transposed``: ``[ceil(O/32)][KH][KW][C]`` words, one word per input
                               bit holding 32 output channels (lane o%32); thresholds as bit planes
                               ``[class][ceil(O/32)][P]``: plane k = bit k of (tau + 1) per lane,
                               P = bit_length(K + 1)
bitsliced     u8 -> b1         ``u8_bytemask``: per output channel, in the order "groups of 32, highest
                               lane first", ``[KH][WPR]`` words of byte masks (0xFF = weight bit 1,
                               0x00 = 0): window row ky's KW*C taps (tap (kx, c) at byte kx*C + c)
                               padded with 0x00 to WPR = ceil(KW*C/4) little-endian words;
                               thresholds uint32 ``[class][O]`` in the same channel order:
                               T = clamp(tau + 255*N_o + 1, 0, 255K + 1), N_o = the channel's weight
                               bits set; bit = (sum of |q - mask| over the window) >= T
bitsliced     others           as ref (those layers run the ref kernels)
============  ===============  ===================================================================

A border class is chosen per output pixel as ``row_class[oy] * col_classes + col_class[ox]``
(``bnn_conv_params_t`` in ``firmware/include/bnn/kernels.h``); its block of thresholds follows the
previous class's block.
"""

from __future__ import annotations

import numpy as np

from .bitpack import pack_bits
from .errors import UnsupportedModelError

KERNEL_SETS = ("ref", "bitsliced")  # the kernel sets codegen emits parameters for (ref first)
DEFAULT_KERNELS = "bitsliced"

WEIGHT_NOTES = {
    "standard": "[O][KH][KW][ceil(C/32)] words, channel c at bit c%32 (bit 1 = -1)",
    "flat": "[O][ceil(K/32)] words, tap (ky*KW + kx)*C + c at bit i%32 of word i/32 (bit 1 = -1)",
    "transposed": "[ceil(O/32)][KH][KW][C] words: one per input bit, lane = output channel % 32",
    "u8_bytemask": "per channel (groups of 32, highest lane first) [KH][ceil(KW*C/4)] words of byte masks "
                   "(0xFF = -1)",
}
THRESHOLD_NOTES = {
    "standard": "[border class][O] int32 tau: bit = acc > tau",
    "flat": "[border class][O] int32 tau: bit = acc > tau",
    "transposed": "[border class][ceil(O/32)][planes] bit planes of tau + 1, lane = output channel % 32",
    "u8_bytemask": "[border class][O] uint32 tau + 255*(weight bits set) + 1, clamped to [0, 255K + 1], "
                   "channels as the weights: bit = sum|q - mask| >= T",
}


def available_sets(src_dir) -> list[str]:
    """Kernel sets present in a runtime's ``src/`` directory, in KERNEL_SETS order."""
    from pathlib import Path

    return [k for k in KERNEL_SETS if (Path(src_dir) / k).is_dir()]


def layout_for(node, kernels: str) -> str:
    if kernels not in KERNEL_SETS:
        raise ValueError(f"unknown kernel set {kernels!r}")
    if kernels == "bitsliced" and node.output_kind == "b1":
        return "transposed" if node.input_kind == "b1" else "u8_bytemask"
    return "flat" if node.input_kind == "u8" else "standard"


def weight_words(node, layout: str) -> np.ndarray:
    bits = np.asarray(node.params["weight_bits"], bool)  # [O, KH, KW, C]
    o, kh, kw, c = bits.shape
    if layout == "standard":
        return pack_bits(bits)
    if layout == "flat":
        return pack_bits(bits.reshape(o, kh * kw * c))
    if layout == "u8_bytemask":
        row = kw * c
        wpr = (row + 3) // 4
        masks = np.zeros((o, kh, 4 * wpr), np.uint8)
        masks[:, :, :row] = np.where(bits.reshape(o, kh, row), 0xFF, 0x00)
        words = masks.view("<u4").reshape(o, kh * wpr)
        return words[u8_channel_order(o)].astype(np.uint32).reshape(-1)
    if layout == "transposed":
        groups = (o + 31) // 32
        padded = np.zeros((groups * 32, kh, kw, c), bool)
        padded[:o] = bits
        lanes = padded.reshape(groups, 32, kh, kw, c).transpose(0, 2, 3, 4, 1)  # [G, KH, KW, C, 32]
        return pack_bits(lanes)[..., 0]  # one word per input bit
    raise ValueError(layout)


def threshold_words(node, layout: str) -> np.ndarray:
    """int32 thresholds ``[class][O]`` (standard, flat), per class the bit planes of tau + 1
    (transposed), or T = tau + 255N + 1 in the kernel's channel order (u8_bytemask), as int32 words."""
    tau = np.asarray(node.params["thresholds"], np.int64)  # [classes, O]
    kh, kw = node.attrs["kernel_size"]
    k = kh * kw * node.in_shape[2]
    if layout == "u8_bytemask":
        # sum|q - m| = Q + 255N (firmware/src/bitsliced/bs_u8.h): Q > tau <=> sum >= tau + 255N + 1
        n_set = np.asarray(node.params["weight_bits"], bool).reshape(tau.shape[1], -1).sum(axis=1)
        t = np.clip(tau + 255 * n_set[None, :] + 1, 0, 255 * k + 1)
        return t[:, u8_channel_order(tau.shape[1])].astype(np.uint32).view(np.int32)
    if layout == "transposed":
        # count > tau  <=>  count >= tau + 1, and tau + 1 is in [0, K + 1]
        bias, planes = 1, plane_count(k)
    else:
        return tau.astype(np.int32)
    if planes > MAX_PLANES:
        raise UnsupportedModelError(f"layer '{node.name}': fan-in {k} is too large for the bit-sliced kernels "
                                    f"({planes} counter planes, at most {MAX_PLANES})")
    classes, o = tau.shape
    groups = (o + 31) // 32
    t1 = np.zeros((classes, groups * 32), np.int64)  # tail lanes are masked in the kernel
    t1[:, :o] = tau + bias
    t1 = t1.reshape(classes, groups, 32)
    out = np.zeros((classes, groups, planes), np.uint32)
    for p in range(planes):
        out[:, :, p] = pack_bits(((t1 >> p) & 1).astype(bool))[..., 0]
    return out.view(np.int32)


def u8_channel_order(o: int) -> np.ndarray:
    """Output channels in the order the u8_bytemask kernel visits them: groups of 32, highest lane first
    (it shifts each bit in at the bottom, so lane 0 is the last)."""
    return np.array([g + lane for g in range(0, o, 32) for lane in reversed(range(min(32, o - g)))], np.int64)


def problems(graph, kernels: str) -> list[str]:
    """Why ``graph`` cannot be laid out for ``kernels`` (empty when it can)."""
    from . import ops

    out = []
    for node in graph.layers:
        error = ops.get(node.op).c_layer(node, kernels).error
        if error:
            out.append(error)
    return out


MAX_PLANES = 24  # BNN_BS_MAX_PLANES in firmware/src/bitsliced/bs_common.h (test_layouts checks it)


def plane_count(k: int) -> int:
    """Bit planes of the vertical counters and thresholds: enough for 0..K+1 (firmware: same formula)."""
    return int(k + 1).bit_length()
