"""The numpy reference: executes the integer graph on bit-packed data. THE truth the firmware must match.

It follows the firmware's arithmetic exactly (XOR + popcount on packed uint32 words, int accumulators,
the same thresholds and pooling masks) and is vectorised over the batch so thousands of inputs take
seconds. Binary activations are packed uint32 arrays ``(N, H, W, ceil(C/32))``; 8-bit inputs are
uint8 ``(N, H, W, C)``; the last layer gives int32 ``(N, outputs)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .bitpack import pack_bits
from .ir import IntConv, IntGraph, IntMaxPool

_POPCOUNT8 = np.array([(i).bit_count() for i in range(256)], dtype=np.uint8)


def popcount32(words: np.ndarray) -> np.ndarray:
    """Bits set in each uint32 (numpy >= 2 has np.bitwise_count; larq pins numpy 1.x)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words)
    w = np.ascontiguousarray(words, dtype=np.uint32)
    return _POPCOUNT8[w.view(np.uint8)].reshape(w.shape + (4,)).sum(axis=-1, dtype=np.uint8)


# Upper bound on elements of the XOR temporary per chunk (keeps memory ~100 MB).
_CHUNK_ELEMENTS = 1 << 24


@dataclass(frozen=True)
class ReferenceResult:
    raw: np.ndarray  # int32 (N, outputs): what the target returns
    logits: np.ndarray  # float64 (N, outputs): scale*raw + offset
    probs: np.ndarray | None  # float64 softmax(logits) if the model ends in softmax
    top1: np.ndarray  # int64 (N,): argmax of logits (first index on ties, as the firmware)
    layers: tuple[np.ndarray, ...] = ()  # every layer's output when keep_layers=True

    @property
    def outputs(self) -> np.ndarray:
        """What the Keras model outputs: probabilities if it ends in softmax, else logits."""
        return self.probs if self.probs is not None else self.logits


def run(graph: IntGraph, q: np.ndarray, *, keep_layers: bool = False) -> ReferenceResult:
    """Run the integer graph on 8-bit inputs ``q`` of shape (N, H, W, C) (or (N, H*W*C))."""
    q = np.asarray(q)
    if q.dtype != np.uint8:
        raise TypeError(f"reference inputs must be uint8, got {q.dtype}")
    n = q.shape[0]
    x = q.reshape((n,) + tuple(graph.input_shape))
    kept = []
    for layer in graph.layers:
        if isinstance(layer, IntConv):
            x = _conv(layer, x)
        elif isinstance(layer, IntMaxPool):
            x = _maxpool(layer, x)
        else:  # pragma: no cover - the IR has no other layer types
            raise TypeError(type(layer))
        if keep_layers:
            kept.append(x)
    raw = x.reshape(n, -1).astype(np.int32)
    logits = logits_from_raw(graph, raw)
    probs = softmax(logits) if graph.softmax else None
    return ReferenceResult(raw=raw, logits=logits, probs=probs, top1=np.argmax(logits, axis=1),
                           layers=tuple(kept))


def logits_from_raw(graph: IntGraph, raw: np.ndarray) -> np.ndarray:
    """The float logits the host rebuilds from the target's int32 outputs: float64 ``scale*raw +
    offset`` per channel (channel = index % C, NHWC flatten), two separately rounded operations, as the
    firmware computes them for its top-1."""
    last = graph.layers[-1]
    raw = np.asarray(raw, np.float64)
    return raw * np.resize(last.scale, raw.shape[-1]) + np.resize(last.offset, raw.shape[-1])


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _windows(x: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int]) -> np.ndarray:
    """(N, H, W, D) -> (N, OH, OW, KH*KW*D) views of every window (valid padding)."""
    kh, kw = kernel
    sh, sw = strides
    win = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]  # (N, OH, OW, D, KH, KW)
    win = np.moveaxis(win, 3, -1)  # (N, OH, OW, KH, KW, D)
    n, oh, ow = win.shape[:3]
    return win.reshape(n, oh, ow, -1)


def _conv(layer: IntConv, x: np.ndarray) -> np.ndarray:
    o = layer.out_shape[2]
    K = layer.fan_in
    if layer.input_kind == "u8":
        w = 1 - 2 * layer.weight_bits.reshape(o, -1).astype(np.int64)  # ±1, bit 1 = -1
        win = _windows(x, layer.kernel_size, layer.strides)
        # float64 BLAS is exact here: |acc| <= 255*K << 2**53.
        acc = np.rint(win.astype(np.float64) @ w.T.astype(np.float64)).astype(np.int64)
    else:
        wp = pack_bits(layer.weight_bits).reshape(o, -1)  # (O, KH*KW*Wc) uint32
        win = _windows(x, layer.kernel_size, layer.strides)  # (N, OH, OW, L) uint32
        n, oh, ow, length = win.shape
        acc = np.empty((n, oh, ow, o), np.int64)
        step = max(1, _CHUNK_ELEMENTS // max(1, oh * ow * o * length))
        for s in range(0, n, step):
            xor = win[s:s + step, :, :, None, :] ^ wp[None, None, None, :, :]
            acc[s:s + step] = popcount32(xor).sum(axis=-1, dtype=np.int64)
    if layer.output_kind == "b1":
        return pack_bits(acc > layer.thresholds.astype(np.int64))
    if layer.input_kind == "b1":
        return (K - 2 * acc).astype(np.int32)  # the ±1 dot product
    return acc.astype(np.int32)


def _maxpool(layer: IntMaxPool, x: np.ndarray) -> np.ndarray:
    ph, pw = layer.pool
    sh, sw = layer.strides
    oh, ow, _ = layer.out_shape
    win = sliding_window_view(x, (ph, pw), axis=(1, 2))[:, ::sh, ::sw][:, :oh, :ow]  # (N,OH,OW,Wc,PH,PW)
    all_neg = np.bitwise_and.reduce(win.reshape(win.shape[:4] + (-1,)), axis=-1)  # max of ±1 -> AND
    any_neg = np.bitwise_or.reduce(win.reshape(win.shape[:4] + (-1,)), axis=-1)  # min of ±1 -> OR
    mask = pack_bits(layer.or_mask)  # (Wc,)
    return (all_neg & ~mask) | (any_neg & mask)
