/*
 * The standalone app's model call: the generated model (model/bnn_model_data.c: bnn_model_run_layer
 * calls each layer's kernel of the compiled set, the arena, the output affine) run by the shared
 * bnn_graph_invoke (src/invoke.c), timed with the platform's counter.
 * Buffers: the first layer reads the caller's input; every other buffer lives in the static arena
 * that the converter's memory plan sized. No heap.
 */
#include <stddef.h>

#include "bnn/invoke.h"
#include "bnn/layers.h"
#include "bnn/model.h"
#include "bnn/platform.h"

bnn_status_t bnn_model_invoke(const uint8_t *input, int32_t *output, int32_t *top1,
                              uint32_t *layer_ticks)
{
    if (!input || !output) {
        return BNN_ERR_ARG;
    }
    const bnn_graph_t graph = {
        BNN_MODEL_NUM_LAYERS, bnn_model_run_layer, bnn_model_arena, bnn_model_output_offset,
        BNN_MODEL_OUTPUT_COUNT, BNN_MODEL_OUTPUT_CHANNELS, bnn_model_out_scale, bnn_model_out_offset,
    };
    return bnn_graph_invoke(&graph, input, output, top1, layer_ticks, bnn_counter_read);
}
