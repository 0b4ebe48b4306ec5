/* Helpers shared by the reference kernels: plain, portable, obviously correct. */
#ifndef BNN_REF_COMMON_H
#define BNN_REF_COMMON_H

#include <stdint.h>

#include "bnn/kernels.h"

/* Cortex-M has no popcount instruction: the classic SWAR reduction (12 ALU ops). */
static inline uint32_t bnn_ref_popcount(uint32_t v)
{
    v = v - ((v >> 1) & 0x55555555u);
    v = (v & 0x33333333u) + ((v >> 2) & 0x33333333u);
    v = (v + (v >> 4)) & 0x0F0F0F0Fu;
    return (v * 0x01010101u) >> 24;
}

/*
 * Input coordinate of tap k of output position o along one axis ('same' padding: `pad` taps before
 * the first input element; the extra one, if any, is after the last). Returns 0 when the tap falls
 * outside the input (a padded tap), else 1 with *i set. Unsigned arithmetic: a tap before the input
 * wraps to a huge value, so one comparison covers both sides.
 */
static inline int bnn_ref_tap(uint32_t o, uint32_t k, uint32_t stride, uint32_t pad, uint32_t size,
                              uint32_t *i)
{
    *i = o * stride + k - pad;
    return *i < size;
}

/* Class tables are both given or both NULL (kernels.h). */
static inline int bnn_ref_classes_ok(const bnn_conv_params_t *p)
{
    return (p->row_class == NULL) == (p->col_class == NULL);
}

/* Index of the threshold block of output pixel (oy, ox) (kernels.h, bnn_conv_params_t). */
static inline uint32_t bnn_ref_block(const bnn_conv_params_t *p, uint32_t oy, uint32_t ox)
{
    if (p->row_class == NULL) {
        return 0u;
    }
    return (uint32_t)p->row_class[oy] * p->col_classes + p->col_class[ox];
}

/* First input row / column of the window of output position o: pos - pad, wrapping below 0. */
static inline uint32_t bnn_ref_origin(uint32_t o, uint32_t stride, uint32_t pad)
{
    return o * stride - pad;
}

/* Is the whole window of output pixel (oy, ox) inside the input (no padded tap)? */
static inline int bnn_ref_interior(const bnn_conv_params_t *p, uint32_t oy, uint32_t ox)
{
    const bnn_dims_t *d = &p->dims;
    const uint32_t iy0 = bnn_ref_origin(oy, d->stride_h, p->padding.top);
    const uint32_t ix0 = bnn_ref_origin(ox, d->stride_w, p->padding.left);
    return iy0 < d->in_h && iy0 + d->k_h <= d->in_h && ix0 < d->in_w && ix0 + d->k_w <= d->in_w;
}

/*
 * popcount(in XOR w) over one window of a b1 input ("standard" weights [O][KH][KW][ceil(C/32)]),
 * output pixel (oy, ox), output channel o. A padded tap reads as bit 0: it counts popcount(w).
 * Interior windows (all of them for valid padding) take the loop without tap checks.
 */
static inline int32_t bnn_ref_window_b1(const bnn_conv_params_t *p, const uint32_t *in, const uint32_t *w,
                                        uint32_t oy, uint32_t ox, uint32_t o)
{
    const bnn_dims_t *d = &p->dims;
    const uint32_t wc = BNN_WORDS_FOR(d->in_c);
    const uint32_t *b = w + (uint32_t)o * d->k_h * d->k_w * wc; /* walks the taps in order */
    const uint32_t iy0 = bnn_ref_origin(oy, d->stride_h, p->padding.top);
    const uint32_t ix0 = bnn_ref_origin(ox, d->stride_w, p->padding.left);
    int32_t x = 0;
    if (bnn_ref_interior(p, oy, ox)) {
        for (uint32_t ky = 0; ky < d->k_h; ky++) {
            const uint32_t *a = in + ((iy0 + ky) * d->in_w + ix0) * wc; /* a row of k_w taps */
            for (uint32_t j = 0; j < d->k_w * wc; j++) {
                x += (int32_t)bnn_ref_popcount(a[j] ^ *b++);
            }
        }
        return x;
    }
    for (uint32_t ky = 0; ky < d->k_h; ky++) {
        for (uint32_t kx = 0; kx < d->k_w; kx++) {
            uint32_t iy = 0, ix = 0;
            const int inside = bnn_ref_tap(oy, ky, d->stride_h, p->padding.top, d->in_h, &iy) &&
                               bnn_ref_tap(ox, kx, d->stride_w, p->padding.left, d->in_w, &ix);
            const uint32_t *a = inside ? in + (iy * d->in_w + ix) * wc : NULL;
            for (uint32_t j = 0; j < wc; j++, b++) {
                x += (int32_t)bnn_ref_popcount((a ? a[j] : 0u) ^ *b); /* a padded tap reads as bit 0 */
            }
        }
    }
    return x;
}

