/* In-place RLE expansion; see bnn/bnn_rle.h and docs/PROTOCOL.md. */
#include "bnn/bnn_rle.h"

uint32_t bnn_rle_expand_in_place(uint8_t *buf, size_t cap, size_t len, size_t out_len)
{
    const size_t base = cap - len; /* the encoded bytes are buf[base .. cap) */
    size_t r = base;               /* read position */
    size_t w = 0;                  /* write position; w <= r throughout */
    size_t i;

    while (r < cap) {
        const uint8_t t = buf[r++];
        const size_t n = (size_t)(t & 0x7Fu) + 1u;
        if (n > out_len - w) {
            return (uint32_t)(r - base);
        }
        if ((t & 0x80u) != 0u) {
            if (n > r - w) { /* the zeros would land on encoded bytes still to be read */
                return (uint32_t)(r - base);
            }
            for (i = 0; i < n; i++) {
                buf[w + i] = 0u;
            }
        } else {
            if (n > cap - r) {
                return (uint32_t)(r - base);
            }
            for (i = 0; i < n; i++) { /* upwards: w <= r, so no byte is read after being written */
                buf[w + i] = buf[r + i];
            }
            r += n;
        }
        w += n;
    }
    return (w == out_len) ? 0u : (uint32_t)(len + 1u);
}
