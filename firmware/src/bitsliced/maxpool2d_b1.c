/*
 * Bit-sliced kernel set: max-pool on packed bits (contract: bnn/kernels.h). The same arithmetic as
 * src/ref/maxpool2d_b1.c (AND over the window = max of +-1, OR = min for channels in or_mask), with
 * the window clipped to the input once per output pixel ('same' pooling leaves padded taps out) and
 * walked as rows of contiguous words: about 4 instructions per tap word instead of ~25.
 */
#include "bnn/kernels.h"

/* Small buffers are cleared inline, not by a call to memset. */
#pragma GCC optimize("no-tree-loop-distribute-patterns")

bnn_status_t bnn_maxpool2d_b1(const bnn_pool_params_t *params, const uint32_t *input, const uint32_t *or_mask,
                              uint32_t *output)
{
    if (!params || !input || !or_mask || !output || params->dims.in_c != params->dims.out_c) {
        return BNN_ERR_ARG;
    }
    /* locals: the output stores could alias *params, which would force reloads in the loops */
    const int32_t in_h = params->dims.in_h, in_w = params->dims.in_w, k_h = params->dims.k_h, k_w = params->dims.k_w;
    const uint32_t out_h = params->dims.out_h, out_w = params->dims.out_w;
    const uint32_t s_h = params->dims.stride_h, s_w = params->dims.stride_w;
    const int32_t top = params->padding.top, left = params->padding.left;
    const uint32_t wc = BNN_WORDS_FOR(params->dims.in_c);
    const uint32_t row_words = (uint32_t)in_w * wc;
    const uint32_t m0 = or_mask[0];
    uint32_t *px = output;
    for (uint32_t oy = 0; oy < out_h; oy++) {
        const int32_t iy0 = (int32_t)(oy * s_h) - top;
        const int32_t ky_lo = iy0 < 0 ? -iy0 : 0;
        const int32_t ky_hi = in_h - iy0 < k_h ? in_h - iy0 : k_h;
        for (uint32_t ox = 0; ox < out_w; ox++, px += wc) {
            const int32_t ix0 = (int32_t)(ox * s_w) - left;
            const int32_t kx_lo = ix0 < 0 ? -ix0 : 0;
            const int32_t kx_hi = in_w - ix0 < k_w ? in_w - ix0 : k_w;
            const uint32_t rows = ky_lo < ky_hi && kx_lo < kx_hi ? (uint32_t)(ky_hi - ky_lo) : 0u;
            const uint32_t taps = rows ? (uint32_t)(kx_hi - kx_lo) * wc : 0u; /* words per window row */
            const uint32_t *base = rows ? input + (uint32_t)(iy0 + ky_lo) * row_words + (uint32_t)(ix0 + kx_lo) * wc
                                        : input;
            if (wc == 1u && rows == 2u && taps == 2u) { /* the common 2x2 window of <= 32 channels */
                const uint32_t v0 = base[0], v1 = base[1], v2 = base[row_words], v3 = base[row_words + 1u];
                px[0] = (v0 & v1 & v2 & v3 & ~m0) | ((v0 | v1 | v2 | v3) & m0);
                continue;
            }
            for (uint32_t j = 0; j < wc; j++) {
                uint32_t all = 0xFFFFFFFFu; /* every tap -1: max is -1 */
                uint32_t any = 0u;          /* some tap -1: min is -1 */
                const uint32_t *r = base + j;
                for (uint32_t ky = 0; ky < rows; ky++, r += row_words) {
                    for (uint32_t t = 0; t < taps; t += wc) {
                        all &= r[t];
                        any |= r[t];
                    }
                }
                const uint32_t m = or_mask[j];
                px[j] = (all & ~m) | (any & m);
            }
        }
    }
    return BNN_OK;
}
