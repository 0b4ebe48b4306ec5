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
 * Harley-Seal block of 16 input bits: add the lane words w[i] XOR lane(a, sh + i), i = 0..15, to the
 * carry-save state (ones, twos, fours, eights: registers of the caller); the block's "sixteens" word
 * is rippled into q[4..] (counts of 16, in memory: once per 16 input bits). 15 carry-save adders of 5
 * instructions, 16 SBFX and 16 EOR: about 7.2 instructions per input bit for 32 output channels.
 */
#define BNN_BS_T(w, a, sh, i) ((w)[i] ^ BNN_BS_LANE(a, (sh) + (i)))
#define BNN_BS_HS8(ones, twos, fours, e, a, sh, w)                                                   \
    do {                                                                                           \
        uint32_t ta_, tb_, fa_, fb_;                                                               \
        BNN_BS_CSA(ta_, ones, ones, BNN_BS_T(w, a, sh, 0u), BNN_BS_T(w, a, sh, 1u));               \
        BNN_BS_CSA(tb_, ones, ones, BNN_BS_T(w, a, sh, 2u), BNN_BS_T(w, a, sh, 3u));               \
        BNN_BS_CSA(fa_, twos, twos, ta_, tb_);                                                     \
        BNN_BS_CSA(ta_, ones, ones, BNN_BS_T(w, a, sh, 4u), BNN_BS_T(w, a, sh, 5u));               \
        BNN_BS_CSA(tb_, ones, ones, BNN_BS_T(w, a, sh, 6u), BNN_BS_T(w, a, sh, 7u));               \
        BNN_BS_CSA(fb_, twos, twos, ta_, tb_);                                                     \
        BNN_BS_CSA(e, fours, fours, fa_, fb_);                                                     \
    } while (0)
#define BNN_BS_HS16(q, ones, twos, fours, eights, a, sh, w)                                          \
    do {                                                                                           \
        uint32_t ea_, eb_, s_;                                                                     \
        BNN_BS_HS8(ones, twos, fours, ea_, a, (sh), (w));                                          \
        BNN_BS_HS8(ones, twos, fours, eb_, a, (sh) + 8u, (w) + 8);                                 \
        BNN_BS_CSA(s_, eights, eights, ea_, eb_);                                                  \
        bnn_bs_ripple((q), s_, 4u);                                                                \
    } while (0)
/*
 * 32 input bits (one full activation word a, its 32 lane words at w; w advances by 32): two 16-bit
 * Harley-Seal blocks. On Thumb-2 the block is hand-scheduled (115 instructions per 16 bits: LDRD
 * pairs, SBFX + EOR per bit, 15 carry-save adders of 5, nothing spilled; the block's sixteens word
 * is rippled into q[4..] inside the block); elsewhere, and in the host tests, the C macro above is
 * the same arithmetic (BNN_BS_PORTABLE forces it).
 */
