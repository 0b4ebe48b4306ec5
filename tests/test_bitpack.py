import numpy as np
import pytest

from bnn_mcu.bitpack import dequantize_input, pack_bits, quantize_input, sign_bits, unpack_bits, words_for

SIZES = [1, 31, 32, 33, 63, 64, 65]


@pytest.mark.parametrize("c", SIZES)
def test_pack_roundtrip_and_tails(c):
    rng = np.random.default_rng(c)
    bits = rng.integers(0, 2, (3, 5, c)).astype(bool)
    words = pack_bits(bits)
    assert words.dtype == np.uint32 and words.shape == (3, 5, words_for(c))
    assert np.array_equal(unpack_bits(words, c), bits)
    tail = c % 32
    if tail:
        assert np.all(words[..., -1] >> np.uint32(tail) == 0), "tail bits must be 0"


@pytest.mark.parametrize("c", SIZES)
def test_channel_i_is_bit_i_mod_32_of_word_i_div_32(c):
    for i in range(c):
        bits = np.zeros(c, bool)
        bits[i] = True
        words = pack_bits(bits)
        expect = np.zeros(words_for(c), np.uint32)
        expect[i // 32] = np.uint32(1) << np.uint32(i % 32)
        assert np.array_equal(words, expect)


def test_sign_convention_zero_is_plus_one():
    assert sign_bits(np.array([-2.0, -0.0, 0.0, 1e-9, -1e-9])).tolist() == [True, False, False, False, True]


@pytest.mark.parametrize("lo,hi", [(0.0, 1.0), (-1.0, 1.0), (0.0, 255.0)])
def test_quantize_roundtrip_exact_on_grid(lo, hi):
    q = np.arange(256, dtype=np.uint8)
    assert np.array_equal(quantize_input(dequantize_input(q, lo, hi), lo, hi), q)
    assert quantize_input(np.array([lo - 5, hi + 5]), lo, hi).tolist() == [0, 255]


def test_mnist_convention_pixel_over_255_is_exact():
    pixels = np.arange(256, dtype=np.uint8)
    x = pixels.astype(np.float32) / 255.0
    assert np.array_equal(quantize_input(x, 0.0, 1.0), pixels)


def test_popcount32_matches_python():
    from bnn_mcu.bitpack import popcount32

    w = np.random.default_rng(1).integers(0, 2**32, (500, 3, 2), dtype=np.uint64).astype(np.uint32)
    w[0, 0] = (0xFFFFFFFF, 0)
    got = popcount32(w)
    assert got.dtype == np.uint8 and got.shape == w.shape
    assert got.tolist() == [[[bin(int(v)).count("1") for v in row] for row in m] for m in w]
