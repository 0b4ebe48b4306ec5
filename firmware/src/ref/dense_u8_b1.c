/* Reference kernel: see bnn/kernels.h for the contract. The window is the whole input. */
#include "bnn/kernels.h"
#include "ref_common.h"

bnn_status_t bnn_dense_u8_b1(const bnn_dims_t *dims, const uint8_t *input, const uint32_t *weights,
                            const int32_t *thresholds, uint32_t *output)
{
    if (!dims || !input || !weights || !thresholds || !output || dims->k_h != dims->in_h ||
        dims->k_w != dims->in_w) {
        return BNN_ERR_ARG;
    }
    uint32_t word = 0;
    for (uint32_t o = 0; o < dims->out_c; o++) {
        const int32_t x = bnn_ref_window_u8(dims, input, weights, 0, 0, o);
        bnn_ref_put_bit(output, o, dims->out_c, &word, x > thresholds[o]);
    }
    return BNN_OK;
}
