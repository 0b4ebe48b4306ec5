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

static inline int32_t bnn_ref_weight_sign(const uint32_t *w_pixel, uint32_t c)
{
    return ((w_pixel[c / 32u] >> (c % 32u)) & 1u) ? -1 : 1;
}

/* popcount(in XOR w) over one window of a b1 input, output pixel (oy, ox), output channel o. */
static inline int32_t bnn_ref_window_b1(const bnn_dims_t *d, const uint32_t *in, const uint32_t *w,
                                        uint32_t oy, uint32_t ox, uint32_t o)
{
    const uint32_t wc = BNN_WORDS_FOR(d->in_c);
    const uint32_t *wo = w + (uint32_t)o * d->k_h * d->k_w * wc;
    int32_t x = 0;
    for (uint32_t ky = 0; ky < d->k_h; ky++) {
        const uint32_t iy = oy * d->stride_h + ky;
        for (uint32_t kx = 0; kx < d->k_w; kx++) {
            const uint32_t ix = ox * d->stride_w + kx;
            const uint32_t *a = in + ((uint32_t)iy * d->in_w + ix) * wc;
            const uint32_t *b = wo + ((uint32_t)ky * d->k_w + kx) * wc;
            for (uint32_t j = 0; j < wc; j++) {
                x += (int32_t)bnn_ref_popcount(a[j] ^ b[j]);
            }
        }
    }
    return x;
}

/* sum(q * w) over one window of a u8 input. */
static inline int32_t bnn_ref_window_u8(const bnn_dims_t *d, const uint8_t *in, const uint32_t *w,
                                        uint32_t oy, uint32_t ox, uint32_t o)
{
    const uint32_t wc = BNN_WORDS_FOR(d->in_c);
    const uint32_t *wo = w + (uint32_t)o * d->k_h * d->k_w * wc;
    int32_t x = 0;
    for (uint32_t ky = 0; ky < d->k_h; ky++) {
        const uint32_t iy = oy * d->stride_h + ky;
        for (uint32_t kx = 0; kx < d->k_w; kx++) {
            const uint32_t ix = ox * d->stride_w + kx;
            const uint8_t *a = in + ((uint32_t)iy * d->in_w + ix) * d->in_c;
            const uint32_t *b = wo + ((uint32_t)ky * d->k_w + kx) * wc;
            for (uint32_t c = 0; c < d->in_c; c++) {
                x += bnn_ref_weight_sign(b, c) * (int32_t)a[c];
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

#endif /* BNN_REF_COMMON_H */
