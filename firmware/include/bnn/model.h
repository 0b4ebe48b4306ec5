/*
 * The model interface the app uses. The converter generates bnn_model_data.c (layer table, packed
 * weights, thresholds, the arena) and bnn_model_config.h (sizes, hash, board name); the runtime's
 * model.c executes the layer table.
 */
#ifndef BNN_MODEL_H
#define BNN_MODEL_H

#include <stdint.h>

#include "bnn/bnn.h"
#include "bnn_model_config.h" /* generated: BNN_MODEL_* sizes, BNN_BOARD_NAME */

#ifdef __cplusplus
extern "C" {
#endif

/* First 16 bytes of the model's SHA-256, as printed by `bnn-mcu convert`. */
extern const uint8_t bnn_model_hash[16];

/*
 * Run one inference.
 *   input:  BNN_MODEL_INPUT_BYTES bytes: uint8 values (NHWC), q in 0..255; or, when
 *           BNN_MODEL_INPUT_BITS is 1 (a model whose first layer binarizes its input), those values'
 *           sign bits packed 8 per byte, LSB first, 1 = negative (bnn_mcu/wire.py)
 *   output: BNN_MODEL_OUTPUT_COUNT int32 accumulators of the last layer
 *   top1:   index of the largest output after the last layer's affine (may be NULL)
 *   layer_ticks: if not NULL, BNN_MODEL_NUM_LAYERS counter differences, one per layer
 */
bnn_status_t bnn_model_invoke(const uint8_t *input, int32_t *output, int32_t *top1,
                              uint32_t *layer_ticks);

#ifdef __cplusplus
}
#endif

#endif /* BNN_MODEL_H */
