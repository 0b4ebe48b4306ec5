/* Bit-sliced kernel set: see bs_common.h and bnn/kernels.h. The window is the whole input. */
#include "bnn/kernels.h"

/* GCC's pre-allocation scheduler spreads the carry-save chains and spills them (3 % more instructions
 * with it on Cortex-M4); and the few counter planes are zeroed inline, not by a call to memset. */
#pragma GCC optimize("no-schedule-insns", "no-tree-loop-distribute-patterns")

#include "bs_common.h"

bnn_status_t bnn_dense_b1_b1(const bnn_conv_params_t *params, const uint32_t *input, const uint32_t *weights,
                             const int32_t *thresholds, uint32_t *output)
{
    if (!params || !input || !weights || !thresholds || !output || !bnn_bs_classes_ok(params) ||
        params->dims.k_h != params->dims.in_h || params->dims.k_w != params->dims.in_w ||
        params->padding.top != 0u || params->padding.left != 0u) {
        return BNN_ERR_ARG;
    }
    const bnn_dims_t *dims = &params->dims;
    const uint32_t k = (uint32_t)dims->k_h * dims->k_w * dims->in_c;
    const uint32_t planes = bnn_bs_plane_count(k);
    const int32_t *t = thresholds + bnn_bs_block(params, 0, 0) * BNN_WORDS_FOR(dims->out_c) * planes;
    bnn_bs_pixel_b1(params, input, weights, t, planes, 0, 0, 0, output); /* no padding: interior */
    return BNN_OK;
}
