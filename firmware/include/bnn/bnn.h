/*
 * bnn-mcu runtime: common types.
 *
 * Conventions (see DESIGN.md in the repo root):
 *  - Binary tensors are NHWC with channels packed 32 per uint32 word, LSB first:
 *    channel c of pixel (h, w) is bit c%32 of word [(h*W + w)*ceil(C/32) + c/32].
 *    Bit 1 means -1, bit 0 means +1. Tail bits (c >= C in the last word) are 0.
 *  - Binary layers compute x = popcount(a XOR w) over the K real input bits of a window and emit
 *    output bit = (acc > threshold[c]); the converter has already flipped weights where needed.
 *  - No heap: every buffer lives in the arena that the converter sized.
 */
#ifndef BNN_BNN_H
#define BNN_BNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    BNN_OK = 0,
    BNN_ERR_ARG = 1,       /* a NULL pointer or an inconsistent shape */
    BNN_ERR_UNSUPPORTED = 2, /* an op code this runtime does not implement */
    BNN_ERR_ARENA = 3      /* a layer's buffers fall outside the arena */
} bnn_status_t;

#define BNN_WORD_BITS 32u
#define BNN_WORDS_FOR(c) (((uint32_t)(c) + 31u) / 32u)

#ifdef __cplusplus
}
#endif

#endif /* BNN_BNN_H */
