/*
 * INFER_RLE payloads (docs/PROTOCOL.md, "INFER_RLE"): zero runs and literals, expanded in place.
 *
 * Token t: t >= 0x80 is a run of (t & 0x7F) + 1 zero bytes; t < 0x80 is followed by t + 1 literal
 * bytes. The caller puts the len encoded bytes at the END of its buffer (buf[cap - len .. cap)); the
 * decoder writes the out_len expanded bytes from buf[0]. A literal is copied upwards (the write
 * position never passes the read position), and a zero run that would overwrite encoded bytes not
 * yet read is refused, so any byte string is safe to feed it.
 */
#ifndef BNN_RLE_H
#define BNN_RLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 0 when buf[0 .. out_len) holds the expansion; otherwise the encoded bytes read when it failed
 * (a token that expands past out_len, a literal cut short, a run that would overtake the encoded
 * bytes), or len + 1 when the total is not out_len. Requires len <= cap. */
uint32_t bnn_rle_expand_in_place(uint8_t *buf, size_t cap, size_t len, size_t out_len);

#ifdef __cplusplus
}
#endif

#endif /* BNN_RLE_H */
