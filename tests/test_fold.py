"""Every accumulator value around every threshold: the folded comparison equals sign(BN(y)) in float64."""

import numpy as np
import pytest

from bnn_mcu.fold import binary_thresholds, u8_thresholds

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
    tau, flip = binary_thresholds(a, b, k)
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
    tau, flip = u8_thresholds(a, b, s_w, lo, hi, k)
    # Q = sum(w*q): probe a window of values around each threshold plus the extremes.
    for c in range(n):
        centre = int(np.clip(tau[c], -255 * k, 255 * k))
        q_vals = np.unique(np.clip(np.r_[np.arange(centre - 40, centre + 41), -255 * k, 255 * k],
                                   -255 * k, 255 * k))
        qq = -q_vals if flip[c] else q_vals  # the raw Q for each value the kernel computes
        y = lo * s_w[c] + s * qq
        expect = a[c] * y + b[c] < 0
        assert np.array_equal(q_vals > tau[c], expect), c
