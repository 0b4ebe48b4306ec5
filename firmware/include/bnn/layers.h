/*
 * The layer table the converter generates (model/bnn_model_data.c) and src/model.c executes.
 * Op names are symbolic; the numbering is shared with bnn_mcu/codegen.py (OPS), which is the one
 * place that maps integer-IR layers to them.
 */
#ifndef BNN_LAYERS_H
#define BNN_LAYERS_H

#include <stdint.h>

#include "bnn/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    BNN_OP_CONV2D_U8_B1 = 0,
    BNN_OP_CONV2D_B1_B1 = 1,
    BNN_OP_CONV2D_U8_S32 = 2,
    BNN_OP_CONV2D_B1_S32 = 3,
    BNN_OP_DENSE_U8_B1 = 4,
    BNN_OP_DENSE_B1_B1 = 5,
    BNN_OP_DENSE_U8_S32 = 6,
    BNN_OP_DENSE_B1_S32 = 7,
    BNN_OP_MAXPOOL2D_B1 = 8
} bnn_op_t;

/* Marks the model input (the caller's buffer) instead of an arena offset. */
#define BNN_BUFFER_INPUT 0xFFFFFFFFu

typedef struct {
    bnn_op_t op;
    bnn_dims_t dims;
    uint32_t in_offset;  /* byte offset into the arena, or BNN_BUFFER_INPUT */
    uint32_t out_offset; /* byte offset into the arena */
    const uint32_t *weights;   /* NULL for max-pool */
    const int32_t *thresholds; /* b1 outputs only */
    const uint32_t *or_mask;   /* max-pool only */
} bnn_layer_t;

/* Generated in model/bnn_model_data.c. */
extern const bnn_layer_t bnn_model_layers[];
extern uint32_t bnn_model_arena[];
extern const double bnn_model_out_scale[];  /* per output channel: logit = scale * out + offset */
extern const double bnn_model_out_offset[];

#ifdef __cplusplus
}
#endif

#endif /* BNN_LAYERS_H */
