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
bitsliced     u8 -> b1         ``u8_transposed``: weights as ``transposed``; thresholds as bit planes
                               of tau + 255K + 1 (in [0, 510K + 1]), P = bit_length(1020K + 1)
bitsliced     others           ``standard`` (those layers run the ref kernels)
============  ===============  ===================================================================
"""

from __future__ import annotations

import numpy as np

from .bitpack import pack_bits
from .errors import UnsupportedModelError
from .ir import IntConv

KERNEL_SETS = ("ref", "bitsliced")  # the kernel sets codegen emits parameters for (ref first)
DEFAULT_KERNELS = "bitsliced"


def available_sets(src_dir) -> list[str]:
    """Kernel sets present in a runtime's ``src/`` directory, in KERNEL_SETS order."""
    from pathlib import Path

    return [k for k in KERNEL_SETS if (Path(src_dir) / k).is_dir()]


def layout_for(layer: IntConv, kernels: str) -> str:
    if kernels not in KERNEL_SETS:
        raise ValueError(f"unknown kernel set {kernels!r}")
    if kernels == "bitsliced" and layer.output_kind == "b1":
        return "transposed" if layer.input_kind == "b1" else "u8_transposed"
    return "standard"


def weight_words(layer: IntConv, layout: str) -> np.ndarray:
    bits = np.asarray(layer.weight_bits, bool)  # [O, KH, KW, C]
    o, kh, kw, c = bits.shape
    if layout == "standard":
        return pack_bits(bits)
    if layout in ("transposed", "u8_transposed"):
        groups = (o + 31) // 32
        padded = np.zeros((groups * 32, kh, kw, c), bool)
        padded[:o] = bits
        lanes = padded.reshape(groups, 32, kh, kw, c).transpose(0, 2, 3, 4, 1)  # [G, KH, KW, C, 32]
        return pack_bits(lanes)[..., 0]  # one word per input bit
    raise ValueError(layout)


def threshold_words(layer: IntConv, layout: str) -> np.ndarray:
    """int32 thresholds (standard, rows) or the bit planes of tau + 1 (transposed), as int32 words."""
    tau = np.asarray(layer.thresholds, np.int64)
    k = layer.fan_in
    if layout == "transposed":
        # count > tau  <=>  count >= tau + 1, and tau + 1 is in [0, K + 1]
        bias, planes = 1, plane_count(k)
    elif layout == "u8_transposed":
        # the kernel compares 2*neg + tau + 255K + 1 <= sum(q) + 255K (bs_common.h); in [0, 1020K + 1]
        bias, planes = 255 * k + 1, plane_count(1020 * k)
    else:
        return tau.astype(np.int32)
    if planes > MAX_PLANES:
        raise UnsupportedModelError(f"layer '{layer.name}': fan-in {k} is too large for the bit-sliced kernels "
                         f"({planes} counter planes, at most {MAX_PLANES})")
    o = len(tau)
    groups = (o + 31) // 32
    t1 = np.zeros(groups * 32, np.int64)  # tail lanes are masked in the kernel
    t1[:o] = tau + bias
    t1 = t1.reshape(groups, 32)
    out = np.zeros((groups, planes), np.uint32)
    for p in range(planes):
        bits = ((t1 >> p) & 1).astype(bool)
        out[:, p] = pack_bits(bits)[:, 0]
    return out.view(np.int32)


def problems(graph, kernels: str) -> list[str]:
    """Why ``graph`` cannot be laid out for ``kernels`` (empty when it can)."""
    out = []
    for layer in graph.layers:
        if isinstance(layer, IntConv) and layer.thresholds is not None:
            try:
                threshold_words(layer, layout_for(layer, kernels))
            except UnsupportedModelError as exc:
                out.append(exc.message)
    return out


MAX_PLANES = 24  # BNN_BS_MAX_PLANES in firmware/src/bitsliced/bs_common.h


def plane_count(k: int) -> int:
    """Bit planes of the vertical counters and thresholds: enough for 0..K+1 (firmware: same formula)."""
    return int(k + 1).bit_length()