#if defined(__thumb2__) && defined(__OPTIMIZE__) && !defined(BNN_BS_PORTABLE) /* -O0 cannot allocate its registers */
#define BNN_BS_HS16_ASM(Q_, O_, T_, F_, E_, A_, SH_, W_)                                            \
    do {                                                                                           \
        uint32_t x0_, x1_, s1_, p_, q_, r_, ea_;                                                   \
        __asm__(    "ldrd   %[x0], %[x1], [%[w]], #8\n\t" \
            "sbfx   %[s1], %[a], #%c[sh]+0, #1\n\t" \
            "eor    %[x0], %[x0], %[s1]\n\t" \
            "sbfx   %[s1], %[a], #%c[sh]+1, #1\n\t" \
            "eor    %[x1], %[x1], %[s1]\n\t" \
            "eor    %[s1], %[o], %[x0]\n\t" \
            "and    %[p], %[o], %[x0]\n\t" \
            "and    %[x0], %[s1], %[x1]\n\t" \
            "orr    %[p], %[p], %[x0]\n\t" \
            "eor    %[o], %[s1], %[x1]\n\t" \
            "ldrd   %[x0], %[x1], [%[w]], #8\n\t" \
            "sbfx   %[s1], %[a], #%c[sh]+2, #1\n\t" \
            "eor    %[x0], %[x0], %[s1]\n\t" \
            "sbfx   %[s1], %[a], #%c[sh]+3, #1\n\t" \
            "eor    %[x1], %[x1], %[s1]\n\t" \
            "eor    %[s1], %[o], %[x0]\n\t" \
            "and    %[q], %[o], %[x0]\n\t" \
            "and    %[x0], %[s1], %[x1]\n\t" \
            "orr    %[q], %[q], %[x0]\n\t" \
            "eor    %[o], %[s1], %[x1]\n\t" \
            "eor    %[s1], %[t], %[p]\n\t" \
            "and    %[r], %[t], %[p]\n\t" \
            "and    %[p], %[s1], %[q]\n\t" \
            "orr    %[r], %[r], %[p]\n\t" \
            "eor    %[t], %[s1], %[q]\n\t" \
            "ldrd   %[x0], %[x1], [%[w]], #8\n\t" \
            "sbfx   %[s1], %[a], #%c[sh]+4, #1\n\t" \
            "eor    %[x0], %[x0], %[s1]\n\t" \
            "sbfx   %[s1], %[a], #%c[sh]+5, #1\n\t" \
            "eor    %[x1], %[x1], %[s1]\n\t" \
            "eor    %[s1], %[o], %[x0]\n\t" \
            "and    %[p], %[o], %[x0]\n\t" \
            "and    %[x0], %[s1], %[x1]\n\t" \
            "orr    %[p], %[p], %[x0]\n\t" \
            "eor    %[o], %[s1], %[x1]\n\t" \
            "ldrd   %[x0], %[x1], [%[w]], #8\n\t" \
            "sbfx   %[s1], %[a], #%c[sh]+6, #1\n\t" \
            "eor    %[x0], %[x0], %[s1]\n\t" \
            "sbfx   %[s1], %[a], #%c[sh]+7, #1\n\t" \
            "eor    %[x1], %[x1], %[s1]\n\t" \
            "eor    %[s1], %[o], %[x0]\n\t" \
            "and    %[q], %[o], %[x0]\n\t" \
            "and    %[x0], %[s1], %[x1]\n\t" \
            "orr    %[q], %[q], %[x0]\n\t" \
            "eor    %[o], %[s1], %[x1]\n\t" \
            "eor    %[s1], %[t], %[p]\n\t" \
            "and    %[x0], %[t], %[p]\n\t" \
            "and    %[p], %[s1], %[q]\n\t" \
            "orr    %[x0], %[x0], %[p]\n\t" \
            "eor    %[t], %[s1], %[q]\n\t" \
            "eor    %[s1], %[f], %[r]\n\t" \
            "and    %[ea], %[f], %[r]\n\t" \
            "and    %[r], %[s1], %[x0]\n\t" \
            "orr    %[ea], %[ea], %[r]\n\t" \
            "eor    %[f], %[s1], %[x0]\n\t" \
            "ldrd   %[x0], %[x1], [%[w]], #8\n\t" \
            "sbfx   %[s1], %[a], #%c[sh]+8, #1\n\t" \
            "eor    %[x0], %[x0], %[s1]\n\t" \
            "sbfx   %[s1], %[a], #%c[sh]+9, #1\n\t" \
            "eor    %[x1], %[x1], %[s1]\n\t" \
            "eor    %[s1], %[o], %[x0]\n\t" \
            "and    %[p], %[o], %[x0]\n\t" \
            "and    %[x0], %[s1], %[x1]\n\t" \
            "orr    %[p], %[p], %[x0]\n\t" \
            "eor    %[o], %[s1], %[x1]\n\t" \
            "ldrd   %[x0], %[x1], [%[w]], #8\n\t" \
            "sbfx   %[s1], %[a], #%c[sh]+10, #1\n\t" \
            "eor    %[x0], %[x0], %[s1]\n\t" \
            "sbfx   %[s1], %[a], #%c[sh]+11, #1\n\t" \
            "eor    %[x1], %[x1], %[s1]\n\t" \
            "eor    %[s1], %[o], %[x0]\n\t" \
            "and    %[q], %[o], %[x0]\n\t" \
            "and    %[x0], %[s1], %[x1]\n\t" \
            "orr    %[q], %[q], %[x0]\n\t" \
            "eor    %[o], %[s1], %[x1]\n\t" \
            "eor    %[s1], %[t], %[p]\n\t" \
            "and    %[r], %[t], %[p]\n\t" \
            "and    %[p], %[s1], %[q]\n\t" \
            "orr    %[r], %[r], %[p]\n\t" \
            "eor    %[t], %[s1], %[q]\n\t" \
            "ldrd   %[x0], %[x1], [%[w]], #8\n\t" \
            "sbfx   %[s1], %[a], #%c[sh]+12, #1\n\t" \
            "eor    %[x0], %[x0], %[s1]\n\t" \
            "sbfx   %[s1], %[a], #%c[sh]+13, #1\n\t" \
            "eor    %[x1], %[x1], %[s1]\n\t" \
            "eor    %[s1], %[o], %[x0]\n\t" \
            "and    %[p], %[o], %[x0]\n\t" \
            "and    %[x0], %[s1], %[x1]\n\t" \
            "orr    %[p], %[p], %[x0]\n\t" \
            "eor    %[o], %[s1], %[x1]\n\t" \
            "ldrd   %[x0], %[x1], [%[w]], #8\n\t" \
            "sbfx   %[s1], %[a], #%c[sh]+14, #1\n\t" \
            "eor    %[x0], %[x0], %[s1]\n\t" \
            "sbfx   %[s1], %[a], #%c[sh]+15, #1\n\t" \
            "eor    %[x1], %[x1], %[s1]\n\t" \
            "eor    %[s1], %[o], %[x0]\n\t" \
            "and    %[q], %[o], %[x0]\n\t" \
            "and    %[x0], %[s1], %[x1]\n\t" \
            "orr    %[q], %[q], %[x0]\n\t" \
            "eor    %[o], %[s1], %[x1]\n\t" \
            "eor    %[s1], %[t], %[p]\n\t" \
            "and    %[x0], %[t], %[p]\n\t" \
            "and    %[p], %[s1], %[q]\n\t" \
            "orr    %[x0], %[x0], %[p]\n\t" \
            "eor    %[t], %[s1], %[q]\n\t" \
            "eor    %[s1], %[f], %[r]\n\t" \
            "and    %[q], %[f], %[r]\n\t" \
            "and    %[r], %[s1], %[x0]\n\t" \
            "orr    %[q], %[q], %[r]\n\t" \
            "eor    %[f], %[s1], %[x0]\n\t" \
            "eor    %[s1], %[e], %[ea]\n\t" \
            "and    %[p], %[e], %[ea]\n\t" \
            "and    %[ea], %[s1], %[q]\n\t" \
            "orr    %[p], %[p], %[ea]\n\t" \
            "eor    %[e], %[s1], %[q]\n\t" \
                "cmp    %[p], #0\n\t" \
                "beq    2f\n\t" \
                "add    %[s1], %[qp], #16\n\t" \
                "1:\n\t" \
                "ldr    %[x0], [%[s1]]\n\t" \
                "and    %[x1], %[x0], %[p]\n\t" \
                "eor    %[x0], %[x0], %[p]\n\t" \
                "str    %[x0], [%[s1]], #4\n\t" \
                "movs   %[p], %[x1]\n\t" \
                "bne    1b\n\t" \
                "2:\n\t"                                         \
                : [w] "+r"(W_), [o] "+r"(O_), [t] "+r"(T_), [f] "+r"(F_), [e] "+r"(E_),          \
                  [x0] "=&r"(x0_), [x1] "=&r"(x1_), [s1] "=&r"(s1_), [p] "=&r"(p_), [q] "=&r"(q_),  \
                  [r] "=&r"(r_), [ea] "=&r"(ea_)                                                   \
                : [a] "r"(A_), [qp] "r"(Q_), [sh] "i"(SH_)                                                         \
                : "memory");                                                                       \
        (void)p_;                                                                                     \
    } while (0)
