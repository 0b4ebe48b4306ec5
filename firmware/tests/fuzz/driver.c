/*
 * Seeded mutational driver for fuzz_frame.c: no libFuzzer (and no clang) needed. Each "frame" it
 * generates is one input for LLVMFuzzerTestOneInput: a max_payload byte, then a stream built from valid
 * frames encoded with the C sender (payloads at, under and over the limit, around the 254-byte COBS group,
 * all zeros, no zeros), then mutated: bit flips, byte changes, inserts, deletes, truncation, injected 0x00
 * delimiters, dropped delimiters, splices of two frames, duplicated chunks, oversize runs. One input in
 * sixteen is plain random bytes. Same seed, same inputs.
 *
 *   fuzz_driver [-n FRAMES] [-s SEED] [-k]   run; -k: count violations instead of aborting at the first
 *   fuzz_driver --emit DIR COUNT [-s SEED]   write COUNT generated inputs to DIR (a libFuzzer seed corpus)
 *
 * Prints one summary line (fuzz_driver: frames=... violations=... and how often each outcome occurred);
 * exit status 0 only without violations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bnn/bnn_frame.h"
#include "fuzz_frame.h"

#define STREAM_MAX 4095u /* stream bytes per input (the input adds the max_payload byte) */

/* ------------------------------------------------------------------------------------------- random */
typedef struct {
    unsigned long long s;
} rng_t;

static unsigned long long rnd(rng_t *r) /* splitmix64 */
{
    unsigned long long z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static size_t below(rng_t *r, size_t n) /* 0..n-1; 0 for n = 0 */
{
    return (n != 0u) ? (size_t)(rnd(r) % n) : 0u;
}

/* ------------------------------------------------------------------------------ bounded byte buffer */
typedef struct {
    uint8_t p[STREAM_MAX];
    size_t len;
} stream_t;

static void s_insert(stream_t *s, size_t pos, const uint8_t *src, size_t n)
{
    if (pos > s->len) {
        pos = s->len;
    }
    if (n > STREAM_MAX - s->len) {
        n = STREAM_MAX - s->len; /* inputs are bounded: drop what does not fit */
    }
    memmove(s->p + pos + n, s->p + pos, s->len - pos);
    memcpy(s->p + pos, src, n);
    s->len += n;
}

static void s_write(void *ctx, const uint8_t *data, size_t len) /* a bnn_write_fn */
{
    stream_t *s = (stream_t *)ctx;
    s_insert(s, s->len, data, len);
}

/* ----------------------------------------------------------------------------------------- frames */
static size_t pick_max_payload(rng_t *r)
{
    switch (below(r, 8)) {
    case 0: return 248u + below(r, 8); /* room for a 254-byte COBS group */
    case 1: return below(r, 256);
    case 2:
    case 3: return below(r, 64);
    default: return below(r, 16);
    }
}

static size_t pick_payload_len(rng_t *r, size_t max_payload)
{
    switch (below(r, 8)) {
    case 0: return 0u;
    case 1: return max_payload;      /* exactly at the limit: accepted */
    case 2: return max_payload + 1u; /* one over: TOO_LONG */
    case 3: return max_payload + 2u + below(r, 40);
    case 4: return (max_payload >= 248u) ? 248u + below(r, 12) : below(r, 8); /* around the 254-byte group */
    default: return below(r, max_payload + 1u);
    }
}

static void append_frame(rng_t *r, stream_t *s, size_t max_payload)
{
    static const uint8_t types[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x7F, 0x81, 0x82, 0x83, 0x85};
    uint8_t payload[300];
    const size_t len = pick_payload_len(r, max_payload);
    const size_t style = below(r, 4);
    const uint8_t type = below(r, 4) ? types[below(r, sizeof types)] : (uint8_t)rnd(r);
    size_t i;
    for (i = 0; i < len; ++i) {
        switch (style) {
        case 0: payload[i] = (uint8_t)rnd(r); break;
        case 1: payload[i] = below(r, 4) ? (uint8_t)rnd(r) : 0u; break;
        case 2: payload[i] = 0u; break;
        default: payload[i] = (uint8_t)(1u + below(r, 255)); break; /* no zeros: full 254-byte groups */
        }
    }
    if (below(r, 2)) {
        s_write(s, (const uint8_t *)"", 1u); /* the host's leading flush */
    }
    bnn_frame_send(s_write, s, type, (uint8_t)rnd(r), payload, len);
}

static void append_garbage(rng_t *r, stream_t *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        const uint8_t b = below(r, 16) ? (uint8_t)rnd(r) : 0u;
        s_insert(s, s->len, &b, 1u);
    }
}

