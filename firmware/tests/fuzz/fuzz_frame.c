/*
 * Fuzz target: the receive path of docs/PROTOCOL.md, i.e. the code that consumes UART bytes on the
 * target (bnn_frame_rx_feed: frame accumulation, incremental COBS decode, length limit, CRC check), and
 * the one-shot COBS codec.
 *
 * Input: data[0] is max_payload (0..255, so receive buffers of 6..261 bytes: the length limit and the
 * 254-byte COBS group boundary both lie within reach); data[1..] is the byte stream from the UART.
 * The target feeds   stream 0x00 probe   byte by byte to a receiver whose buffer is malloc'd with exactly
 * BNN_FRAME_BODY_MAX(max_payload) bytes (so ASan sees any overrun). probe is a valid frame built with the
 * C sender. It asserts (CHECK: abort on violation, so the fuzzer checks behaviour, not just crashes):
 *
 *  1. Memory: nothing is stored outside the receive buffer (ASan, and rx.len <= rx.cap after every byte);
 *     an accepted frame's payload and CRC lie inside the buffer: its body is <= max_payload + 6 bytes.
 *  2. Events come only at a 0x00, and each delimiter yields exactly the event that an independent
 *     reference (ref_segment) computes from the whole segment since the previous 0x00: it decodes COBS a
 *     group at a time (the receiver: a byte at a time), uses its own CRC table built bit by bit from the
 *     polynomial, and applies PROTOCOL.md's precedence TOO_LONG, BAD_COBS, SHORT, BAD_CRC. Same kind,
 *     code, detail, seq, type and payload. So an accepted frame always has a valid CRC, and an empty
 *     segment (00 00) yields nothing.
 *  3. Resynchronisation: whatever garbage came first, 0x00 then a valid frame yields exactly that frame,
 *     and after every delimiter the receiver is back in its initial state (nothing carries over).
 *  4. One-shot codec: bnn_cobs_decode of every segment into exactly cap bytes agrees with the reference
 *     (the bytes, or -1 for a cut group or a too-small buffer, which it must not overrun); bnn_cobs_encode
 *     of the stream bytes has no 0x00, fits BNN_COBS_MAX, decodes back and reports a too-small buffer;
 *     the sender's probe fits BNN_FRAME_WIRE_MAX with no 0x00 before its delimiter.
 */
#include "fuzz_frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnn/bnn_cobs.h"
#include "bnn/bnn_crc32.h"
#include "bnn/bnn_frame.h"

fuzz_stats_t fuzz_stats;
int fuzz_keep_going;

static const uint8_t *cur_data; /* the input being checked, printed with a violation */
static size_t cur_size;

static void violation(const char *what, int line)
{
    size_t i;
    fuzz_stats.violations++;
    fprintf(stderr, "VIOLATION fuzz_frame.c:%d: %s\n", line, what);
    if (fuzz_stats.violations == 1u) {
        fprintf(stderr, "input (%lu bytes, max_payload = first byte):", (unsigned long)cur_size);
        for (i = 0; i < cur_size && i < 1024u; ++i) {
            fprintf(stderr, "%s%02x", (i % 32u) ? "" : "\n  ", cur_data[i]);
        }
        fprintf(stderr, "\n");
    }
    if (!fuzz_keep_going) {
        abort();
    }
}

#define CHECK(cond, what)                      \
    do {                                       \
        if (!(cond)) {                         \
            violation((what), __LINE__);       \
        }                                      \
    } while (0)

