/* Reference kernel: see bnn/kernels.h for the contract. */
#include "bnn/kernels.h"
#include "ref_common.h"

bnn_status_t bnn_conv2d_u8_s32(const bnn_conv_params_t *params, const uint8_t *input, const uint32_t *weights,
                               int32_t *output)
{
    if (!params || !input || !weights || !output) {
        return BNN_ERR_ARG;
    }
    const bnn_dims_t *dims = &params->dims;
    for (uint32_t oy = 0; oy < dims->out_h; oy++) {
        for (uint32_t ox = 0; ox < dims->out_w; ox++) {
            int32_t *px = output + ((uint32_t)oy * dims->out_w + ox) * dims->out_c;
            for (uint32_t o = 0; o < dims->out_c; o++) {
                px[o] = bnn_ref_window_u8(params, input, weights, oy, ox, o);
            }
        }
    }
    return BNN_OK;
}
