/* Bit-sliced kernel set: see bs_common.h and bnn/kernels.h. */
#include "bnn/kernels.h"
#include "bs_common.h"

bnn_status_t bnn_conv2d_b1_b1(const bnn_dims_t *dims, const uint32_t *input, const uint32_t *weights,
                              const int32_t *thresholds, uint32_t *output)
{
    if (!dims || !input || !weights || !thresholds || !output) {
        return BNN_ERR_ARG;
    }
    const uint32_t owc = BNN_WORDS_FOR(dims->out_c);
    for (uint32_t oy = 0; oy < dims->out_h; oy++) {
        for (uint32_t ox = 0; ox < dims->out_w; ox++) {
            bnn_bs_pixel_b1(dims, input, weights, thresholds, oy, ox,
                            output + ((uint32_t)oy * dims->out_w + ox) * owc);
        }
    }
    return BNN_OK;
}
