/*
 * bnn-mcu kernels. Two sets implement these same functions: src/ref/ (scalar, obviously correct)
 * and, later, src/bitsliced/ (fast); CMake compiles exactly one set (BNN_KERNELS).
 *
 * Naming follows CMSIS-NN: bnn_<op>_<input type>_<output type>, where b1 = 1-bit packed, u8 = 8-bit
 * unsigned input (the first layer), s32 = int32 accumulators (the last layer). Output pointer last.
 *
 * Layouts: u8 input is NHWC bytes. b1 tensors and all weights are packed per pixel: pixel (h, w)
 * owns BNN_WORDS_FOR(C) words; weights are [out_c][k_h][k_w][BNN_WORDS_FOR(in_c)] words.
 *
 * Accumulators (see bnn_mcu/fold.py for the derivation):
 *   b1 input: x = popcount(in XOR w) over the K = k_h*k_w*in_c real bits
 *   u8 input: x = sum(q * w), w = +1 for bit 0 and -1 for bit 1
 * b1 output: bit = (x > thresholds[c]).  s32 output: b1 input -> K - 2x (the ±1 dot product);
 * u8 input -> x.
 */
#ifndef BNN_KERNELS_H
#define BNN_KERNELS_H

#include <stdint.h>

#include "bnn/bnn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Shapes of one layer. For max-pool, k_* is the pool size and out_c == in_c. */
typedef struct {
    uint16_t in_h, in_w, in_c;
    uint16_t out_h, out_w, out_c;
    uint8_t k_h, k_w;
    uint8_t stride_h, stride_w;
} bnn_dims_t;

bnn_status_t bnn_conv2d_u8_b1(const bnn_dims_t *dims, const uint8_t *input, const uint32_t *weights,
                              const int32_t *thresholds, uint32_t *output);
bnn_status_t bnn_conv2d_b1_b1(const bnn_dims_t *dims, const uint32_t *input, const uint32_t *weights,
                              const int32_t *thresholds, uint32_t *output);
bnn_status_t bnn_conv2d_u8_s32(const bnn_dims_t *dims, const uint8_t *input, const uint32_t *weights,
                               int32_t *output);
bnn_status_t bnn_conv2d_b1_s32(const bnn_dims_t *dims, const uint32_t *input, const uint32_t *weights,
                               int32_t *output);

/* Dense: the kernel spans the whole input (k = in spatial), the output is 1 x 1 x out_c. */
bnn_status_t bnn_dense_u8_b1(const bnn_dims_t *dims, const uint8_t *input, const uint32_t *weights,
                             const int32_t *thresholds, uint32_t *output);
bnn_status_t bnn_dense_b1_b1(const bnn_dims_t *dims, const uint32_t *input, const uint32_t *weights,
                             const int32_t *thresholds, uint32_t *output);
bnn_status_t bnn_dense_u8_s32(const bnn_dims_t *dims, const uint8_t *input, const uint32_t *weights,
                              int32_t *output);
bnn_status_t bnn_dense_b1_s32(const bnn_dims_t *dims, const uint32_t *input, const uint32_t *weights,
                              int32_t *output);

/* Max-pool on bits: AND over the window (max of ±1), OR (min) for channels set in or_mask. */
bnn_status_t bnn_maxpool2d_b1(const bnn_dims_t *dims, const uint32_t *input, const uint32_t *or_mask,
                              uint32_t *output);

#ifdef __cplusplus
}
#endif

#endif /* BNN_KERNELS_H */
