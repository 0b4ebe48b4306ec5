/*
 * Runs the layers of a generated model (bnn_graph_t: the per-model dispatch, arena and output affine;
 * include/bnn/invoke.h), optionally times them, and picks the top class. No heap, no platform calls:
 * the counter is the caller's (NULL in exported libraries).
 */
#include <stddef.h>

#include "bnn/invoke.h"

bnn_status_t bnn_graph_invoke(const bnn_graph_t *g, const uint8_t *input, int32_t *output, int32_t *top1,
                              uint32_t *layer_ticks, uint32_t (*counter)(void))
{
    if (!g || !input) {
        return BNN_ERR_ARG;
    }
    if (!counter) {
        layer_ticks = NULL;
    }
    for (uint32_t i = 0; i < g->num_layers; i++) {
        const uint32_t t0 = layer_ticks ? counter() : 0u;
        const bnn_status_t st = g->run_layer(i, input);
        if (layer_ticks) {
            layer_ticks[i] = counter() - t0;
        }
        if (st != BNN_OK) {
            return st;
        }
    }
    const int32_t *last = (const int32_t *)((const uint8_t *)g->arena + g->output_offset);
    /* top-1 over the float logits the host rebuilds: scale * out + offset, in double, two separately
     * rounded operations (the build uses -ffp-contract=off), first index on ties: exactly numpy's. */
    int32_t best = 0;
    double best_logit = 0.0;
    for (uint32_t i = 0; i < g->output_count; i++) {
        const uint32_t c = i % g->output_channels;
        if (output) {
            output[i] = last[i];
        }
        const double logit = g->out_scale[c] * (double)last[i] + g->out_offset[c];
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