#define BNN_BS_WORD32(q, ones, twos, fours, eights, a, w)                                            \
    do {                                                                                           \
        BNN_BS_HS16_ASM(q, ones, twos, fours, eights, a, 0, w);                                    \
        BNN_BS_HS16_ASM(q, ones, twos, fours, eights, a, 16, w);                                   \
    } while (0)
#else
#define BNN_BS_WORD32(q, ones, twos, fours, eights, a, w)                                            \
    do {                                                                                           \
        BNN_BS_HS16(q, ones, twos, fours, eights, a, 0u, w);                                       \
        BNN_BS_HS16(q, ones, twos, fours, eights, a, 16u, (w) + 16);                               \
        (w) += 32;                                                                                 \
    } while (0)
#endif

/* One input bit (lane word t) into the carry-save state: the tails of channel counts not a multiple of 16. */
#define BNN_BS_ADD1(q, ones, twos, fours, eights, t)                                                 \
    do {                                                                                           \
        uint32_t c_ = (ones) & (t);                                                                \
        (ones) ^= (t);                                                                             \
        uint32_t d_ = (twos) & c_;                                                                 \
        (twos) ^= c_;                                                                              \
        c_ = (fours) & d_;                                                                         \
        (fours) ^= d_;                                                                             \
        d_ = (eights) & c_;                                                                        \
        (eights) ^= c_;                                                                            \
        bnn_bs_ripple((q), d_, 4u);                                                                \
    } while (0)

