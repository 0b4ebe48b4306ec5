/* Frame receiver and sender; see bnn/bnn_frame.h and docs/PROTOCOL.md. */
#include "bnn/bnn_frame.h"

#include "bnn/bnn_crc32.h"

static void rx_reset(bnn_frame_rx_t *rx)
{
    rx->len = 0;
    rx->nraw = 0;
    rx->overflow = 0;
    bnn_cobs_dec_reset(&rx->dec);
}

void bnn_frame_rx_init(bnn_frame_rx_t *rx, uint8_t *buf, size_t cap)
{
    rx->buf = buf;
    rx->cap = cap;
    rx_reset(rx);
}

static uint32_t load_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static bnn_frame_rx_event_t rx_error(bnn_frame_t *out, uint8_t seq, uint8_t code, uint32_t detail)
{
    out->type = 0;
    out->seq = seq;
    out->payload = 0;
    out->len = 0;
    out->error = code;
    out->detail = detail;
    return BNN_FRAME_RX_ERROR;
}

static bnn_frame_rx_event_t rx_finish(const bnn_frame_rx_t *rx, bnn_frame_t *out)
{
    const size_t len = rx->len;
    const uint8_t seq = (len >= 2u) ? rx->buf[1] : (uint8_t)0u;
    uint32_t carried;

    if (rx->overflow) {
        return rx_error(out, seq, BNN_PROTO_ERR_TOO_LONG, rx->nraw);
    }
    if (!bnn_cobs_dec_complete(&rx->dec)) {
        return rx_error(out, seq, BNN_PROTO_ERR_BAD_COBS, rx->nraw);
    }
    if (len < BNN_FRAME_OVERHEAD) {
        return rx_error(out, seq, BNN_PROTO_ERR_SHORT, (uint32_t)len);
    }
    carried = load_u32le(rx->buf + len - BNN_FRAME_CRC_BYTES);
    if (bnn_crc32(rx->buf, len - BNN_FRAME_CRC_BYTES) != carried) {
        return rx_error(out, seq, BNN_PROTO_ERR_BAD_CRC, carried);
    }
    out->type = rx->buf[0];
    out->seq = seq;
    out->payload = rx->buf + BNN_FRAME_HEADER_BYTES;
    out->len = len - BNN_FRAME_OVERHEAD;
    out->error = 0;
    out->detail = 0;
    return BNN_FRAME_RX_FRAME;
}

bnn_frame_rx_event_t bnn_frame_rx_feed(bnn_frame_rx_t *rx, uint8_t byte, bnn_frame_t *out)
{
    int decoded;
    if (byte == 0u) {
        bnn_frame_rx_event_t ev = BNN_FRAME_RX_NONE;
        if (rx->nraw != 0u) { /* an empty frame (00 00) is ignored */
            ev = rx_finish(rx, out);
        }
        rx_reset(rx);
        return ev;
    }
    if (rx->nraw != UINT32_MAX) {
        rx->nraw++;
    }
    decoded = bnn_cobs_dec_push(&rx->dec, byte);
    if (decoded != BNN_COBS_NONE) {
        if (rx->len < rx->cap) {
            rx->buf[rx->len++] = (uint8_t)decoded;
        } else {
            rx->overflow = 1; /* keep counting, store nothing until the delimiter */
        }
    }
    return BNN_FRAME_RX_NONE;
}

void bnn_frame_tx_begin(bnn_frame_tx_t *tx, bnn_write_fn write, void *ctx, uint8_t type, uint8_t seq)
{
    uint8_t head[2];
    head[0] = type;
    head[1] = seq;
    bnn_cobs_enc_begin(&tx->enc, write, ctx);
    tx->crc = BNN_CRC32_INIT;
    bnn_frame_tx_put(tx, head, sizeof head);
}

void bnn_frame_tx_put(bnn_frame_tx_t *tx, const uint8_t *data, size_t len)
{
    tx->crc = bnn_crc32_update(tx->crc, data, len);
    bnn_cobs_enc_put(&tx->enc, data, len);
}

void bnn_frame_tx_put_u8(bnn_frame_tx_t *tx, uint8_t v)
{
    bnn_frame_tx_put(tx, &v, 1u);
}

void bnn_frame_tx_put_u16(bnn_frame_tx_t *tx, uint16_t v)
{
    uint8_t b[2];
    b[0] = (uint8_t)(v & 0xFFu);
    b[1] = (uint8_t)(v >> 8);
    bnn_frame_tx_put(tx, b, sizeof b);
}

static void store_u32le(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v & 0xFFu);
    b[1] = (uint8_t)((v >> 8) & 0xFFu);
    b[2] = (uint8_t)((v >> 16) & 0xFFu);
    b[3] = (uint8_t)(v >> 24);
}

void bnn_frame_tx_put_u32(bnn_frame_tx_t *tx, uint32_t v)
{
    uint8_t b[4];
    store_u32le(b, v);
    bnn_frame_tx_put(tx, b, sizeof b);
}

void bnn_frame_tx_put_i32(bnn_frame_tx_t *tx, int32_t v)
{
    bnn_frame_tx_put_u32(tx, (uint32_t)v); /* conversion to unsigned is modulo 2^32: two's complement */
}

void bnn_frame_tx_end(bnn_frame_tx_t *tx)
{
    static const uint8_t delimiter = 0u;
    uint8_t b[4];
    store_u32le(b, tx->crc);
    bnn_cobs_enc_put(&tx->enc, b, sizeof b); /* the CRC is not part of what it covers */
    bnn_cobs_enc_end(&tx->enc);
    tx->enc.write(tx->enc.ctx, &delimiter, 1u);
}

void bnn_frame_send(bnn_write_fn write, void *ctx, uint8_t type, uint8_t seq, const uint8_t *payload,
                    size_t len)
{
    bnn_frame_tx_t tx;
    bnn_frame_tx_begin(&tx, write, ctx, type, seq);
    bnn_frame_tx_put(&tx, payload, len);
    bnn_frame_tx_end(&tx);
}

void bnn_frame_send_error(bnn_write_fn write, void *ctx, uint8_t seq, uint8_t code, uint32_t detail)
{
    bnn_frame_tx_t tx;
    bnn_frame_tx_begin(&tx, write, ctx, (uint8_t)BNN_MSG_ERROR, seq);
    bnn_frame_tx_put_u8(&tx, code);
    bnn_frame_tx_put_u32(&tx, detail);
    bnn_frame_tx_end(&tx);
}
