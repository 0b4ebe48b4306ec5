/* Bit-sliced kernel set: see bs_common.h and bnn/kernels.h. */
#include "bnn/kernels.h"

/* GCC's pre-allocation scheduler spreads the carry-save chains and spills them (3 % more instructions
 * with it on Cortex-M4); and the few counter planes are zeroed inline, not by a call to memset. */
#pragma GCC optimize("no-schedule-insns", "no-tree-loop-distribute-patterns")

#include "bs_common.h"

bnn_status_t bnn_conv2d_b1_b1(const bnn_conv_params_t *params, const uint32_t *input, const uint32_t *weights,
                              const int32_t *thresholds, uint32_t *output)
{
    if (!params || !input || !weights || !thresholds || !output || !bnn_bs_classes_ok(params)) {
        return BNN_ERR_ARG;
    }
    const bnn_dims_t *dims = &params->dims;
    const uint32_t k = (uint32_t)dims->k_h * dims->k_w * dims->in_c;
    const uint32_t planes = bnn_bs_plane_count(k);
    const uint32_t owc = BNN_WORDS_FOR(dims->out_c);
    const uint32_t block = owc * planes; /* threshold words per border class */
    for (uint32_t oy = 0; oy < dims->out_h; oy++) {
        for (uint32_t ox = 0; ox < dims->out_w; ox++) {
            const int32_t *t = thresholds + bnn_bs_block(params, oy, ox) * block;
            uint32_t *px = output + ((uint32_t)oy * dims->out_w + ox) * owc;
            if (bnn_bs_is_border(params, oy, ox)) {
                bnn_bs_pixel_b1(params, input, weights, t, planes, oy, ox, 1, px);
            } else {
                bnn_bs_pixel_b1(params, input, weights, t, planes, oy, ox, 0, px);
            }
        }
    }
    return BNN_OK;
}
