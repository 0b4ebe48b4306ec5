/*
 * Bit-sliced kernels: shared inner loops (see bnn_mcu/layouts.py for the parameter layouts).
 *
 * b1 -> b1 ("transposed" weights): one output-channel group of 32 lanes at a time. For every input
 * bit a_i of the window, t_i = W_i XOR (a_i ? ~0 : 0) holds, in lane o, bit (a_i XOR w_oi): what
 * popcount(a XOR w_o) counts. The 32 per-lane counts are kept *vertically*: plane k is a word whose
 * lane o is bit k of count_o. Words are added eight at a time with a Harley-Seal carry-save tree
 * (ones, twos and fours stay as running carry-save state; each block emits one "eights" word that is
 * rippled into planes 3, 4, ...), so the popcount work is shared by all 32 channels and by the
 * words of a block. The counts are then compared with tau + 1 in bit-sliced form (MSB first), which
 * yields the 32 output bits directly as one packed word.
 *
 * u8 -> b1 ("u8_transposed" weights): the same vertical counters, fed with the 8-bit inputs bit
 * plane by bit plane (see bnn_bs_pixel_u8).
 */
#ifndef BNN_BS_COMMON_H
#define BNN_BS_COMMON_H

#include <stdint.h>

#include "bnn/kernels.h"

/* Planes for counts 0..K+1; the converter refuses K >= 2^23. Same formula as layouts.plane_count. */
#define BNN_BS_MAX_PLANES 24u

static inline uint32_t bnn_bs_plane_count(uint32_t k)
{
    uint32_t n = 0;
    for (uint32_t v = k + 1u; v != 0u; v >>= 1) {
        n++;
    }
    return n;
}

/* lane mask (0 or ~0) of bit j of w */
#define BNN_BS_LANE(w, j) ((uint32_t)(-(int32_t)(((w) >> (j)) & 1u)))

/* carry-save adder: h:l = a + b + c (bitwise, 32 lanes) */
#define BNN_BS_CSA(h, l, a, b, c)                                                                  \
    do {                                                                                           \
        const uint32_t u_ = (a) ^ (b);                                                             \
        (h) = ((a) & (b)) | (u_ & (c));                                                            \
        (l) = u_ ^ (c);                                                                            \
    } while (0)

static inline void bnn_bs_ripple(uint32_t *planes, uint32_t carry, uint32_t k)
{
    while (carry != 0u) {
        const uint32_t t = planes[k] & carry;
        planes[k] ^= carry;
        carry = t;
        k++;
    }
}

/*
 * Harley-Seal block: add the 8 lane words w[0..7] XOR lane(a, 0..7) to the carry-save state
 * (ones, twos, fours: locals of the caller) and ripple the block's "eights" into q[3..].
 * The lane indices are constants, so each extraction is one SBFX on ARMv7-M.
 */
#define BNN_BS_HS8(q, ones, twos, fours, a, w)                                                       \
    do {                                                                                           \
        uint32_t ta_, tb_, fa_, fb_, e_;                                                           \
        BNN_BS_CSA(ta_, ones, ones, (w)[0] ^ BNN_BS_LANE(a, 0u), (w)[1] ^ BNN_BS_LANE(a, 1u));     \
        BNN_BS_CSA(tb_, ones, ones, (w)[2] ^ BNN_BS_LANE(a, 2u), (w)[3] ^ BNN_BS_LANE(a, 3u));     \
        BNN_BS_CSA(fa_, twos, twos, ta_, tb_);                                                     \
        BNN_BS_CSA(ta_, ones, ones, (w)[4] ^ BNN_BS_LANE(a, 4u), (w)[5] ^ BNN_BS_LANE(a, 5u));     \
        BNN_BS_CSA(tb_, ones, ones, (w)[6] ^ BNN_BS_LANE(a, 6u), (w)[7] ^ BNN_BS_LANE(a, 7u));     \
        BNN_BS_CSA(fb_, twos, twos, ta_, tb_);                                                     \
        BNN_BS_CSA(e_, fours, fours, fa_, fb_);                                                    \
        bnn_bs_ripple((q), e_, 3u);                                                                \
    } while (0)

