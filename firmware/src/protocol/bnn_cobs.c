/* COBS encoder and decoder; see bnn/bnn_cobs.h and docs/PROTOCOL.md. */
#include "bnn/bnn_cobs.h"

static void enc_flush(bnn_cobs_enc_t *enc)
{
    enc->block[0] = (uint8_t)(enc->n + 1u);
    enc->write(enc->ctx, enc->block, (size_t)enc->n + 1u);
    enc->n = 0;
}

void bnn_cobs_enc_begin(bnn_cobs_enc_t *enc, bnn_write_fn write, void *ctx)
{
    enc->write = write;
    enc->ctx = ctx;
    enc->n = 0;
}

void bnn_cobs_enc_put(bnn_cobs_enc_t *enc, const uint8_t *data, size_t len)
{
    size_t i;
    for (i = 0; i < len; ++i) {
        const uint8_t b = data[i];
        if (enc->n == 254u) {
            /* A full group followed by more data: code 0xFF, no implied zero. */
            enc_flush(enc);
        }
        if (b == 0u) {
            enc_flush(enc);
        } else {
            enc->block[1u + enc->n] = b;
            enc->n++;
        }
    }
}

void bnn_cobs_enc_end(bnn_cobs_enc_t *enc)
{
    enc_flush(enc);
}

typedef struct {
    uint8_t *dst;
    size_t cap;
    size_t len;
    int overflow;
} buf_sink_t;

static void buf_sink_write(void *ctx, const uint8_t *data, size_t len)
{
    buf_sink_t *s = (buf_sink_t *)ctx;
    size_t i;
    if (s->overflow || len > s->cap - s->len) {
        s->overflow = 1;
        return;
    }
    for (i = 0; i < len; ++i) {
        s->dst[s->len + i] = data[i];
    }
    s->len += len;
}

size_t bnn_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t dst_cap)
{
    bnn_cobs_enc_t enc;
    buf_sink_t sink;
    sink.dst = dst;
    sink.cap = dst_cap;
    sink.len = 0;
    sink.overflow = 0;
    bnn_cobs_enc_begin(&enc, buf_sink_write, &sink);
    bnn_cobs_enc_put(&enc, src, len);
    bnn_cobs_enc_end(&enc);
    return sink.overflow ? 0u : sink.len;
}

void bnn_cobs_dec_reset(bnn_cobs_dec_t *dec)
{
    dec->code = 0;
    dec->remaining = 0;
}

int bnn_cobs_dec_push(bnn_cobs_dec_t *dec, uint8_t in)
{
    if (dec->remaining == 0u) {
        /* A code byte. The previous group implied a zero unless it was full (0xFF) or there was none:
         * now that another group follows, that zero is certain. */
        const int zero = (dec->code != 0u && dec->code != 0xFFu);
        dec->code = in;
        dec->remaining = (uint8_t)(in - 1u);
        return zero ? 0 : BNN_COBS_NONE;
    }
    dec->remaining--;
    return in;
}

int bnn_cobs_dec_complete(const bnn_cobs_dec_t *dec)
{
    return dec->remaining == 0u;
}

long bnn_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t dst_cap)
{
    bnn_cobs_dec_t dec;
    size_t i;
    size_t n = 0;
    bnn_cobs_dec_reset(&dec);
    for (i = 0; i < len; ++i) {
        int out;
        if (src[i] == 0u) {
            return -1;
        }
        out = bnn_cobs_dec_push(&dec, src[i]);
        if (out != BNN_COBS_NONE) {
            if (n >= dst_cap) {
                return -1;
            }
            dst[n++] = (uint8_t)out;
        }
    }
    return bnn_cobs_dec_complete(&dec) ? (long)n : -1;
}
