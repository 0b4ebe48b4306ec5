/*
 * TEST FIXTURE, not a model runtime: a bnn_model_invoke with a trivially checkable answer so that
 * tests/test_link_host.py can exercise the real app and protocol end to end on the host.
 *
 *   outputs[k]      = sum of input[i] over i % OUTPUT_COUNT == k, minus 100 * k  (so some are negative)
 *   top1            = index of the largest output (first on ties)
 *   layer_ticks[l]  = l + 1
 *   input[0] == 0xFF && input[1] == 0xEE -> returns BNN_ERR_ARENA (to test MODEL_FAILED)
 * The Python twin is fake_model_reference() in tests/test_link_host.py.
 */
#include "bnn/model.h"

const uint8_t bnn_model_hash[16] = {0xFA, 0x4E, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
                                    0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0xFF};

bnn_status_t bnn_model_invoke(const uint8_t *input, int32_t *output, int32_t *top1,
                              uint32_t *layer_ticks)
{
    uint32_t i;
    if (input == 0 || output == 0) {
        return BNN_ERR_ARG;
    }
    if (input[0] == 0xFFu && input[1] == 0xEEu) {
        return BNN_ERR_ARENA;
    }
    for (i = 0; i < BNN_MODEL_OUTPUT_COUNT; ++i) {
        output[i] = -100 * (int32_t)i;
    }
    for (i = 0; i < BNN_MODEL_INPUT_BYTES; ++i) {
        output[i % BNN_MODEL_OUTPUT_COUNT] += input[i];
    }
    if (top1 != 0) {
        int32_t best = 0;
        for (i = 1; i < BNN_MODEL_OUTPUT_COUNT; ++i) {
            if (output[i] > output[best]) {
                best = (int32_t)i;
            }
        }
        *top1 = best;
    }
    if (layer_ticks != 0) {
        for (i = 0; i < BNN_MODEL_NUM_LAYERS; ++i) {
            layer_ticks[i] = i + 1u;
        }
    }
    return BNN_OK;
}
