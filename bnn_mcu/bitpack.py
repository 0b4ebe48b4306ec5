"""Bit packing: the one implementation of the bit-order convention (DESIGN.md, "Bits").

Channels are the innermost axis; channel ``i`` goes to bit ``i % 32`` of word ``i // 32``, LSB first.
Bit 1 means -1, bit 0 means +1 (sign(0) = +1, as Larq's ``ste_sign``). Tail bits of the last word
are 0. This matches Larq Compute Engine's layout.
"""

from __future__ import annotations

import numpy as np

WORD_BITS = 32


def words_for(channels: int) -> int:
    return (channels + WORD_BITS - 1) // WORD_BITS


def sign_bits(values: np.ndarray) -> np.ndarray:
    """Bits of sign(values): True where the value is negative (-1); 0 and positives are +1."""
    return np.asarray(values) < 0


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a boolean array along its last axis into uint32 words: (..., C) -> (..., ceil(C/32))."""
    bits = np.asarray(bits, dtype=bool)
    c = bits.shape[-1]
    nw = words_for(c)
    padded = np.zeros(bits.shape[:-1] + (nw * WORD_BITS,), dtype=bool)
    padded[..., :c] = bits
    as_bytes = np.packbits(padded, axis=-1, bitorder="little")  # (..., nw*4), bit k of byte j = 8j+k
    return np.ascontiguousarray(as_bytes).view("<u4").astype(np.uint32)


def unpack_bits(words: np.ndarray, channels: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: (..., nw) uint32 -> (..., channels) bool."""
    words = np.ascontiguousarray(np.asarray(words, dtype="<u4"))
    as_bytes = words.view(np.uint8)
    bits = np.unpackbits(as_bytes, axis=-1, bitorder="little")
    return bits[..., :channels].astype(bool)


def quantize_input(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Float model inputs -> the 8-bit integers the firmware takes: q = round((x - lo) * 255 / (hi - lo)).

    Values outside [lo, hi] are clipped. The inverse map is :func:`dequantize_input`.
    """
    if not hi > lo:
        raise ValueError(f"input range must have hi > lo, got [{lo}, {hi}]")
    q = np.rint((np.asarray(x, dtype=np.float64) - lo) * (255.0 / (hi - lo)))
    return np.clip(q, 0, 255).astype(np.uint8)


def dequantize_input(q: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """The float input the model sees for 8-bit q: x = lo + q * (hi - lo) / 255 (float32)."""
    return (lo + np.asarray(q, dtype=np.float64) * ((hi - lo) / 255.0)).astype(np.float32)


def popcount32(words: np.ndarray) -> np.ndarray:
    """Bits set in each uint32, as uint8 (numpy >= 2 has np.bitwise_count; larq pins numpy 1.x, where
    the classic SWAR sum runs ~5x faster than a byte-table lookup: the reference's hot spot)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words)
    x = np.asarray(words, dtype=np.uint32)
    x = x - ((x >> 1) & np.uint32(0x55555555))
    x = (x & np.uint32(0x33333333)) + ((x >> 2) & np.uint32(0x33333333))
    x = (x + (x >> 4)) & np.uint32(0x0F0F0F0F)
    return ((x * np.uint32(0x01010101)) >> 24).astype(np.uint8)
