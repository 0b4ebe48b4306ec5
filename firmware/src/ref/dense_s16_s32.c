/* Reference kernel: see bnn/kernels.h for the contract (derivation: bnn_mcu/ops/avgpool.py). */
#include "bnn/kernels.h"
#include "ref_common.h"

bnn_status_t bnn_dense_s16_s32(const bnn_dims_t *dims, const int16_t *input, const uint32_t *weights,
                               int32_t *output)
{
    if (!dims || !input || !weights || !output || dims->out_h != 1u || dims->out_w != 1u) {
        return BNN_ERR_ARG;
    }
    const uint32_t k = (uint32_t)dims->in_h * dims->in_w * dims->in_c;
    const uint32_t wc = BNN_WORDS_FOR(k);
    for (uint32_t o = 0; o < dims->out_c; o++) {
        const uint32_t *w = weights + o * wc;
        int32_t acc = 0;
        for (uint32_t i = 0; i < k; i++) {
            const int32_t q = input[i];
            acc += ((w[i / 32u] >> (i % 32u)) & 1u) ? -q : q;
        }
        output[o] = acc;
    }
    return BNN_OK;
}
