/*
 * Running a generated model: one function for every model in a firmware.
 *
 * The converter generates, per model, a layer dispatch (one kernel call per layer, with its constant
 * data and its buffers in the model's static arena) and the last layer's float affine. A bnn_graph_t
 * points at them; bnn_graph_invoke() runs the layers in order and picks the top class. The standalone
 * app (src/model.c: bnn_model_invoke) and every exported library (<name>_invoke) call this same code,
 * so two models in one firmware share it and differ only in their descriptors.
 */
#ifndef BNN_INVOKE_H
#define BNN_INVOKE_H

#include <stdint.h>

#include "bnn/bnn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint32_t num_layers;
    bnn_status_t (*run_layer)(uint32_t i, const uint8_t *input); /* layer i; the first ones read input */
    const uint32_t *arena;     /* the model's static arena */
    uint32_t output_offset;    /* byte offset of the last layer's int32 outputs in the arena */
    uint32_t output_count;     /* int32 outputs (H * W * C of the last layer) */
    uint32_t output_channels;  /* C of the last layer: output i belongs to channel i % C */
    const double *out_scale;   /* per channel: logit = out_scale[c] * output + out_offset[c] */
    const double *out_offset;
} bnn_graph_t;

/*
 * Run every layer of g on input (the model's 8-bit input, NHWC).
 *   output:      if not NULL, receives the output_count int32 outputs of the last layer
 *   top1:        if not NULL, the index of the largest logit (first index on ties)
 *   layer_ticks: if not NULL (and counter not NULL), num_layers counter differences, one per layer
 *   counter:     a free-running up-counter, or NULL
 * Returns BNN_OK, BNN_ERR_ARG for a NULL g or input, or the first failing layer's status.
 */
bnn_status_t bnn_graph_invoke(const bnn_graph_t *g, const uint8_t *input, int32_t *output, int32_t *top1,
                              uint32_t *layer_ticks, uint32_t (*counter)(void));

#ifdef __cplusplus
}
#endif

#endif /* BNN_INVOKE_H */
