/* Reference kernel: see bnn/kernels.h for the contract. */
#include "bnn/kernels.h"
#include "ref_common.h"

bnn_status_t bnn_maxpool2d_b1(const bnn_dims_t *dims, const uint32_t *input, const uint32_t *or_mask,
                              uint32_t *output)
{
    if (!dims || !input || !or_mask || !output || dims->in_c != dims->out_c) {
        return BNN_ERR_ARG;
    }
    const uint32_t wc = BNN_WORDS_FOR(dims->in_c);
    for (uint32_t oy = 0; oy < dims->out_h; oy++) {
        for (uint32_t ox = 0; ox < dims->out_w; ox++) {
            uint32_t *px = output + ((uint32_t)oy * dims->out_w + ox) * wc;
            for (uint32_t j = 0; j < wc; j++) {
                uint32_t all = 0xFFFFFFFFu; /* every tap -1: max is -1 */
                uint32_t any = 0u;          /* some tap -1: min is -1 */
                for (uint32_t ky = 0; ky < dims->k_h; ky++) {
                    for (uint32_t kx = 0; kx < dims->k_w; kx++) {
                        const uint32_t iy = oy * dims->stride_h + ky;
                        const uint32_t ix = ox * dims->stride_w + kx;
                        const uint32_t v = input[((uint32_t)iy * dims->in_w + ix) * wc + j];
                        all &= v;
                        any |= v;
                    }
                }
                px[j] = (all & ~or_mask[j]) | (any & or_mask[j]);
            }
        }
    }
    return BNN_OK;
}
