/*
 * Frames of docs/PROTOCOL.md: on the wire COBS(type seq payload crc32le) 0x00.
 *
 * Receiver: a state machine fed one byte at a time. It decodes COBS as bytes arrive into a buffer the
 * caller owns (capacity BNN_FRAME_BODY_MAX(max_payload)); a frame that would overflow it stops being
 * stored and is reported as TOO_LONG at its delimiter. At each delimiter it reports, in this order of
 * precedence: TOO_LONG, BAD_COBS (a group cut short), SHORT (body < 6 bytes), BAD_CRC, else a frame.
 * Empty frames (two delimiters in a row) are ignored.
 *
 * Sender: streams type, seq, payload pieces and the CRC through a COBS encoder with a 255-byte block
 * buffer, so replies need no full-size transmit buffer.
 */
#ifndef BNN_FRAME_H
#define BNN_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "bnn/bnn_cobs.h"
#include "bnn/bnn_protocol_ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Receive-buffer bytes needed for payloads of up to max_payload bytes. */
#define BNN_FRAME_BODY_MAX(max_payload) ((size_t)(max_payload) + BNN_FRAME_OVERHEAD)
/* Upper bound on the wire size of a frame, delimiter included. */
#define BNN_FRAME_WIRE_MAX(max_payload) (BNN_COBS_MAX(BNN_FRAME_BODY_MAX(max_payload)) + 1u)

typedef enum {
    BNN_FRAME_RX_NONE = 0,  /* byte consumed, nothing complete yet */
    BNN_FRAME_RX_FRAME = 1, /* a valid frame: out->type, seq, payload, len */
    BNN_FRAME_RX_ERROR = 2  /* a rejected frame: out->error, detail, seq (0 if unreadable) */
} bnn_frame_rx_event_t;

typedef struct {
    uint8_t type;
    uint8_t seq;
    const uint8_t *payload; /* points into the receive buffer: valid until the next feed */
    size_t len;
    uint8_t error;          /* a bnn_proto_error_t, for BNN_FRAME_RX_ERROR */
    uint32_t detail;
} bnn_frame_t;

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;        /* decoded body bytes stored */
    uint32_t nraw;     /* encoded bytes of this frame (saturating) */
    bnn_cobs_dec_t dec;
    uint8_t overflow;
} bnn_frame_rx_t;

/* cap must be at least BNN_FRAME_OVERHEAD. */
void bnn_frame_rx_init(bnn_frame_rx_t *rx, uint8_t *buf, size_t cap);
bnn_frame_rx_event_t bnn_frame_rx_feed(bnn_frame_rx_t *rx, uint8_t byte, bnn_frame_t *out);

typedef struct {
    bnn_cobs_enc_t enc;
    uint32_t crc;
} bnn_frame_tx_t;

void bnn_frame_tx_begin(bnn_frame_tx_t *tx, bnn_write_fn write, void *ctx, uint8_t type, uint8_t seq);
void bnn_frame_tx_put(bnn_frame_tx_t *tx, const uint8_t *data, size_t len);
void bnn_frame_tx_put_u8(bnn_frame_tx_t *tx, uint8_t v);
void bnn_frame_tx_put_u16(bnn_frame_tx_t *tx, uint16_t v); /* little-endian */
void bnn_frame_tx_put_u32(bnn_frame_tx_t *tx, uint32_t v); /* little-endian */
void bnn_frame_tx_put_i32(bnn_frame_tx_t *tx, int32_t v);  /* little-endian two's complement */
/* Appends the CRC, flushes the encoder and writes the 0x00 delimiter. */
void bnn_frame_tx_end(bnn_frame_tx_t *tx);

/* One-call forms. */
void bnn_frame_send(bnn_write_fn write, void *ctx, uint8_t type, uint8_t seq, const uint8_t *payload,
                    size_t len);
void bnn_frame_send_error(bnn_write_fn write, void *ctx, uint8_t seq, uint8_t code, uint32_t detail);

#ifdef __cplusplus
}
#endif

#endif /* BNN_FRAME_H */
