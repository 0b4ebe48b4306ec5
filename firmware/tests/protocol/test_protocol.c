/*
 * Checks firmware/src/protocol against the shared vectors (tests/vectors/protocol.json rendered into
 * vectors.h by tools/gen_protocol_vectors.py). Prints one line per failure and a verdict line; exit
 * status 0 only if everything passed. Host build (tests/test_protocol_c.py):
 *   gcc -std=c99 -Wall -Wextra -Werror -fsanitize=address,undefined -Ifirmware/include \
 *       firmware/tests/protocol/test_protocol.c firmware/src/protocol/bnn_{cobs,crc32,frame}.c
 * Receive buffers are malloc'd with exactly the capacity under test so ASan sees any overrun.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnn/bnn_cobs.h"
#include "bnn/bnn_crc32.h"
#include "bnn/bnn_frame.h"
#include "vectors.h"

static int failures;
static int checks;

#define CHECK(cond, name, what)                                                                  \
    do {                                                                                         \
        ++checks;                                                                                \
        if (!(cond)) {                                                                           \
            ++failures;                                                                          \
            printf("FAIL %s: %s (%s:%d)\n", (name), (what), __FILE__, __LINE__);                 \
        }                                                                                        \
    } while (0)

static int bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0u || memcmp(a, b, alen) == 0);
}

/* A growable-free sink: fixed buffer big enough for every vector. */
typedef struct {
    uint8_t data[8192];
    size_t len;
    int overflow;
    size_t calls;
} sink_t;

static void sink_write(void *ctx, const uint8_t *data, size_t len)
{
    sink_t *s = (sink_t *)ctx;
    s->calls++;
    if (len > sizeof s->data - s->len) {
        s->overflow = 1;
        return;
    }
    memcpy(s->data + s->len, data, len);
    s->len += len;
}

static void test_cobs(void)
{
    size_t i;
    for (i = 0; i < VEC_COUNT(vec_cobs); ++i) {
        const vec_cobs_t *v = &vec_cobs[i];
        const uint8_t *dec = vec_data + v->dec_off;
        const uint8_t *enc = vec_data + v->enc_off;
        uint8_t *out = (uint8_t *)malloc(BNN_COBS_MAX(v->dec_len));
        uint8_t *back = (uint8_t *)malloc(v->dec_len + 1u);
        size_t n;
        long m;
        sink_t *sink = (sink_t *)calloc(1, sizeof *sink);
        bnn_cobs_enc_t enc_state;
        size_t k;

        n = bnn_cobs_encode(dec, v->dec_len, out, BNN_COBS_MAX(v->dec_len));
        CHECK(bytes_eq(out, n, enc, v->enc_len), v->name, "one-shot encode");
        CHECK(n <= BNN_COBS_MAX(v->dec_len), v->name, "encode within BNN_COBS_MAX");
        if (v->enc_len > 1u) {
            CHECK(bnn_cobs_encode(dec, v->dec_len, out, v->enc_len - 1u) == 0u, v->name,
                  "encode reports a too-small buffer");
        }

        bnn_cobs_enc_begin(&enc_state, sink_write, sink);
        for (k = 0; k < v->dec_len; ++k) { /* byte by byte: state must carry across calls */
            bnn_cobs_enc_put(&enc_state, dec + k, 1u);
        }
        bnn_cobs_enc_end(&enc_state);
        CHECK(!sink->overflow && bytes_eq(sink->data, sink->len, enc, v->enc_len), v->name,
              "streaming encode");

        m = bnn_cobs_decode(enc, v->enc_len, back, v->dec_len + 1u);
        CHECK(m >= 0 && bytes_eq(back, (size_t)m, dec, v->dec_len), v->name, "one-shot decode");
        if (v->dec_len > 0u) {
            CHECK(bnn_cobs_decode(enc, v->enc_len, back, v->dec_len - 1u) == -1, v->name,
                  "decode reports a too-small buffer");
        }
        if (v->enc_len > 1u && enc[0] > 1u) {
            CHECK(bnn_cobs_decode(enc, (size_t)enc[0] - 1u, back, v->dec_len + 1u) == -1, v->name,
                  "decode rejects a truncated group");
        }
        free(out);
        free(back);
        free(sink);
    }
}

static void test_crc(void)
{
    size_t i;
    for (i = 0; i < VEC_COUNT(vec_crc); ++i) {
        const vec_crc_t *v = &vec_crc[i];
        const uint8_t *d = vec_data + v->off;
        uint32_t c = BNN_CRC32_INIT;
        size_t k;
        CHECK(bnn_crc32(d, v->len) == v->crc, v->name, "crc32");
        for (k = 0; k < v->len; ++k) {
            c = bnn_crc32_update(c, d + k, 1u);
        }
        CHECK(c == v->crc, v->name, "crc32 incremental");
    }
}

