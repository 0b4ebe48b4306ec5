/* Bit-sliced kernel set: see bs_common.h and bnn/kernels.h. The window is the whole input. */
#include "bnn/kernels.h"
#include "bs_common.h"

bnn_status_t bnn_dense_b1_b1(const bnn_dims_t *dims, const uint32_t *input, const uint32_t *weights,
                             const int32_t *thresholds, uint32_t *output)
{
    if (!dims || !input || !weights || !thresholds || !output || dims->k_h != dims->in_h ||
        dims->k_w != dims->in_w) {
        return BNN_ERR_ARG;
    }
    bnn_bs_pixel_b1(dims, input, weights, thresholds, 0, 0, output);
    return BNN_OK;
}
