/* Reference kernel: see bnn/kernels.h for the contract. The input sign bits arrive packed by the host
 * (bnn_mcu/wire.py); this spreads them into the b1 activation layout. */
#include "bnn/kernels.h"
#include "ref_common.h"

bnn_status_t bnn_unpack_bits_b1(const bnn_dims_t *dims, const uint8_t *bits, uint32_t *output)
{
    if (!dims || !bits || !output || dims->out_h != dims->in_h || dims->out_w != dims->in_w ||
        dims->out_c != dims->in_c) {
        return BNN_ERR_ARG;
    }
    const uint32_t pixels = (uint32_t)dims->in_h * dims->in_w;
    const uint32_t c = dims->in_c;
    uint32_t k = 0; /* index of the value in the flattened NHWC input */
    for (uint32_t p = 0; p < pixels; p++) {
        uint32_t *px = output + p * BNN_WORDS_FOR(c);
        uint32_t word = 0;
        for (uint32_t i = 0; i < c; i++, k++) {
            bnn_ref_put_bit(px, i, c, &word, (bits[k / 8u] >> (k % 8u)) & 1u);
        }
    }
    return BNN_OK;
}
