"""Parameter layouts: how each kernel set wants a layer's weights and thresholds laid out in flash.

The integer IR holds weights as booleans ``[O, KH, KW, C]`` (True = -1) and thresholds as int32; this
module is the one place that turns them into the words a kernel set reads. Layouts by kernel set and
layer kind (input -> output):

============  ===============  ===================================================================
set           layer            layout
============  ===============  ===================================================================
ref           every layer      ``standard``: ``[O][KH][KW][ceil(C/32)]`` words, channel c at bit c%32
                               of word c/32 (the activation layout); thresholds int32 ``[O]``
bitsliced     b1 -> b1         ``transposed``: ``[ceil(O/32)][KH][KW][C]`` words, one word per input
                               bit holding 32 output channels (lane o%32); thresholds as bit planes
                               ``[ceil(O/32)][P]``: plane k = bit k of (tau + 1) per lane,
                               P = bit_length(K + 1)
bitsliced     u8 -> b1         ``rows``: ``[O][KH][ceil(KW*C/32)]`` words: the bits of one window
                               row (KW*C inputs, NHWC order) per output channel; thresholds int32
bitsliced     others           ``standard`` (those layers run the ref kernels)
============  ===============  ===================================================================
"""

from __future__ import annotations

import numpy as np

from .bitpack import pack_bits
from .ir import IntConv

KERNEL_SETS = ("ref", "bitsliced")


def layout_for(layer: IntConv, kernels: str) -> str:
    if kernels not in KERNEL_SETS:
        raise ValueError(f"unknown kernel set {kernels!r}")
    if kernels == "bitsliced" and layer.output_kind == "b1":
        return "transposed" if layer.input_kind == "b1" else "rows"
    return "standard"


def weight_words(layer: IntConv, layout: str) -> np.ndarray:
    bits = np.asarray(layer.weight_bits, bool)  # [O, KH, KW, C]
    o, kh, kw, c = bits.shape
    if layout == "standard":
        return pack_bits(bits)
    if layout == "rows":
        return pack_bits(bits.reshape(o, kh, kw * c))
    if layout == "transposed":
        groups = (o + 31) // 32
        padded = np.zeros((groups * 32, kh, kw, c), bool)
        padded[:o] = bits
        lanes = padded.reshape(groups, 32, kh, kw, c).transpose(0, 2, 3, 4, 1)  # [G, KH, KW, C, 32]
        return pack_bits(lanes)[..., 0]  # one word per input bit
    raise ValueError(layout)


def threshold_words(layer: IntConv, layout: str) -> np.ndarray:
    """int32 thresholds (standard, rows) or the bit planes of tau + 1 (transposed), as int32 words."""
    tau = np.asarray(layer.thresholds, np.int64)
    if layout != "transposed":
        return tau.astype(np.int32)
    k = layer.fan_in
    planes = plane_count(k)
    o = len(tau)
    groups = (o + 31) // 32
    t1 = np.full(groups * 32, k + 1, np.int64)  # tail lanes: never fire (and are masked anyway)
    t1[:o] = tau + 1  # count > tau  <=>  count >= tau + 1, and tau + 1 is in [0, K + 1]
    t1 = t1.reshape(groups, 32)
    out = np.zeros((groups, planes), np.uint32)
    for p in range(planes):
        bits = ((t1 >> p) & 1).astype(bool)
        out[:, p] = pack_bits(bits)[:, 0]
    return out.view(np.int32)


def plane_count(k: int) -> int:
    """Bit planes of the vertical counters and thresholds: enough for 0..K+1 (firmware: same formula)."""
    return int(k + 1).bit_length()