/*
 * Vertical counts of popcount(window XOR w_o) for the 32 lanes of one group, for the window whose
 * first tap is input (iy0, ix0) (negative in top/left border pixels). wg points at the group's
 * weights [KH][KW][C] (one word per input bit). border == 0 promises that every tap is inside the
 * input: the callers pass a constant, so the interior instance walks each window row as KW*ceil(C/32)
 * contiguous words with no per-tap test, and takes a path of two 16-bit blocks per word when C is a
 * multiple of 32. The counts end in q[0..planes-1] (q[0..3] from the registers).
 */
BNN_BS_INLINE void bnn_bs_window_counts(const bnn_dims_t *d, const uint32_t *in, const uint32_t *wg,
                                        int32_t iy0, int32_t ix0, int border, uint32_t *q,
                                        uint32_t planes)
{
    const uint32_t wc = BNN_WORDS_FOR(d->in_c);
    const uint32_t c = d->in_c;
    const uint32_t last_bits = c - 32u * (wc - 1u); /* real bits in a pixel's last word: 1..32 */
    uint32_t ones = 0u, twos = 0u, fours = 0u, eights = 0u;
    for (uint32_t k = 4u; k < planes; k++) {
        q[k] = 0u;
    }
    const uint32_t *w = wg;
    for (uint32_t ky = 0; ky < d->k_h; ky++) {
        const int32_t iy = iy0 + (int32_t)ky;
        if (!border && last_bits == 32u) { /* a contiguous row of KW*wc full words */
            const uint32_t *ap = in + ((uint32_t)iy * d->in_w + (uint32_t)ix0) * wc;
            const uint32_t *const end = ap + d->k_w * wc;
            for (; ap != end; ap++) {
                const uint32_t a = *ap;
                BNN_BS_WORD32(q, ones, twos, fours, eights, a, w);
            }
            continue;
        }
        for (uint32_t kx = 0; kx < d->k_w; kx++) {
            const int32_t ix = ix0 + (int32_t)kx;
            const uint32_t *a_word = in;
            uint32_t keep = ~0u; /* 0 for a padded tap: it reads as bit 0 */
            if (!border || ((uint32_t)iy < d->in_h && (uint32_t)ix < d->in_w)) {
                a_word = in + ((uint32_t)iy * d->in_w + (uint32_t)ix) * wc;
            } else {
                keep = 0u;
            }
            if (last_bits == 32u) { /* full words: the same 32-bit blocks as the interior */
                for (uint32_t j = 0; j < wc; j++) {
                    const uint32_t a = a_word[j] & keep;
                    BNN_BS_WORD32(q, ones, twos, fours, eights, a, w);
                }
                continue;
            }
            for (uint32_t j = 0; j < wc; j++) {
                uint32_t a = a_word[j] & keep;
                uint32_t bits = j + 1u == wc ? last_bits : 32u;
                for (; bits >= 16u; bits -= 16u, a >>= 16, w += 16) {
                    BNN_BS_HS16(q, ones, twos, fours, eights, a, 0u, w);
                }
                for (; bits > 0u; bits--, a >>= 1, w++) {
                    const uint32_t t = *w ^ BNN_BS_LANE(a, 0u);
                    BNN_BS_ADD1(q, ones, twos, fours, eights, t);
                }
            }
        }
    }
    q[0] = ones;
    q[1] = twos;
    q[2] = fours;
    q[3] = eights;
}

/* Lanes whose count >= tau + 1 (given as bit planes t[0..planes-1]), restricted to lane_mask: count - T
 * does not borrow. The borrow ripples from plane 0 up (4 logic instructions per plane). */
static inline uint32_t bnn_bs_compare(const uint32_t *q, const int32_t *t, uint32_t planes,
                                      uint32_t lane_mask)
{
    uint32_t borrow = 0u;
#pragma GCC unroll 4
    for (uint32_t k = 0; k < planes; k++) {
        const uint32_t a = q[k], b = (uint32_t)t[k];
        borrow = (b & ~a) | (borrow & ~(a ^ b));
    }
    return ~borrow & lane_mask;
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
