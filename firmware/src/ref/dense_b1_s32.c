/* Reference kernel: see bnn/kernels.h for the contract. The window is the whole input. */
#include "bnn/kernels.h"
#include "ref_common.h"

bnn_status_t bnn_dense_b1_s32(const bnn_conv_params_t *params, const uint32_t *input, const uint32_t *weights,
                              int32_t *output)
{
    if (!params || !input || !weights || !output || params->dims.k_h != params->dims.in_h ||
        params->dims.k_w != params->dims.in_w || params->padding.top != 0u || params->padding.left != 0u) {
        return BNN_ERR_ARG;
    }
    const bnn_dims_t *dims = &params->dims;
    const int32_t k = (int32_t)dims->k_h * dims->k_w * dims->in_c;
    for (uint32_t o = 0; o < dims->out_c; o++) {
        output[o] = k - 2 * bnn_ref_window_b1(params, input, weights, 0, 0, o);
    }
    return BNN_OK;
}
