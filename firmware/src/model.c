/*
 * Runs the layers of the generated model (model/bnn_model_data.c: bnn_model_run_layer calls each
 * layer's kernel of the compiled set), times them, and picks the top class.
 * Buffers: the first layer reads the caller's input; every other buffer lives in the static arena
 * that the converter's memory plan sized. No heap.
 */
#include <stddef.h>

#include "bnn/layers.h"
#include "bnn/model.h"
#include "bnn/platform.h"

bnn_status_t bnn_model_invoke(const uint8_t *input, int32_t *output, int32_t *top1,
                              uint32_t *layer_ticks)
{
    if (!input || !output) {
        return BNN_ERR_ARG;
    }
    for (uint32_t i = 0; i < BNN_MODEL_NUM_LAYERS; i++) {
        const uint32_t t0 = layer_ticks ? bnn_counter_read() : 0u;
        const bnn_status_t st = bnn_model_run_layer(i, input);
        if (layer_ticks) {
            layer_ticks[i] = bnn_counter_read() - t0;
        }
        if (st != BNN_OK) {
            return st;
        }
    }
    const int32_t *last = (const int32_t *)((const uint8_t *)bnn_model_arena + bnn_model_output_offset);
    /* top-1 over the float logits the host rebuilds: scale * out + offset, in double, two separately
     * rounded operations (the build uses -ffp-contract=off), first index on ties: exactly numpy's. */
    int32_t best = 0;
    double best_logit = 0.0;
    for (uint32_t i = 0; i < BNN_MODEL_OUTPUT_COUNT; i++) {
        const uint32_t c = i % BNN_MODEL_OUTPUT_CHANNELS;
        output[i] = last[i];
        const double logit = bnn_model_out_scale[c] * (double)last[i] + bnn_model_out_offset[c];
        if (i == 0u || logit > best_logit) {
            best_logit = logit;
            best = (int32_t)i;
        }
    }
    if (top1) {
        *top1 = best;
    }
    return BNN_OK;
}
