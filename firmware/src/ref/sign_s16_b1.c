/* Reference kernel: see bnn/kernels.h for the contract. */
#include "bnn/kernels.h"
#include "ref_common.h"

bnn_status_t bnn_sign_s16_b1(const bnn_dims_t *dims, const int16_t *input, uint32_t *output)
{
    if (!dims || !input || !output || dims->out_h != dims->in_h || dims->out_w != dims->in_w ||
        dims->out_c != dims->in_c) {
        return BNN_ERR_ARG;
    }
    const uint32_t pixels = (uint32_t)dims->in_h * dims->in_w;
    const uint32_t c = dims->in_c;
    for (uint32_t p = 0; p < pixels; p++) {
        const int16_t *q = input + p * c;
        uint32_t *px = output + p * BNN_WORDS_FOR(c);
        uint32_t word = 0;
        for (uint32_t i = 0; i < c; i++) {
            bnn_ref_put_bit(px, i, c, &word, q[i] < 0);
        }
    }
    return BNN_OK;
}