/*
 * Vertical counts of popcount(window XOR w_o) for the 32 lanes of one group, at output pixel
 * (oy, ox). wg points at the group's weights [KH][KW][C] (one word per input bit).
 */
static inline void bnn_bs_window_counts(const bnn_dims_t *d, const uint32_t *in, const uint32_t *wg,
                                        uint32_t oy, uint32_t ox, uint32_t *q, uint32_t planes)
{
    const uint32_t wc = BNN_WORDS_FOR(d->in_c);
    const uint32_t c = d->in_c;
    uint32_t ones = 0u, twos = 0u, fours = 0u;
    for (uint32_t k = 0; k < planes || k < 3u; k++) { /* q[0..2] are written back at the end */
        q[k] = 0u;
    }
    const uint32_t *w = wg;
    for (uint32_t ky = 0; ky < d->k_h; ky++) {
        const uint32_t *row = in + ((oy * d->stride_h + ky) * d->in_w + ox * d->stride_w) * wc;
        for (uint32_t kx = 0; kx < d->k_w; kx++) {
            const uint32_t *a_word = row + kx * wc;
            for (uint32_t j = 0; j < wc; j++) {
                uint32_t a = a_word[j];
                const uint32_t bits = (c - 32u * j < 32u) ? c - 32u * j : 32u;
                uint32_t b = 0;
                for (; b + 8u <= bits; b += 8u) {
                    BNN_BS_HS8(q, ones, twos, fours, a, w);
                    a >>= 8;
                    w += 8;
                }
                if (b < bits) { /* channel counts that are not multiples of 8: plain ripple */
                    q[0] = ones;
                    q[1] = twos;
                    q[2] = fours;
                    for (; b < bits; b++) {
                        bnn_bs_ripple(q, *w++ ^ BNN_BS_LANE(a, 0u), 0u);
                        a >>= 1;
                    }
                    ones = q[0];
                    twos = q[1];
                    fours = q[2];
                }
            }
        }
    }
    q[0] = ones;
    q[1] = twos;
    q[2] = fours;
}

/* Lanes whose count >= tau + 1 (given as bit planes t[0..planes-1]), restricted to lane_mask. */
static inline uint32_t bnn_bs_compare(const uint32_t *q, const int32_t *t, uint32_t planes,
                                      uint32_t lane_mask)
{
    uint32_t gt = 0u, eq = ~0u;
    for (uint32_t k = planes; k-- > 0u;) {
        const uint32_t a = q[k], b = (uint32_t)t[k];
        gt |= eq & a & ~b;
        eq &= ~(a ^ b);
    }
    return (gt | eq) & lane_mask;
}

static inline uint32_t bnn_bs_lane_mask(uint32_t out_c, uint32_t group)
{
    const uint32_t left = out_c - 32u * group;
    return left >= 32u ? 0xFFFFFFFFu : ((1u << left) - 1u);
}

/* One output pixel of a b1 -> b1 layer: every group, packed words straight out. */
static inline void bnn_bs_pixel_b1(const bnn_dims_t *d, const uint32_t *in, const uint32_t *w,
                                   const int32_t *thresholds, uint32_t oy, uint32_t ox,
                                   uint32_t *out_pixel)
{
    const uint32_t k = (uint32_t)d->k_h * d->k_w * d->in_c;
    const uint32_t planes = bnn_bs_plane_count(k);
    const uint32_t groups = BNN_WORDS_FOR(d->out_c);
    uint32_t q[BNN_BS_MAX_PLANES];
    for (uint32_t g = 0; g < groups; g++) {
        bnn_bs_window_counts(d, in, w + g * k, oy, ox, q, planes);
        out_pixel[g] = bnn_bs_compare(q, thresholds + g * planes, planes, bnn_bs_lane_mask(d->out_c, g));
    }
}