/*
 * sum(q * w) over one window of a u8 input, w = +1 for weight bit 0, -1 for bit 1. "flat" weights:
 * [O][ceil(K/32)] words, tap i = (ky*KW + kx)*C + c at bit i%32 of word i/32. Padded taps (q = 0)
 * are skipped. Interior windows take the loop without tap checks.
 */
static inline int32_t bnn_ref_window_u8(const bnn_conv_params_t *p, const uint8_t *in, const uint32_t *w,
                                        uint32_t oy, uint32_t ox, uint32_t o)
{
    const bnn_dims_t *d = &p->dims;
    const uint32_t row = (uint32_t)d->k_w * d->in_c; /* taps per window row */
    const uint32_t k = d->k_h * row;
    const uint32_t *wo = w + (uint32_t)o * BNN_WORDS_FOR(k);
    const uint32_t iy0 = bnn_ref_origin(oy, d->stride_h, p->padding.top);
    const uint32_t ix0 = bnn_ref_origin(ox, d->stride_w, p->padding.left);
    int32_t x = 0;
    if (bnn_ref_interior(p, oy, ox)) {
        uint32_t i = 0;
        for (uint32_t ky = 0; ky < d->k_h; ky++) {
            const uint8_t *a = in + ((iy0 + ky) * d->in_w + ix0) * d->in_c; /* a row of k_w taps */
            for (uint32_t j = 0; j < row; j++, i++) {
                const int32_t q = (int32_t)a[j];
                x += ((wo[i / 32u] >> (i % 32u)) & 1u) ? -q : q;
            }
        }
        return x;
    }
    for (uint32_t ky = 0; ky < d->k_h; ky++) {
        for (uint32_t kx = 0; kx < d->k_w; kx++) {
            uint32_t iy = 0, ix = 0;
            if (!bnn_ref_tap(oy, ky, d->stride_h, p->padding.top, d->in_h, &iy) ||
                !bnn_ref_tap(ox, kx, d->stride_w, p->padding.left, d->in_w, &ix)) {
                continue;
            }
            const uint8_t *a = in + (iy * d->in_w + ix) * d->in_c;
            for (uint32_t c = 0; c < d->in_c; c++) {
                const uint32_t i = (ky * d->k_w + kx) * d->in_c + c;
                const int32_t q = (int32_t)a[c];
                x += ((wo[i / 32u] >> (i % 32u)) & 1u) ? -q : q;
            }
        }
    }
    return x;
}

/* Collect output bits channel by channel; stores a word every 32 channels and at the last one. */
static inline void bnn_ref_put_bit(uint32_t *out_pixel, uint32_t o, uint32_t out_c, uint32_t *word,
                                   int bit)
{
    *word |= (uint32_t)(bit != 0) << (o % 32u);
    if (o % 32u == 31u || o + 1u == out_c) {
        out_pixel[o / 32u] = *word;
        *word = 0;
    }
}

/* floor(v / 2^shift): an arithmetic right shift. C leaves >> of a negative value to the implementation;
 * GCC and Clang document it as sign-extending (floor), and this check refuses any compiler that differs. */
typedef char bnn_ref_arithmetic_shift_check[((-5 >> 1) == -3) ? 1 : -1];

static inline int64_t bnn_ref_floor_shift(int64_t v, uint32_t shift)
{
    return v >> shift;
}

static inline int16_t bnn_ref_sat16(int64_t v)
{
    return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

#endif /* BNN_REF_COMMON_H */
