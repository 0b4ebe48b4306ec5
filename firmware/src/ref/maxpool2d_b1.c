/* Reference kernel: see bnn/kernels.h for the contract. */
#include "bnn/kernels.h"
#include "ref_common.h"

bnn_status_t bnn_maxpool2d_b1(const bnn_pool_params_t *params, const uint32_t *input, const uint32_t *or_mask,
                              uint32_t *output)
{
    if (!params || !input || !or_mask || !output || params->dims.in_c != params->dims.out_c) {
        return BNN_ERR_ARG;
    }
    const bnn_dims_t *dims = &params->dims;
    const uint32_t wc = BNN_WORDS_FOR(dims->in_c);
    for (uint32_t oy = 0; oy < dims->out_h; oy++) {
        for (uint32_t ox = 0; ox < dims->out_w; ox++) {
            uint32_t *px = output + ((uint32_t)oy * dims->out_w + ox) * wc;
            for (uint32_t j = 0; j < wc; j++) {
                uint32_t all = 0xFFFFFFFFu; /* every tap -1: max is -1 */
                uint32_t any = 0u;          /* some tap -1: min is -1 */
                for (uint32_t ky = 0; ky < dims->k_h; ky++) {
                    uint32_t iy = 0;
                    if (!bnn_ref_tap(oy, ky, dims->stride_h, params->padding.top, dims->in_h, &iy)) {
                        continue; /* 'same' pooling: padded taps are not part of the window */
                    }
                    for (uint32_t kx = 0; kx < dims->k_w; kx++) {
                        uint32_t ix = 0;
                        if (!bnn_ref_tap(ox, kx, dims->stride_w, params->padding.left, dims->in_w, &ix)) {
                            continue;
                        }
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
