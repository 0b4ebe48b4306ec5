/*
 * What the converter generates for src/model.c (model/bnn_model_data.c): one kernel call per layer
 * (bnn_model_run_layer, a per-model dispatch with the layer's parameters, buffers and constant data
 * baked in), the static arena and the last layer's output affine.
 */
#ifndef BNN_LAYERS_H
#define BNN_LAYERS_H

#include <stdint.h>

#include "bnn/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Run layer i (0 <= i < BNN_MODEL_NUM_LAYERS); the first layer(s) read `input`, the caller's buffer. */
bnn_status_t bnn_model_run_layer(uint32_t i, const uint8_t *input);

extern uint32_t bnn_model_arena[];
extern const uint32_t bnn_model_output_offset; /* byte offset of the last layer's int32 output in the arena */
extern const double bnn_model_out_scale[];     /* per output channel: logit = scale * out + offset */
extern const double bnn_model_out_offset[];

#ifdef __cplusplus
}
#endif

#endif /* BNN_LAYERS_H */
