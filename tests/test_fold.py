"""Every accumulator value around every threshold: the folded comparison equals sign(BN(y)) in float64,
with valid padding and with every border class of 'same' padding (pad values 0, +1, -1)."""

import numpy as np
import pytest

from bnn_mcu.ir import Node, Tensor
from bnn_mcu.ops.conv import binary_thresholds, border_classes, fold, u8_thresholds

SIZES = [1, 31, 32, 33, 63, 64, 65, 288]


def _cases(rng, k, n=64):
    """(A, B) pairs: thresholds inside the range, outside it, exact integers, A<0, A=0."""
    a = rng.uniform(0.05, 3, n) * rng.choice([-1, 1], n)
    b = rng.uniform(-1.2 * k, 1.2 * k, n) * np.abs(a)
    a[:4] = [0.0, 0.0, 1.0, -1.0]
    b[:4] = [-1.0, 1.0, 0.0, 0.0]  # constant -1, constant +1, z = y exactly (ties at y=0), z = -y
    a[4:8] = [2.0, -2.0, 1e-30, -1e-30]  # tiny scales: thresholds far outside, clamped
    b[4:8] = [4.0, 4.0, 1.0, -1.0]  # exact ties at y = -2 and y = 2
    return a, b


@pytest.mark.parametrize("k", SIZES)
def test_binary_threshold_matches_float_sign_for_every_x(k):
    rng = np.random.default_rng(k)
    a, b = _cases(rng, k)
    flip = a < 0
    tau = binary_thresholds(a, b, np.full(len(a), k), k)
    x = np.arange(k + 1)[:, None]  # popcount of XOR with the unflipped weights
    y = k - 2 * x  # the ±1 dot product
    expect = a * y + b < 0  # bit 1 = -1; sign(0) = +1
    counted = np.where(flip, k - x, x)  # what the kernel counts with flipped weights
    got = counted > tau
    assert np.array_equal(got, expect)
    assert np.all((tau >= -1) & (tau <= k))


@pytest.mark.parametrize("k", [1, 9, 27, 784])
@pytest.mark.parametrize("lo,hi", [(0.0, 1.0), (-1.0, 1.0), (0.0, 255.0)])
def test_u8_threshold_matches_float_sign(k, lo, hi):
    rng = np.random.default_rng(k)
    s = (hi - lo) / 255.0
    n = 48
    s_w = rng.integers(-k, k + 1, n).astype(np.float64)
    a = rng.uniform(0.05, 3, n) * rng.choice([-1, 1], n)
    b = rng.uniform(-100, 100, n)
    a[0], a[1] = 0.0, 0.0
    b[0], b[1] = -1.0, 1.0
    flip = a * s > 0
    tau = u8_thresholds(a * s, a * lo * s_w + b, k)
    # Q = sum(w*q): probe a window of values around each threshold plus the extremes.
    for c in range(n):
        centre = int(np.clip(tau[c], -255 * k, 255 * k))
        q_vals = np.unique(np.clip(np.r_[np.arange(centre - 40, centre + 41), -255 * k, 255 * k],
                                   -255 * k, 255 * k))
        qq = -q_vals if flip[c] else q_vals  # the raw Q for each value the kernel computes
        y = lo * s_w[c] + s * qq
        expect = a[c] * y + b[c] < 0
        assert np.array_equal(q_vals > tau[c], expect), c


def _float_conv_node(kernel, pads, strides, pad_value, in_shape):
    o, kh, kw, c = kernel.shape
    inp = Tensor(0, "f32", in_shape)
    oh = (in_shape[0] + pads[0] + pads[1] - kh) // strides[0] + 1
    ow = (in_shape[1] + pads[2] + pads[3] - kw) // strides[1] + 1
    return Node(op="conv2d", name="c", inputs=(inp,), output=Tensor(1, "f32", (oh, ow, o)),
                attrs={"kernel_size": [kh, kw], "strides": list(strides), "pads": list(pads),
                       "pad_value": pad_value, "input_sign": True}, params={"kernel": kernel, "bias": None})


