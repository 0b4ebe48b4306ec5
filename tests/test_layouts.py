"""Parameter layouts (bnn_mcu/layouts.py) without a compiler: the u8_bytemask packing and thresholds
against a direct computation, and the bit-sliced counters' fan-in limit."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from bnn_mcu import layouts
from bnn_mcu.errors import UnsupportedModelError


def _node(o=37, kh=3, kw=2, c=3, classes=2, seed=0, input_kind="u8"):
    rng = np.random.default_rng(seed)
    k = kh * kw * c
    bits = rng.integers(0, 2, (o, kh, kw, c)).astype(bool)
    tau = rng.integers(-255 * k - 1, 255 * k + 1, (classes, o)).astype(np.int32)
    return SimpleNamespace(name="n", input_kind=input_kind, output_kind="b1", in_shape=(5, 5, c),
                           attrs={"kernel_size": [kh, kw]}, params={"weight_bits": bits, "thresholds": tau})


def test_u8_channel_order_is_groups_of_32_highest_lane_first():
    order = layouts.u8_channel_order(37)
    assert list(order[:32]) == list(range(31, -1, -1)) and list(order[32:]) == [36, 35, 34, 33, 32]


def test_u8_bytemask_weights_and_thresholds():
    node = _node()
    assert layouts.layout_for(node, "bitsliced") == "u8_bytemask"
    o, kh, kw, c = node.params["weight_bits"].shape
    row, wpr = kw * c, (kw * c + 3) // 4
    words = layouts.weight_words(node, "u8_bytemask").reshape(o, kh, wpr)
    order = layouts.u8_channel_order(o)
    for s, ch in enumerate(order):
        for ky in range(kh):
            raw = words[s, ky].astype("<u4").tobytes()
            want = [0xFF if b else 0 for b in node.params["weight_bits"][ch, ky].reshape(-1)] + [0] * (4 * wpr - row)
            assert list(raw) == want
    t = layouts.threshold_words(node, "u8_bytemask").view(np.uint32).astype(np.int64)
    k = kh * kw * c
    n_set = node.params["weight_bits"].reshape(o, -1).sum(axis=1)
    want = np.clip(node.params["thresholds"].astype(np.int64) + 255 * n_set + 1, 0, 255 * k + 1)[:, order]
    assert np.array_equal(t, want)


def test_bitsliced_b1_counters_refuse_fan_in_beyond_their_planes():
    def node(c):  # threshold_words reads the shape and the thresholds only
        return SimpleNamespace(name="wide", input_kind="b1", output_kind="b1", in_shape=(1, 1, c),
                               attrs={"kernel_size": [1, 1]}, params={"thresholds": np.zeros((1, 1), np.int32)})

    assert layouts.threshold_words(node((1 << 23) - 2), "transposed").shape == (1, 1, layouts.MAX_PLANES - 1)
    with pytest.raises(UnsupportedModelError, match="fan-in"):
        layouts.threshold_words(node((1 << 24) - 1), "transposed")