static void test_frames(void)
{
    size_t i;
    for (i = 0; i < VEC_COUNT(vec_frames); ++i) {
        const vec_frame_t *v = &vec_frames[i];
        const uint8_t *payload = vec_data + v->payload_off;
        const uint8_t *wire = vec_data + v->wire_off;
        sink_t *sink = (sink_t *)calloc(1, sizeof *sink);
        bnn_frame_tx_t tx;
        bnn_frame_rx_t rx;
        bnn_frame_t fr;
        uint8_t *buf = (uint8_t *)malloc(BNN_FRAME_BODY_MAX(v->payload_len));
        size_t k;
        int frames = 0;
        int errors = 0;

        bnn_frame_send(sink_write, sink, v->type, v->seq, payload, v->payload_len);
        CHECK(!sink->overflow && bytes_eq(sink->data, sink->len, wire, v->wire_len), v->name,
              "bnn_frame_send wire bytes");
        CHECK(sink->len <= BNN_FRAME_WIRE_MAX(v->payload_len), v->name, "within BNN_FRAME_WIRE_MAX");

        memset(sink, 0, sizeof *sink);
        bnn_frame_tx_begin(&tx, sink_write, sink, v->type, v->seq);
        for (k = 0; k < v->payload_len; ++k) {
            bnn_frame_tx_put_u8(&tx, payload[k]);
        }
        bnn_frame_tx_end(&tx);
        CHECK(!sink->overflow && bytes_eq(sink->data, sink->len, wire, v->wire_len), v->name,
              "streamed tx wire bytes");

        /* The receiver with exactly this payload's capacity takes the frame. */
        bnn_frame_rx_init(&rx, buf, BNN_FRAME_BODY_MAX(v->payload_len));
        for (k = 0; k < v->wire_len; ++k) {
            bnn_frame_rx_event_t ev = bnn_frame_rx_feed(&rx, wire[k], &fr);
            if (ev == BNN_FRAME_RX_FRAME) {
                ++frames;
                CHECK(fr.type == v->type && fr.seq == v->seq &&
                          bytes_eq(fr.payload, fr.len, payload, v->payload_len),
                      v->name, "rx frame content");
            } else if (ev == BNN_FRAME_RX_ERROR) {
                ++errors;
            }
        }
        CHECK(frames == 1 && errors == 0, v->name, "rx exactly one frame at exact capacity");
        free(buf);
        free(sink);
    }
}

static void test_streams(void)
{
    size_t i;
    for (i = 0; i < VEC_COUNT(vec_streams); ++i) {
        const vec_stream_t *v = &vec_streams[i];
        const uint8_t *wire = vec_data + v->wire_off;
        const size_t cap = BNN_FRAME_BODY_MAX(v->max_payload);
        uint8_t *buf = (uint8_t *)malloc(cap);
        bnn_frame_rx_t rx;
        bnn_frame_t fr;
        size_t k;
        size_t got = 0;
        char what[160];

        bnn_frame_rx_init(&rx, buf, cap);
        for (k = 0; k < v->wire_len; ++k) {
            bnn_frame_rx_event_t ev = bnn_frame_rx_feed(&rx, wire[k], &fr);
            const vec_event_t *want;
            if (ev == BNN_FRAME_RX_NONE) {
                continue;
            }
            if (got >= v->ev_count) {
                snprintf(what, sizeof what, "unexpected extra event %u at byte %u", (unsigned)got,
                         (unsigned)k);
                CHECK(0, v->name, what);
                ++got;
                continue;
            }
            want = &vec_events[v->ev_first + got];
            snprintf(what, sizeof what, "event %u at byte %u", (unsigned)got, (unsigned)k);
            if (want->kind == VEC_EV_FRAME) {
                CHECK(ev == BNN_FRAME_RX_FRAME && fr.type == want->type && fr.seq == want->seq &&
                          bytes_eq(fr.payload, fr.len, vec_data + want->payload_off, want->payload_len),
                      v->name, what);
            } else {
                if (!(ev == BNN_FRAME_RX_ERROR && fr.error == want->code && fr.detail == want->detail &&
                      fr.seq == want->seq)) {
                    printf("  got ev %d code %u detail %lu seq %u; want code %u detail %lu seq %u\n", (int)ev,
                           (unsigned)fr.error, (unsigned long)fr.detail, (unsigned)fr.seq,
                           (unsigned)want->code, (unsigned long)want->detail, (unsigned)want->seq);
                }
                CHECK(ev == BNN_FRAME_RX_ERROR && fr.error == want->code && fr.detail == want->detail &&
                          fr.seq == want->seq,
                      v->name, what);
            }
            ++got;
        }
        snprintf(what, sizeof what, "%u events, want %u", (unsigned)got, (unsigned)v->ev_count);
        CHECK(got == v->ev_count, v->name, what);
        free(buf);
    }
}

static void test_error_reply(void)
{
    /* An ERROR reply built by the sender decodes as one by the receiver. */
    sink_t *sink = (sink_t *)calloc(1, sizeof *sink);
    uint8_t buf[BNN_FRAME_BODY_MAX(BNN_MSG_ERROR_BYTES)];
    bnn_frame_rx_t rx;
    bnn_frame_t fr;
    size_t k;
    int ok = 0;
    bnn_frame_send_error(sink_write, sink, 7u, (uint8_t)BNN_PROTO_ERR_BAD_LENGTH, 0x01020304u);
    bnn_frame_rx_init(&rx, buf, sizeof buf);
    for (k = 0; k < sink->len; ++k) {
        if (bnn_frame_rx_feed(&rx, sink->data[k], &fr) == BNN_FRAME_RX_FRAME) {
            ok = fr.type == BNN_MSG_ERROR && fr.seq == 7u && fr.len == 5u &&
                 fr.payload[0] == BNN_PROTO_ERR_BAD_LENGTH && fr.payload[1] == 4u && fr.payload[4] == 1u;
        }
    }
    CHECK(ok, "error_reply", "send_error round trip");
    free(sink);
}

int main(void)
{
    test_cobs();
    test_crc();
    test_frames();
    test_streams();
    test_error_reply();
    printf("%d checks, %d failures\n", checks, failures);
    if (failures != 0) {
        printf("~~~SOME TESTS FAILED~~~\n");
        return 1;
    }
    printf("~~~ALL TESTS PASSED~~~\n");
    return 0;
}
