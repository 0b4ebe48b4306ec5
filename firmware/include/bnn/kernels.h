/*
 * bnn-mcu kernels. Two sets implement these same functions: src/ref/ (scalar, obviously correct) and
 * src/bitsliced/ (fast; a set may be partial, CMake takes ref for the rest). The converter generates
 * one call per layer (model/bnn_model_data.c), so a kernel that no model calls is not linked.
 *
 * Naming follows CMSIS-NN: bnn_<op>_<input type>_<output type>, where b1 = 1-bit packed, u8 = 8-bit
 * unsigned input (the first layer), s32 = int32 accumulators (the last layer). Arguments: a parameter
 * struct (shapes, stride, padding: a new option extends the struct, not every signature), the input,
 * the layer's constant data, the output last.
 *
 * Data contracts (each kernel set's parameter layouts are defined in bnn_mcu/layouts.py, which is the
 * one place that writes them):
 *   u8 tensors: NHWC bytes.  b1 tensors: packed per pixel, pixel (h, w) owns BNN_WORDS_FOR(C) words.
 *   Accumulators (derivation: bnn_mcu/ops/conv.py):
 *     b1 input: x = popcount(in XOR w) over the K = k_h*k_w*in_c input bits of the window
 *     u8 input: x = sum(q * w), w = +1 for weight bit 0 and -1 for weight bit 1
 *   b1 output: bit = (x > threshold). s32 output: b1 input -> K - 2x (the +-1 dot product); u8 -> x.
 *   The bit-sliced set's u8 -> b1 kernels ("u8_bytemask") compute U = sum |q - m| over byte masks
 *   m = 0xFF / 0x00 (= x + 255*N, N = the channel's set weight bits) and compare U >= T with the
 *   converter's T = x's threshold + 255N + 1 (uint32); b1 -> b1 ("transposed") compares bit-sliced
 *   counts with the bit planes of threshold + 1 (src/bitsliced/bs_u8.h, bs_common.h).
 *   Reads: a kernel reads nothing outside its input (word loads included); b1 tail bits are 0 and the
 *   bit-sliced kernels never count them.
 *
 * 'same' padding (TF convention: pad_top = total/2, the extra row or column at the bottom/right):
 *   taps outside the input read as bit 0 (b1 input) or q = 0 (u8 input). What a padded tap really
 *   contributes (Larq's pad_values, or the real value 0 of an 8-bit input) differs by border position;
 *   the converter folds it into one threshold block per border class (bnn_mcu/ops/conv.py).
 */
#ifndef BNN_KERNELS_H
#define BNN_KERNELS_H

#include <stdint.h>

#include "bnn/bnn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Shapes of one layer. For pooling, k_* is the pool size and out_c == in_c. */
typedef struct {
    uint16_t in_h, in_w, in_c;
    uint16_t out_h, out_w, out_c;
    uint8_t k_h, k_w;
    uint8_t stride_h, stride_w;
} bnn_dims_t;

/* Taps before the first input row / column (0 for 'valid'). */
typedef struct {
    uint8_t top, left;
} bnn_padding_t;

typedef struct {
    bnn_dims_t dims;
    bnn_padding_t padding;
    /*
     * b1 outputs: output pixel (oy, ox) compares with threshold block
     *   row_class[oy] * col_classes + col_class[ox]
     * (a block is out_c int32 for ref, ceil(out_c/32) * planes words for bitsliced). NULL tables: one
     * block for every pixel (valid padding, or a padding whose effect is the same everywhere).
     */
    const uint8_t *row_class;
    const uint8_t *col_class;
    uint16_t col_classes;
} bnn_conv_params_t;

typedef struct {
    bnn_dims_t dims;
    bnn_padding_t padding; /* 'same' pooling: taps outside the input are left out of the window */
} bnn_pool_params_t;

bnn_status_t bnn_conv2d_u8_b1(const bnn_conv_params_t *params, const uint8_t *input, const uint32_t *weights,
                              const int32_t *thresholds, uint32_t *output);
bnn_status_t bnn_conv2d_b1_b1(const bnn_conv_params_t *params, const uint32_t *input, const uint32_t *weights,
                              const int32_t *thresholds, uint32_t *output);
bnn_status_t bnn_conv2d_u8_s32(const bnn_conv_params_t *params, const uint8_t *input, const uint32_t *weights,
                               int32_t *output);
bnn_status_t bnn_conv2d_b1_s32(const bnn_conv_params_t *params, const uint32_t *input, const uint32_t *weights,
                               int32_t *output);

/* Dense: the kernel spans the whole input (k = in spatial, no padding), the output is 1 x 1 x out_c. */
bnn_status_t bnn_dense_u8_b1(const bnn_conv_params_t *params, const uint8_t *input, const uint32_t *weights,
                             const int32_t *thresholds, uint32_t *output);
bnn_status_t bnn_dense_b1_b1(const bnn_conv_params_t *params, const uint32_t *input, const uint32_t *weights,
                             const int32_t *thresholds, uint32_t *output);
bnn_status_t bnn_dense_u8_s32(const bnn_conv_params_t *params, const uint8_t *input, const uint32_t *weights,
                              int32_t *output);
