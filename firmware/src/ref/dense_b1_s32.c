/* Reference kernel: see bnn/kernels.h for the contract. The window is the whole input. */
#include "bnn/kernels.h"
#include "ref_common.h"

bnn_status_t bnn_dense_b1_s32(const bnn_dims_t *dims, const uint32_t *input, const uint32_t *weights,
                              int32_t *output)
{
    if (!dims || !input || !weights || !output || dims->k_h != dims->in_h || dims->k_w != dims->in_w) {
        return BNN_ERR_ARG;
    }
    const int32_t k = (int32_t)dims->k_h * dims->k_w * dims->in_c;
    for (uint32_t o = 0; o < dims->out_c; o++) {
        output[o] = k - 2 * bnn_ref_window_b1(dims, input, weights, 0, 0, o);
    }
    return BNN_OK;
}
