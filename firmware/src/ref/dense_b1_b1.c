/* Reference kernel: see bnn/kernels.h for the contract. The window is the whole input. */
#include "bnn/kernels.h"
#include "ref_common.h"

bnn_status_t bnn_dense_b1_b1(const bnn_conv_params_t *params, const uint32_t *input, const uint32_t *weights,
                             const int32_t *thresholds, uint32_t *output)
{
    if (!params || !input || !weights || !thresholds || !output || !bnn_ref_classes_ok(params) ||
        params->dims.k_h != params->dims.in_h || params->dims.k_w != params->dims.in_w ||
        params->padding.top != 0u || params->padding.left != 0u) {
        return BNN_ERR_ARG;
    }
    const bnn_dims_t *dims = &params->dims;
    const int32_t *t = thresholds + bnn_ref_block(params, 0, 0) * dims->out_c;
    uint32_t word = 0;
    for (uint32_t o = 0; o < dims->out_c; o++) {
        const int32_t x = bnn_ref_window_b1(params, input, weights, 0, 0, o);
        bnn_ref_put_bit(output, o, dims->out_c, &word, x > t[o]);
    }
    return BNN_OK;
}