static void *xmalloc(size_t n)
{
    void *p = malloc(n != 0u ? n : 1u);
    if (p == NULL) {
        abort();
    }
    return p;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* ------------------------------------------------------------------------------------ the reference */
/* CRC-32 with a byte table derived bit by bit from the reflected polynomial, not bnn_crc32's nibble
 * table: a wrong table constant makes sender and receiver agree with each other, not with this. */
static uint32_t ref_crc32(const uint8_t *p, size_t n)
{
    static uint32_t table[256];
    uint32_t c = 0xFFFFFFFFu;
    size_t i;
    if (table[1] == 0u) {
        uint32_t k;
        for (k = 0; k < 256u; ++k) {
            uint32_t v = k;
            int bit;
            for (bit = 0; bit < 8; ++bit) {
                v = (v & 1u) ? (v >> 1) ^ 0xEDB88320u : (v >> 1);
            }
            table[k] = v;
        }
    }
    for (i = 0; i < n; ++i) {
        c = (c >> 8) ^ table[(c ^ p[i]) & 0xFFu];
    }
    return ~c;
}

typedef struct {
    bnn_frame_rx_event_t ev;
    uint8_t code;    /* ERROR: the bnn_proto_error_t */
    uint32_t detail; /* ERROR: its detail */
    uint8_t seq;
    uint8_t type;     /* FRAME */
    size_t len;       /* FRAME: payload bytes, at body + 2 */
    size_t body_len;  /* decoded length, ignoring the buffer limit */
    int cut;          /* the last COBS group was cut short */
} ref_t;

/* What the receiver must report at the delimiter ending seg[0..n) (no 0x00 inside). body needs n bytes:
 * COBS never decodes to more bytes than it encodes (each code byte yields at most its implied zero). */
static void ref_segment(const uint8_t *seg, size_t n, size_t cap, uint8_t *body, ref_t *r)
{
    size_t i = 0;
    size_t len = 0;
    uint8_t prev_code = 0; /* 0: no group yet */

    memset(r, 0, sizeof *r);
    r->ev = BNN_FRAME_RX_NONE;
    if (n == 0u) {
        return; /* 00 00: ignored */
    }
    while (i < n) {
        const size_t want = (size_t)seg[i] - 1u; /* data bytes the code byte announces */
        const size_t have = n - i - 1u;
        const size_t take = (want < have) ? want : have;
        if (prev_code != 0u && prev_code != 0xFFu) {
            body[len++] = 0u; /* another group follows: the zero the previous one implied is real */
        }
        memcpy(body + len, seg + i + 1u, take);
        len += take;
        r->cut = (take < want);
        prev_code = seg[i];
        i += 1u + take;
    }
    r->body_len = len;
    r->seq = (len >= 2u) ? body[1] : 0u; /* cap >= 6: the first two body bytes are always stored */
    r->ev = BNN_FRAME_RX_ERROR;
    if (len > cap) {
        r->code = BNN_PROTO_ERR_TOO_LONG;
        r->detail = (n > 0xFFFFFFFFu) ? 0xFFFFFFFFu : (uint32_t)n;
    } else if (r->cut) {
        r->code = BNN_PROTO_ERR_BAD_COBS;
        r->detail = (uint32_t)n;
    } else if (len < BNN_FRAME_OVERHEAD) {
        r->code = BNN_PROTO_ERR_SHORT;
        r->detail = (uint32_t)len;
    } else if (ref_crc32(body, len - BNN_FRAME_CRC_BYTES) != le32(body + len - BNN_FRAME_CRC_BYTES)) {
        r->code = BNN_PROTO_ERR_BAD_CRC;
        r->detail = le32(body + len - BNN_FRAME_CRC_BYTES);
    } else {
        r->ev = BNN_FRAME_RX_FRAME;
        r->type = body[0];
        r->len = len - BNN_FRAME_OVERHEAD;
    }
}

/* ------------------------------------------------------------------------------------------ checks */
/* The event the receiver gave at the delimiter after seg[0..n), against the reference. body and tmp are
 * scratch: body >= n bytes, tmp exactly rx->cap bytes (ASan-sized for bnn_cobs_decode). */
static void check_segment(const uint8_t *seg, size_t n, const bnn_frame_rx_t *rx, bnn_frame_rx_event_t ev,
                          const bnn_frame_t *fr, uint8_t *body, uint8_t *tmp, int count)
{
    ref_t r;
    long m;
    long want;

    ref_segment(seg, n, rx->cap, body, &r);
    CHECK(ev == r.ev, "event kind differs from the reference (frame/error/none)");
    if (ev == r.ev && ev == BNN_FRAME_RX_ERROR) {
        CHECK(fr->error == r.code, "error code differs from the reference (precedence?)");
        CHECK(fr->detail == r.detail, "error detail differs from the reference");
        CHECK(fr->seq == r.seq, "error seq differs from the reference");
        if (count && fr->error < 5u) {
            fuzz_stats.errors[fr->error]++;
        }
    } else if (ev == r.ev && ev == BNN_FRAME_RX_FRAME) {
        const size_t body_len = fr->len + BNN_FRAME_OVERHEAD;
        CHECK(body_len <= rx->cap, "accepted a frame longer than the receive buffer");
        CHECK(fr->payload == rx->buf + BNN_FRAME_HEADER_BYTES, "payload does not point into the buffer");
        if (body_len <= rx->cap && fr->payload == rx->buf + BNN_FRAME_HEADER_BYTES) {
            /* Whatever the reference says: the accepted body carries its own CRC. */
            CHECK(ref_crc32(rx->buf, body_len - BNN_FRAME_CRC_BYTES) ==
                      le32(rx->buf + body_len - BNN_FRAME_CRC_BYTES),
                  "accepted a frame whose CRC does not match");
            CHECK(fr->type == r.type && fr->seq == r.seq && fr->len == r.len &&
                      memcmp(fr->payload, body + BNN_FRAME_HEADER_BYTES, r.len) == 0,
                  "accepted frame differs from the reference decode");
        }
        if (count) {
            fuzz_stats.frames++;
        }
    }

    /* The one-shot decoder on the same segment, into a buffer of exactly cap bytes. */
    m = bnn_cobs_decode(seg, n, tmp, rx->cap);
    want = (r.cut || r.body_len > rx->cap) ? -1L : (long)r.body_len;
    CHECK(m == want, "bnn_cobs_decode result differs from the reference");
    if (m == want && m >= 0) {
        CHECK(memcmp(tmp, body, (size_t)m) == 0, "bnn_cobs_decode bytes differ from the reference");
        fuzz_stats.cobs_ok++;
    }
}

typedef struct {
    uint8_t *p;
    size_t cap;
    size_t len;
    int overflow;
} sink_t;

static void sink_write(void *ctx, const uint8_t *data, size_t len)
{
    sink_t *s = (sink_t *)ctx;
    if (s->overflow || len > s->cap - s->len) {
        s->overflow = 1;
        return;
    }
    memcpy(s->p + s->len, data, len);
    s->len += len;
}

/* The encoder on arbitrary data (the stream bytes themselves). */
static void check_encoder(const uint8_t *in, size_t n)
{
    const size_t max = BNN_COBS_MAX(n);
    uint8_t *enc = (uint8_t *)xmalloc(max);
    uint8_t *dec = (uint8_t *)xmalloc(n);
    const size_t e = bnn_cobs_encode(in, n, enc, max);
    CHECK(e >= 1u && e <= max, "bnn_cobs_encode length outside 1..BNN_COBS_MAX(n)");
    if (e >= 1u && e <= max) {
        CHECK(memchr(enc, 0, e) == NULL, "COBS encoding contains 0x00");
        CHECK(bnn_cobs_decode(enc, e, dec, n) == (long)n && memcmp(dec, in, n) == 0,
              "COBS round trip changed the data");
        CHECK(bnn_cobs_encode(in, n, enc, e - 1u) == 0u, "encode into a too-small buffer not reported");
    }
    free(enc);
    free(dec);
}

/* ------------------------------------------------------------------------------------------ target */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const size_t max_payload = (size > 0u) ? data[0] : 0u;
    const size_t cap = BNN_FRAME_BODY_MAX(max_payload);
    const uint8_t *in = data + ((size > 0u) ? 1u : 0u);
    const size_t n = (size > 0u) ? size - 1u : 0u;
    /* The probe: a valid frame that must come through after whatever in[] left behind. */
    const uint8_t probe_type = (n > 0u) ? in[0] : (uint8_t)BNN_MSG_HELLO;
    const uint8_t probe_seq = (n > 1u) ? in[1] : 1u;
    const size_t probe_len = (n < max_payload) ? n : max_payload;
    sink_t wire;
    uint8_t *stream;
    uint8_t *buf;
    uint8_t *body;
    uint8_t *tmp;
    size_t total;
    size_t k;
    size_t seg_start = 0;
    bnn_frame_rx_t rx;
    bnn_frame_t fr;
    bnn_frame_rx_event_t last = BNN_FRAME_RX_NONE;

    cur_data = data;
    cur_size = size;
    fuzz_stats.inputs++;

    wire.cap = BNN_FRAME_WIRE_MAX(max_payload);
    wire.p = (uint8_t *)xmalloc(wire.cap);
    wire.len = 0;
    wire.overflow = 0;
    bnn_frame_send(sink_write, &wire, probe_type, probe_seq, in, probe_len);
    CHECK(!wire.overflow, "sender wrote more than BNN_FRAME_WIRE_MAX");
    CHECK(wire.len >= 2u && wire.p[wire.len - 1u] == 0u && memchr(wire.p, 0, wire.len - 1u) == NULL,
          "sender output is not COBS bytes then one 0x00");

    total = n + 1u + wire.len;
    stream = (uint8_t *)xmalloc(total);
    memcpy(stream, in, n);
    stream[n] = 0u; /* the flush the host sends before every frame */
    memcpy(stream + n + 1u, wire.p, wire.len);

    buf = (uint8_t *)xmalloc(cap); /* exactly the capacity under test */
    body = (uint8_t *)xmalloc(total);
    tmp = (uint8_t *)xmalloc(cap);
    memset(&fr, 0, sizeof fr);
    bnn_frame_rx_init(&rx, buf, cap);

    for (k = 0; k < total; ++k) {
        const bnn_frame_rx_event_t ev = bnn_frame_rx_feed(&rx, stream[k], &fr);
        CHECK(rx.len <= rx.cap, "receiver stored more than its buffer holds");
        if (stream[k] != 0u) {
            CHECK(ev == BNN_FRAME_RX_NONE, "event on a byte that is not a delimiter");
            continue;
        }
        CHECK(rx.len == 0u && rx.nraw == 0u && rx.overflow == 0u && bnn_cobs_dec_complete(&rx.dec),
              "receiver state carried over a delimiter");
        /* Count outcomes for the garbage part only: the probe always yields a frame. */
        check_segment(stream + seg_start, k - seg_start, &rx, ev, &fr, body, tmp, k <= n);
        last = ev;
        seg_start = k + 1u;
    }
    fuzz_stats.bytes += total;

    /* Resynchronisation, checked without the reference: the probe came through intact. */
    CHECK(last == BNN_FRAME_RX_FRAME && fr.type == probe_type && fr.seq == probe_seq && fr.len == probe_len &&
              memcmp(fr.payload, in, probe_len) == 0,
          "a valid frame after 0x00 was not decoded (no resynchronisation)");

    check_encoder(in, n);

    free(tmp);
    free(body);
    free(buf);
    free(stream);
    free(wire.p);
    return 0;
}