/*
 * One output pixel of a u8 -> b1 layer ("u8_transposed": weights [G][KH][KW][C] one word per input,
 * lanes = output channels; thresholds as bit planes of tau' = tau + 255K + 1).
 *
 * The firmware wants bit = (S - 2*neg > tau) with S = sum(q) over the window and
 * neg = sum(q_i where lane o's weight bit i is 1). Per lane, with integers:
 *     S - 2*neg > tau  <=>  2*neg + tau < S  <=>  2*neg + tau' <= S + 255K,
 * where tau' = tau + 255K + 1 is in [0, 510K + 1] (tau is clamped into [-255K - 1, 255K]) and
 * 2*neg + tau' <= 1020K + 1, so P = bit_length(1020K + 1) planes hold every value.
 * neg is accumulated vertically: for every window input q_i != 0 and every set bit b of q_i, the
 * weight word W_i (lane o = bit_oi) is rippled into plane b. Then V = (neg << 1) + tau' is a
 * bit-sliced add, and V <= S + 255K a bit-sliced compare against one scalar for all 32 lanes.
 */
static inline void bnn_bs_pixel_u8(const bnn_dims_t *d, const uint8_t *in, const uint32_t *w,
                                   const int32_t *thresholds, uint32_t oy, uint32_t ox,
                                   uint32_t *out_pixel)
{
    const uint32_t row_len = (uint32_t)d->k_w * d->in_c;
    const uint32_t k = (uint32_t)d->k_h * row_len;
    const uint32_t planes = bnn_bs_plane_count(1020u * k);
    const uint32_t groups = BNN_WORDS_FOR(d->out_c);
    const uint8_t *base = in + ((oy * d->stride_h) * d->in_w + ox * d->stride_w) * d->in_c;
    const uint32_t row_stride = (uint32_t)d->in_w * d->in_c;
    uint32_t sum = 0;
    for (uint32_t ky = 0; ky < d->k_h; ky++) {
        const uint8_t *r = base + ky * row_stride;
        for (uint32_t i = 0; i < row_len; i++) {
            sum += r[i];
        }
    }
    const uint32_t bound = sum + 255u * k; /* S + 255K */
    uint32_t neg[BNN_BS_MAX_PLANES];
    for (uint32_t g = 0; g < groups; g++) {
        for (uint32_t p = 0; p < planes; p++) {
            neg[p] = 0u;
        }
        const uint32_t *wi = w + g * k;
        for (uint32_t ky = 0; ky < d->k_h; ky++) {
            const uint8_t *r = base + ky * row_stride;
            for (uint32_t i = 0; i < row_len; i++, wi++) {
                uint32_t v = r[i];
                while (v != 0u) {
                    const uint32_t b = (uint32_t)__builtin_ctz(v);
                    bnn_bs_ripple(neg, *wi, b);
                    v &= v - 1u;
                }
            }
        }
        /* V = 2*neg + tau' (bit-sliced ripple-carry add), then lanes with V <= bound. */
        const int32_t *t = thresholds + g * planes;
        uint32_t carry = 0u, prev = 0u;
        uint32_t gt = 0u, eq = ~0u;
        uint32_t v_planes[BNN_BS_MAX_PLANES];
        for (uint32_t p = 0; p < planes; p++) {
            const uint32_t a = prev, b = (uint32_t)t[p];
            prev = neg[p];
            v_planes[p] = a ^ b ^ carry;
            carry = (a & b) | (carry & (a ^ b));
        }
        for (uint32_t p = planes; p-- > 0u;) {
            const uint32_t c = (uint32_t)(-(int32_t)((bound >> p) & 1u));
            gt |= eq & v_planes[p] & ~c;
            eq &= ~(v_planes[p] ^ c);
        }
        out_pixel[g] = ~gt & bnn_bs_lane_mask(d->out_c, g);
    }
}

#endif /* BNN_BS_COMMON_H */
