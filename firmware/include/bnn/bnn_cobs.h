/*
 * COBS (Consistent Overhead Byte Stuffing), as docs/PROTOCOL.md uses it: the encoding never contains
 * 0x00, so 0x00 only ever delimits frames. Canonical form: a 254-byte run that ends the data gets no
 * trailing 0x01 group (the decoder accepts both).
 *
 *  - bnn_cobs_encode:    one-shot, into a caller buffer.
 *  - bnn_cobs_enc_*:     streaming encoder with a 255-byte block buffer (no full-size output buffer);
 *                        each finished group goes out through a write callback.
 *  - bnn_cobs_dec_*:     incremental decoder, one encoded byte in, at most one decoded byte out.
 *  - bnn_cobs_decode:    one-shot, built on the incremental decoder.
 */
#ifndef BNN_COBS_H
#define BNN_COBS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Upper bound on the encoded size of n bytes (delimiter not included). */
#define BNN_COBS_MAX(n) ((size_t)(n) + (size_t)(n) / 254u + 1u)

/* Called with a run of encoded bytes (never containing 0x00). */
typedef void (*bnn_write_fn)(void *ctx, const uint8_t *data, size_t len);

typedef struct {
    bnn_write_fn write;
    void *ctx;
    uint8_t block[255]; /* block[0] = code byte, block[1..n] = data */
    uint8_t n;          /* data bytes in the open group, 0..254 */
} bnn_cobs_enc_t;

void bnn_cobs_enc_begin(bnn_cobs_enc_t *enc, bnn_write_fn write, void *ctx);
void bnn_cobs_enc_put(bnn_cobs_enc_t *enc, const uint8_t *data, size_t len);
/* Flushes the last group. Does not write the 0x00 delimiter. */
void bnn_cobs_enc_end(bnn_cobs_enc_t *enc);

/* Returns the encoded length (>= 1), or 0 if dst_cap is too small (BNN_COBS_MAX(len) always fits). */
size_t bnn_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t dst_cap);

typedef struct {
    uint8_t code;      /* code byte of the current group; 0 = none yet */
    uint8_t remaining; /* data bytes still expected in the current group */
} bnn_cobs_dec_t;

#define BNN_COBS_NONE (-1)

void bnn_cobs_dec_reset(bnn_cobs_dec_t *dec);
/* Feed one encoded byte (must not be 0x00: that is the caller's delimiter). Returns the decoded byte
 * (0..255) it produces, or BNN_COBS_NONE. */
int bnn_cobs_dec_push(bnn_cobs_dec_t *dec, uint8_t in);
/* At the delimiter: 1 if the frame ended on a group boundary (valid), 0 if a group was cut short. */
int bnn_cobs_dec_complete(const bnn_cobs_dec_t *dec);

/* One-shot decode of a frame without delimiter. Returns the decoded length, or -1 on a 0x00 inside,
 * a truncated group, or dst_cap too small. */
long bnn_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t dst_cap);

#ifdef __cplusplus
}
#endif

#endif /* BNN_COBS_H */
