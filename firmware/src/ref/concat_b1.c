/* Reference kernel: see bnn/kernels.h for the contract. */
#include "bnn/kernels.h"
#include "ref_common.h"

/*
 * Per output pixel: clear its words, then OR each input's words in at the input's channel offset.
 * Input k starts at bit `offset % 32` of word `offset / 32`, so each of its words lands in two output
 * words (low part shifted up, high part spilling into the next word) unless the offset is a multiple
 * of 32. The tail of an input's last word is masked, so only its own channels are copied.
 */
bnn_status_t bnn_concat_b1(const bnn_concat_params_t *params, const uint32_t *const inputs[], uint32_t *output)
{
    if (!params || !inputs || !output || !params->channels || params->count == 0u) {
        return BNN_ERR_ARG;
    }
    uint32_t total = 0;
    for (uint32_t k = 0; k < params->count; k++) {
        if (!inputs[k]) {
            return BNN_ERR_ARG;
        }
        total += params->channels[k];
    }
    const uint32_t out_words = BNN_WORDS_FOR(total);
    for (uint32_t p = 0; p < params->pixels; p++) {
        uint32_t *px = output + p * out_words;
        for (uint32_t j = 0; j < out_words; j++) {
            px[j] = 0u;
        }
        uint32_t offset = 0; /* channel offset of input k in the output */
        for (uint32_t k = 0; k < params->count; k++) {
            const uint32_t c = params->channels[k];
            const uint32_t wc = BNN_WORDS_FOR(c);
            const uint32_t *in = inputs[k] + p * wc;
            const uint32_t shift = offset % 32u;
            const uint32_t first = offset / 32u;
            for (uint32_t j = 0; j < wc; j++) {
                uint32_t v = in[j];
                if (j == wc - 1u && (c % 32u) != 0u) {
                    v &= (1u << (c % 32u)) - 1u;
                }
                px[first + j] |= v << shift;
                if (shift != 0u && first + j + 1u < out_words) {
                    px[first + j + 1u] |= v >> (32u - shift);
                }
            }
            offset += c;
        }
    }
    return BNN_OK;
}
