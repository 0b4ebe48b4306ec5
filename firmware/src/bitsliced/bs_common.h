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
 * u8 -> b1 ("u8_bytemask" weights): sums of absolute differences, see bs_u8.h.
 *
 * 'same' padding (kernels.h): a b1 tap outside the input reads as bit 0, so it adds its weight word
 * W_i itself (popcount(0 XOR w) = w); a u8 tap outside the input is q = 0 and is skipped. Only border
 * pixels (a window that leaves the input) take the checked path: interior pixels run the same
 * unchecked loop as valid padding. Thresholds: one block of ceil(out_c/32) * planes words per border
 * class, selected per output pixel by the caller (bnn_bs_block).
 */
#ifndef BNN_BS_COMMON_H
#define BNN_BS_COMMON_H

#include <stdint.h>

#include "bnn/kernels.h"

/* Force inlining where a constant argument must specialise a loop (the interior fast path). */
#define BNN_BS_INLINE static inline __attribute__((always_inline))

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
 * Vertical counts of popcount(window XOR w_o) for the 32 lanes of one group, for the window whose
 * first tap is input (iy0, ix0) (negative in top/left border pixels). wg points at the group's
 * weights [KH][KW][C] (one word per input bit). border == 0 promises that every tap is inside the
 * input: the callers pass a constant, so the interior instance has no per-tap test and no mask.
 */
BNN_BS_INLINE void bnn_bs_window_counts(const bnn_dims_t *d, const uint32_t *in, const uint32_t *wg,
                                        int32_t iy0, int32_t ix0, int border, uint32_t *q,
                                        uint32_t planes)
{
    const uint32_t wc = BNN_WORDS_FOR(d->in_c);
    const uint32_t c = d->in_c;
    uint32_t ones = 0u, twos = 0u, fours = 0u;
    for (uint32_t k = 0; k < planes || k < 3u; k++) { /* q[0..2] are written back at the end */
        q[k] = 0u;
    }
    const uint32_t *w = wg;
    for (uint32_t ky = 0; ky < d->k_h; ky++) {
        const int32_t iy = iy0 + (int32_t)ky;
        for (uint32_t kx = 0; kx < d->k_w; kx++) {
            const int32_t ix = ix0 + (int32_t)kx;
            const uint32_t *a_word = in;
            uint32_t keep = ~0u; /* 0 for a padded tap: it reads as bit 0 */
            if (!border || ((uint32_t)iy < d->in_h && (uint32_t)ix < d->in_w)) {
                a_word = in + ((uint32_t)iy * d->in_w + (uint32_t)ix) * wc;
            } else {
                keep = 0u;
            }
            for (uint32_t j = 0; j < wc; j++) {
                uint32_t a = a_word[j] & keep;
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

/* Class tables are both given or both NULL (kernels.h). */
static inline int bnn_bs_classes_ok(const bnn_conv_params_t *p)
{
    return (p->row_class == NULL) == (p->col_class == NULL);
}

/* Index of the threshold block of output pixel (oy, ox) (kernels.h, bnn_conv_params_t). */
static inline uint32_t bnn_bs_block(const bnn_conv_params_t *p, uint32_t oy, uint32_t ox)
{
    if (p->row_class == NULL) {
        return 0u;
    }
    return (uint32_t)p->row_class[oy] * p->col_classes + p->col_class[ox];
}

/* First input row (or column) of the window of output position o: may be negative ('same'). */
static inline int32_t bnn_bs_origin(uint32_t o, uint32_t stride, uint32_t pad)
{
    return (int32_t)(o * stride) - (int32_t)pad;
}

/* Does the window of output pixel (oy, ox) leave the input ('same' padding border)? */
static inline int bnn_bs_is_border(const bnn_conv_params_t *p, uint32_t oy, uint32_t ox)
{
    const bnn_dims_t *d = &p->dims;
    const int32_t iy0 = bnn_bs_origin(oy, d->stride_h, p->padding.top);
    const int32_t ix0 = bnn_bs_origin(ox, d->stride_w, p->padding.left);
    return iy0 < 0 || ix0 < 0 || iy0 + (int32_t)d->k_h > (int32_t)d->in_h ||
           ix0 + (int32_t)d->k_w > (int32_t)d->in_w;
}

/*
 * One output pixel of a b1 -> b1 layer: every group, packed words straight out. t is the pixel's
 * threshold block (groups * planes words), planes = bnn_bs_plane_count(K). border: a constant, 1
 * only where bnn_bs_is_border says so (the interior instance has no padding tests).
 */
BNN_BS_INLINE void bnn_bs_pixel_b1(const bnn_conv_params_t *p, const uint32_t *in, const uint32_t *w,
                                   const int32_t *t, uint32_t planes, uint32_t oy, uint32_t ox, int border,
                                   uint32_t *out_pixel)
{
    const bnn_dims_t *d = &p->dims;
    const uint32_t k = (uint32_t)d->k_h * d->k_w * d->in_c;
    const uint32_t groups = BNN_WORDS_FOR(d->out_c);
    const int32_t iy0 = bnn_bs_origin(oy, d->stride_h, p->padding.top);
    const int32_t ix0 = bnn_bs_origin(ox, d->stride_w, p->padding.left);
    uint32_t q[BNN_BS_MAX_PLANES];
    for (uint32_t g = 0; g < groups; g++) {
        bnn_bs_window_counts(d, in, w + g * k, iy0, ix0, border, q, planes);
        out_pixel[g] = bnn_bs_compare(q, t + g * planes, planes, bnn_bs_lane_mask(d->out_c, g));
    }
}

#endif /* BNN_BS_COMMON_H */