bnn_status_t bnn_dense_b1_s32(const bnn_conv_params_t *params, const uint32_t *input, const uint32_t *weights,
                              int32_t *output);

/* Depthwise convolution of a b1 input (output channel o reads input channel o / depth_multiplier; the
 * dims give out_c = in_c * depth_multiplier). Weights: [out_c][ceil(k_h*k_w/32)] words, tap ky*k_w + kx
 * at bit tap%32; thresholds as the ref conv's ([border class][out_c] int32, bit = x > tau), x counting
 * the taps whose bit differs from the weight bit (bnn_mcu/ops/depthwise.py). */
typedef struct {
    bnn_conv_params_t conv;
    uint8_t depth_multiplier;
} bnn_depthwise_params_t;

bnn_status_t bnn_depthwise_conv2d_b1_b1(const bnn_depthwise_params_t *params, const uint32_t *input,
                                        const uint32_t *weights, const int32_t *thresholds, uint32_t *output);

/* Max-pool on bits: AND over the window (max of +-1), OR (min) for channels set in or_mask. */
bnn_status_t bnn_maxpool2d_b1(const bnn_pool_params_t *params, const uint32_t *input, const uint32_t *or_mask,
                              uint32_t *output);

/* Channel concatenation of b1 tensors of equal height and width: input k has channels[k] channels and
 * is shifted to its channel offset (the running sum of the earlier counts); tail bits stay 0. */
typedef struct {
    uint32_t pixels;          /* height * width, the same for every input and the output */
    uint8_t count;            /* number of inputs */
    const uint32_t *channels; /* [count] */
} bnn_concat_params_t;

bnn_status_t bnn_concat_b1(const bnn_concat_params_t *params, const uint32_t *const inputs[], uint32_t *output);

/* Real-valued streams in int16 fixed point (bnn_mcu/ops/requant.py has the scales and error bounds).
 * requant: q = sat16(floor((r * mult[c] + bias[class][c]) / 2^shift)) in int64, r the int32 sums of a
 * convolution (NHWC), class = row_class[y] * col_classes + col_class[x] (NULL tables: class 0). */
typedef struct {
    uint16_t height, width, channels;
    uint8_t shift;
    const uint8_t *row_class;
    const uint8_t *col_class;
    uint16_t col_classes;
} bnn_requant_params_t;

bnn_status_t bnn_requant_s32_s16(const bnn_requant_params_t *params, const int32_t *input, const int32_t *mult,
                                 const int32_t *bias, int16_t *output);

/* add: q = sat16(floor(sum_k(in_k * mult[k]) / 2^shift)) in int64, element by element. */
typedef struct {
    uint8_t count;  /* number of inputs */
    uint32_t values; /* elements per tensor (h * w * c) */
    uint8_t shift;
    const int32_t *mult; /* [count] */
} bnn_add_params_t;

bnn_status_t bnn_add_s16(const bnn_add_params_t *params, const int16_t *const inputs[], int16_t *output);

/* Average pool of an int16 stream: q = sat16(floor(sum(window) * mult[class] / 2^shift)) in int64; padded
 * taps are left out (the class's multiplier divides by the taps inside the input, bnn_mcu/ops/avgpool.py). */
typedef struct {
    bnn_dims_t dims;
    bnn_padding_t padding;
    uint8_t shift;
    const uint8_t *row_class;
    const uint8_t *col_class;
    uint16_t col_classes;
} bnn_avgpool_params_t;

bnn_status_t bnn_avgpool2d_s16(const bnn_avgpool_params_t *params, const int16_t *input, const int32_t *mult,
                               int16_t *output);

/* Dense on an int16 stream (a real-input last layer): out[o] = sum_i(w ? -q[i] : q[i]) with the weights
 * flat ([out_c][ceil(K/32)] words, input i at bit i%32, bit 1 = -1), K = in_h * in_w * in_c. */
bnn_status_t bnn_dense_s16_s32(const bnn_dims_t *dims, const int16_t *input, const uint32_t *weights,
                               int32_t *output);

/* sign() of an int16 stream: bit = (q < 0). dims: in == out shape. */
bnn_status_t bnn_sign_s16_b1(const bnn_dims_t *dims, const int16_t *input, uint32_t *output);

/* sign() of an 8-bit input: bit = (q < threshold), i.e. -1 exactly where the real value LO + s*q < 0
 * (the converter finds that code from the very float32 values Larq sees). dims: in == out shape. */
bnn_status_t bnn_sign_u8_b1(const bnn_dims_t *dims, const uint8_t *input, uint32_t threshold, uint32_t *output);

/* The same sign bits computed by the host and sent packed (bnn_mcu/wire.py): value k of the NHWC input
 * is bit k%8 of bits[k/8]; spread into the b1 layout (32 channels per word per pixel, tail bits 0).
 * dims: in == out shape. */
bnn_status_t bnn_unpack_bits_b1(const bnn_dims_t *dims, const uint8_t *bits, uint32_t *output);

#ifdef __cplusplus
}
#endif

#endif /* BNN_KERNELS_H */