static void mutate(rng_t *r, stream_t *s, size_t max_payload)
{
    const size_t pos = below(r, s->len + 1u); /* an insertion point; < len for the ops that need a byte */
    const int have = pos < s->len;
    uint8_t b;
    switch (below(r, 13)) {
    case 0: /* flip a bit */
        if (have) {
            s->p[pos] ^= (uint8_t)(1u << below(r, 8));
        }
        break;
    case 1: /* a random byte */
        if (have) {
            s->p[pos] = (uint8_t)rnd(r);
        }
        break;
    case 2: /* insert a random byte */
        b = (uint8_t)rnd(r);
        s_insert(s, pos, &b, 1u);
        break;
    case 3: /* delete a byte */
        if (have) {
            memmove(s->p + pos, s->p + pos + 1u, s->len - pos - 1u);
            s->len--;
        }
        break;
    case 4: /* truncate */
        s->len = pos;
        break;
    case 5: /* inject a delimiter */
        s_insert(s, pos, (const uint8_t *)"", 1u);
        break;
    case 6: /* a byte becomes an extreme COBS code */
        if (have) {
            s->p[pos] = below(r, 2) ? 0x01u : 0xFFu;
        }
        break;
    case 7: /* another frame right behind (splice at the end) */
        append_frame(r, s, max_payload);
        break;
    case 8: { /* cut here and continue with the tail of another frame */
        stream_t other;
        size_t from;
        other.len = 0;
        append_frame(r, &other, max_payload);
        from = below(r, other.len);
        s->len = pos;
        s_insert(s, s->len, other.p + from, other.len - from);
        break;
    }
    case 9: { /* duplicate a chunk */
        uint8_t chunk[64];
        const size_t from = below(r, s->len);
        size_t n = 1u + below(r, sizeof chunk);
        if (n > s->len - from) {
            n = s->len - from;
        }
        memcpy(chunk, s->p + from, n);
        s_insert(s, pos, chunk, n);
        break;
    }
    case 10: { /* oversize: a long run without a delimiter */
        uint8_t run[320]; /* 255 + 6 + 1 + 39 at most */
        const size_t n = max_payload + BNN_FRAME_OVERHEAD + 1u + below(r, 40); /* > cap when decoded */
        size_t i;
        for (i = 0; i < n; ++i) {
            run[i] = (uint8_t)(1u + below(r, 255));
        }
        s_insert(s, pos, run, n);
        break;
    }
    case 11: /* drop the final delimiter: the frame runs into whatever follows */
        if (s->len > 0u && s->p[s->len - 1u] == 0u) {
            s->len--;
        }
        break;
    default: /* a trailing 0x01 group before the delimiter (the non-canonical end, or one zero too many) */
        if (s->len > 0u) {
            s_insert(s, s->len - 1u, (const uint8_t *)"\x01", 1u);
        }
        break;
    }
}

/* One input: out[0] = max_payload, out[1..] = the stream. Returns its length. */
static size_t gen_input(rng_t *r, uint8_t *out)
{
    static stream_t s;
    const size_t max_payload = pick_max_payload(r);
    const size_t kind = below(r, 16);
    s.len = 0;
    if (kind == 0u) {
        append_garbage(r, &s, below(r, 300));
    } else {
        const size_t nframes = 1u + below(r, 2);
        const size_t nmut = (kind < 4u) ? 0u : 1u + below(r, 4); /* some inputs stay clean */
        size_t i;
        for (i = 0; i < nframes; ++i) {
            if (below(r, 8) == 0u) {
                append_garbage(r, &s, below(r, 40));
            }
            append_frame(r, &s, max_payload);
        }
        for (i = 0; i < nmut; ++i) {
            mutate(r, &s, max_payload);
        }
    }
    out[0] = (uint8_t)max_payload;
    memcpy(out + 1, s.p, s.len);
    return 1u + s.len;
}

/* --------------------------------------------------------------------------------------------- main */
static int emit(const char *dir, unsigned long count, rng_t *r)
{
    static uint8_t in[1u + STREAM_MAX];
    unsigned long i;
    char path[4096];
    for (i = 0; i < count; ++i) {
        const size_t n = gen_input(r, in);
        FILE *f;
        snprintf(path, sizeof path, "%s/seed_%06lu", dir, i);
        f = fopen(path, "wb");
        if (f == NULL || fwrite(in, 1u, n, f) != n || fclose(f) != 0) {
            fprintf(stderr, "fuzz_driver: cannot write %s\n", path);
            return 2;
        }
    }
    printf("fuzz_driver: wrote %lu inputs to %s\n", count, dir);
    return 0;
}

int main(int argc, char **argv)
{
    static uint8_t in[1u + STREAM_MAX];
    unsigned long long frames = 1000000ull;
    unsigned long long seed = 1ull;
    unsigned long long i;
    const char *emit_dir = NULL;
    unsigned long emit_count = 0;
    rng_t r;
    clock_t t0;
    double cpu;
    int a;

    for (a = 1; a < argc; ++a) {
        if (strcmp(argv[a], "-n") == 0 && a + 1 < argc) {
            frames = strtoull(argv[++a], NULL, 10);
        } else if (strcmp(argv[a], "-s") == 0 && a + 1 < argc) {
            seed = strtoull(argv[++a], NULL, 10);
        } else if (strcmp(argv[a], "-k") == 0) {
            fuzz_keep_going = 1;
        } else if (strcmp(argv[a], "--emit") == 0 && a + 2 < argc) {
            emit_dir = argv[++a];
            emit_count = strtoul(argv[++a], NULL, 10);
        } else {
            fprintf(stderr, "usage: %s [-n FRAMES] [-s SEED] [-k] | --emit DIR COUNT [-s SEED]\n", argv[0]);
            return 2;
        }
    }
    r.s = seed;
    if (emit_dir != NULL) {
        return emit(emit_dir, emit_count, &r);
    }

    t0 = clock();
    for (i = 0; i < frames; ++i) {
        const size_t n = gen_input(&r, in);
        LLVMFuzzerTestOneInput(in, n);
    }
    cpu = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("fuzz_driver: seed=%llu frames=%llu bytes=%llu violations=%llu accepted=%llu bad_crc=%llu "
           "too_long=%llu bad_cobs=%llu short=%llu cobs_decoded=%llu cpu_s=%.2f\n",
           seed, fuzz_stats.inputs, fuzz_stats.bytes, fuzz_stats.violations, fuzz_stats.frames,
           fuzz_stats.errors[BNN_PROTO_ERR_BAD_CRC], fuzz_stats.errors[BNN_PROTO_ERR_TOO_LONG],
           fuzz_stats.errors[BNN_PROTO_ERR_BAD_COBS], fuzz_stats.errors[BNN_PROTO_ERR_SHORT],
           fuzz_stats.cobs_ok, cpu);
    return fuzz_stats.violations == 0u ? 0 : 1;
}
