/* Bit-sliced kernel set, 8-bit input: see bs_u8.h and bnn/kernels.h. The window is the whole input. */
#include "bnn/kernels.h"

/* Small buffers are cleared inline, not by a call to memset. */
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#include "bs_u8.h"

bnn_status_t bnn_dense_u8_b1(const bnn_conv_params_t *params, const uint8_t *input, const uint32_t *weights,
                             const int32_t *thresholds, uint32_t *output)
{
    if (!params || !input || !weights || !thresholds || !output ||
        (params->row_class == NULL) != (params->col_class == NULL) || params->dims.k_h != params->dims.in_h ||
        params->dims.k_w != params->dims.in_w || params->padding.top != 0u || params->padding.left != 0u) {
        return BNN_ERR_ARG;
    }
    bnn_u8_geom_t g;
    bnn_u8_geom(&params->dims, input, &g);
    const uint32_t block = params->row_class ? (uint32_t)params->row_class[0] * params->col_classes +
                                                   params->col_class[0] : 0u;
    bnn_u8_pixel(params, &g, weights, (const uint32_t *)thresholds + block * params->dims.out_c, 0, 0, output);
    return BNN_OK;
}
