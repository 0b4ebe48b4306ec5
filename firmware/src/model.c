/*
 * Executes the generated layer table (model/bnn_model_data.c) with the compiled kernel set.
 * Buffers: layer 0 reads the caller's input; every other buffer is an offset into the static arena
 * that the converter's memory plan sized (ping-pong between two regions). No heap.
 */
#include <stddef.h>

#include "bnn/layers.h"
#include "bnn/model.h"
#include "bnn/platform.h"

static const void *bnn_in_ptr(const bnn_layer_t *l, const uint8_t *input)
{
    if (l->in_offset == BNN_BUFFER_INPUT) {
        return input;
    }
    return (const uint8_t *)bnn_model_arena + l->in_offset;
}

static bnn_status_t bnn_run_layer(const bnn_layer_t *l, const uint8_t *input)
{
    const void *in = bnn_in_ptr(l, input);
    void *out = (uint8_t *)bnn_model_arena + l->out_offset;
    const bnn_dims_t *d = &l->dims;
    switch (l->op) {
    case BNN_OP_CONV2D_U8_B1:
        return bnn_conv2d_u8_b1(d, (const uint8_t *)in, l->weights, l->thresholds, (uint32_t *)out);
    case BNN_OP_CONV2D_B1_B1:
        return bnn_conv2d_b1_b1(d, (const uint32_t *)in, l->weights, l->thresholds, (uint32_t *)out);
    case BNN_OP_CONV2D_U8_S32:
        return bnn_conv2d_u8_s32(d, (const uint8_t *)in, l->weights, (int32_t *)out);
    case BNN_OP_CONV2D_B1_S32:
        return bnn_conv2d_b1_s32(d, (const uint32_t *)in, l->weights, (int32_t *)out);
    case BNN_OP_DENSE_U8_B1:
        return bnn_dense_u8_b1(d, (const uint8_t *)in, l->weights, l->thresholds, (uint32_t *)out);
    case BNN_OP_DENSE_B1_B1:
        return bnn_dense_b1_b1(d, (const uint32_t *)in, l->weights, l->thresholds, (uint32_t *)out);
    case BNN_OP_DENSE_U8_S32:
        return bnn_dense_u8_s32(d, (const uint8_t *)in, l->weights, (int32_t *)out);
    case BNN_OP_DENSE_B1_S32:
        return bnn_dense_b1_s32(d, (const uint32_t *)in, l->weights, (int32_t *)out);
    case BNN_OP_MAXPOOL2D_B1:
        return bnn_maxpool2d_b1(d, (const uint32_t *)in, l->or_mask, (uint32_t *)out);
    default:
        return BNN_ERR_UNSUPPORTED;
    }
}

bnn_status_t bnn_model_invoke(const uint8_t *input, int32_t *output, int32_t *top1,
                              uint32_t *layer_ticks)
{
    if (!input || !output) {
        return BNN_ERR_ARG;
    }
    for (uint32_t i = 0; i < BNN_MODEL_NUM_LAYERS; i++) {
        const uint32_t t0 = layer_ticks ? bnn_counter_read() : 0u;
        const bnn_status_t st = bnn_run_layer(&bnn_model_layers[i], input);
        if (layer_ticks) {
            layer_ticks[i] = bnn_counter_read() - t0;
        }
        if (st != BNN_OK) {
            return st;
        }
    }
    const int32_t *last = (const int32_t *)((const uint8_t *)bnn_model_arena +
                                            bnn_model_layers[BNN_MODEL_NUM_LAYERS - 1u].out_offset);
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