@pytest.mark.parametrize("pad_value", [0.0, 1.0, -1.0])
@pytest.mark.parametrize("kh,kw,sh,sw,h,w", [(3, 3, 1, 1, 5, 6), (5, 3, 2, 1, 7, 4), (3, 5, 2, 2, 6, 9)])
@pytest.mark.parametrize("input_kind", ["b1", "u8"])
def test_same_padding_thresholds_match_larq_padding(pad_value, kh, kw, sh, sw, h, w, input_kind):
    """Fold a 'same'-padded layer and check, for random inputs at every output pixel, that the kernel's
    count (padded taps read as bit 0 / q = 0) against its border class's threshold gives sign(A*y + B)
    with y computed on the input padded with Larq's pad value (0: nothing, +-1)."""
    rng = np.random.default_rng(kh * 100 + kw * 10 + sh + h)
    c, o = 3, 40
    kernel = rng.choice([-1.0, 1.0], (o, kh, kw, c)).astype(np.float32)
    from bnn_mcu.ops.conv import same_padding

    oh, top, bottom = same_padding(h, kh, sh)
    ow, left, right = same_padding(w, kw, sw)
    pads = (top, bottom, left, right)
    fnode = _float_conv_node(kernel, pads, (sh, sw), pad_value, (h, w, c))
    A = rng.uniform(0.2, 2, o) * rng.choice([-1, 1], o)
    K = kh * kw * c
    lo, hi = (-1.0, 1.0)
    B = rng.uniform(-K, K, o) * np.abs(A) * (1 if input_kind == "b1" else 0.3)
    ids = iter(range(10, 100))
    inp = Tensor(0, input_kind, (h, w, c))
    node = fold(fnode, inp, "b1", A, B, (lo, hi), lambda kind, shape: Tensor(next(ids), kind, tuple(shape)))
    bits = node.params["weight_bits"]  # flipped where needed
    tau = node.params["thresholds"]
    row_class, col_class = node.params.get("row_class"), node.params.get("col_class")
    ncols = 1 if col_class is None else int(col_class.max()) + 1
    for _trial in range(6):
        if input_kind == "b1":
            a = rng.choice([-1.0, 1.0], (h, w, c))
            padded = np.pad(a, ((top, bottom), (left, right), (0, 0)), constant_values=pad_value)
            kernel_view = np.pad(a, ((top, bottom), (left, right), (0, 0)), constant_values=1.0)  # bit 0
        else:
            qv = rng.integers(0, 256, (h, w, c))
            a = lo + qv * (hi - lo) / 255.0
            padded = np.pad(a, ((top, bottom), (left, right), (0, 0)), constant_values=pad_value)
            kernel_view = np.pad(qv, ((top, bottom), (left, right), (0, 0)))  # q = 0
        for oy in range(oh):
            for ox in range(ow):
                win = padded[oy * sh:oy * sh + kh, ox * sw:ox * sw + kw]
                y = np.einsum("yxc,oyxc->o", win, kernel.astype(np.float64))
                expect = A * y + B < 0
                kv = kernel_view[oy * sh:oy * sh + kh, ox * sw:ox * sw + kw]
                if input_kind == "b1":
                    acc = np.sum((kv < 0)[None] ^ bits, axis=(1, 2, 3))
                else:
                    acc = np.einsum("yxc,oyxc->o", kv, 1 - 2 * bits.astype(np.int64))
                cls = 0 if row_class is None else int(row_class[oy]) * ncols + int(col_class[ox])
                assert np.array_equal(acc > tau[cls], expect), (oy, ox)


def test_border_classes_of_a_3x3_same_layer():
    row, col, masks = border_classes({"kernel_size": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1]},
                                     (5, 6, 1), (5, 6, 1))
    assert row.tolist() == [0, 1, 1, 1, 2] and col.tolist() == [0, 1, 1, 1, 1, 2]
    assert masks.shape == (9, 3, 3) and masks[4].sum() == 0 and masks[0].sum() == 5


@pytest.mark.parametrize("fn", ["relu", "relu6", "hard_tanh"])
def test_clip_equivalent_affine_matches_brute_force(fn):
    """For every channel, ``A*v + B < 0`` exactly where ``a2*clip(v) + b2 < 0``, on a dense grid of v
    that includes the clip bounds and the switching point m themselves."""
    from bnn_mcu import ops
    from bnn_mcu.ir import Node, Tensor
    from bnn_mcu.ops.activation import CLIPS

    lo, hi = CLIPS[fn]
    rng = np.random.default_rng(0)
    n = 400
    a2 = rng.normal(0, 1, n) * (rng.random(n) > 0.1)  # some zero slopes
    b2 = rng.normal(0, 3, n)
    b2[:20] = -a2[:20] * lo  # m exactly at the bounds
    b2[20:40] = -a2[20:40] * (hi if np.isfinite(hi) else 7.0)
    t = Tensor(0, "f32", (1, 1, n))
    node = Node(op="clip", name="c", inputs=(t,), output=t, attrs={"fn": fn, "lo": lo, "hi": hi})
    A, B = ops.get("clip").equivalent_affine(node, a2, b2)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(a2 != 0, -b2 / a2, 0.0)
    v = np.concatenate([np.linspace(-10, 10, 2001), [lo, hi if np.isfinite(hi) else 6.0]])
    v = np.concatenate([v[:, None] + np.zeros(n), m[None, :]], axis=0)  # every channel's m too
    z = a2 * np.clip(v, lo, hi) + b2
    got = A * v + B < 0
    decided = np.abs(z) > 1e-9 * (1 + np.abs(b2))  # m = -b2/a2 itself may round either way (a float tie)
    assert np.array_equal((z < 0)[decided], got[decided])
    assert decided.mean() > 0.9
