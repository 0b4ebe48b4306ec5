/* Bit-sliced kernel set: see bs_common.h and bnn/kernels.h. The window is the whole input. */
#include "bnn/kernels.h"
#include "bs_common.h"

bnn_status_t bnn_dense_u8_b1(const bnn_dims_t *dims, const uint8_t *input, const uint32_t *weights,
                             const int32_t *thresholds, uint32_t *output)
{
    if (!dims || !input || !weights || !thresholds || !output || dims->k_h != dims->in_h ||
        dims->k_w != dims->in_w) {
        return BNN_ERR_ARG;
    }
    bnn_bs_pixel_u8(dims, input, weights, thresholds, 0, 0, output);
    return BNN_OK;
}
