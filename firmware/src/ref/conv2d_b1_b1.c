/* Reference kernel: see bnn/kernels.h for the contract. */
#include "bnn/kernels.h"
#include "ref_common.h"

bnn_status_t bnn_conv2d_b1_b1(const bnn_conv_params_t *params, const uint32_t *input, const uint32_t *weights,
                              const int32_t *thresholds, uint32_t *output)
{
    if (!params || !input || !weights || !thresholds || !output || !bnn_ref_classes_ok(params)) {
        return BNN_ERR_ARG;
    }
    const bnn_dims_t *dims = &params->dims;
    const uint32_t owc = BNN_WORDS_FOR(dims->out_c);
    for (uint32_t oy = 0; oy < dims->out_h; oy++) {
        for (uint32_t ox = 0; ox < dims->out_w; ox++) {
            uint32_t *px = output + ((uint32_t)oy * dims->out_w + ox) * owc;
            const int32_t *t = thresholds + bnn_ref_block(params, oy, ox) * dims->out_c;
            uint32_t word = 0;
            for (uint32_t o = 0; o < dims->out_c; o++) {
                const int32_t x = bnn_ref_window_b1(params, input, weights, oy, ox, o);
                bnn_ref_put_bit(px, o, dims->out_c, &word, x > t[o]);
            }
        }
    }
    return BNN_OK;
}
