/*
 * TEST FIXTURE, not a model: what the converter generates for src/model.c (bnn_model_run_layer, the
 * arena, the output offset and affine), with a trivially checkable answer, so that
 * firmware/tests/kernels/test_model.c can run the real model.c on the host. Same answer as fake_model.c:
 *
 *   outputs[k] = sum of input[i] over i % OUTPUT_COUNT == k, minus 100 * k
 *   input[0] == 0xFF && input[1] == 0xEE -> layer 1 returns BNN_ERR_ARENA
 *
 * Layer 0 sums the input into the arena at byte 0, layer 1 subtracts 100 * k in place, layer 2 copies
 * the result to the output offset (byte 128). fake_layers_calls records the order of the calls.
 */
#include "bnn/layers.h"
#include "bnn/model.h"

uint32_t bnn_model_arena[BNN_MODEL_ARENA_BYTES / 4u];
const uint32_t bnn_model_output_offset = 128u;
const double bnn_model_out_scale[BNN_MODEL_OUTPUT_CHANNELS] = {1, 1, 1, 1, 1, 1, 1, 1, 1, -1};
const double bnn_model_out_offset[BNN_MODEL_OUTPUT_CHANNELS] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 950};

uint32_t fake_layers_calls[16];
uint32_t fake_layers_ncalls;

bnn_status_t bnn_model_run_layer(uint32_t i, const uint8_t *input)
{
    int32_t *acc = (int32_t *)bnn_model_arena;
    int32_t *out = (int32_t *)((uint8_t *)bnn_model_arena + bnn_model_output_offset);
    if (fake_layers_ncalls < 16u) {
        fake_layers_calls[fake_layers_ncalls] = i;
    }
    fake_layers_ncalls++;
    switch (i) {
    case 0:
        for (uint32_t k = 0; k < BNN_MODEL_OUTPUT_COUNT; k++) {
            acc[k] = 0;
        }
        for (uint32_t j = 0; j < BNN_MODEL_INPUT_BYTES; j++) {
            acc[j % BNN_MODEL_OUTPUT_COUNT] += input[j];
        }
        return BNN_OK;
    case 1:
        if (input[0] == 0xFFu && input[1] == 0xEEu) {
            return BNN_ERR_ARENA;
        }
        for (uint32_t k = 0; k < BNN_MODEL_OUTPUT_COUNT; k++) {
            acc[k] -= 100 * (int32_t)k;
        }
        return BNN_OK;
    case 2:
        for (uint32_t k = 0; k < BNN_MODEL_OUTPUT_COUNT; k++) {
            out[k] = acc[k];
            acc[k] = 0x5A5A5A5A; /* the output must be read at bnn_model_output_offset */
        }
        return BNN_OK;
    default:
        return BNN_ERR_UNSUPPORTED;
    }
}
