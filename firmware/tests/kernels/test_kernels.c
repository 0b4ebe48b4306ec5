/*
 * Kernel test: every kernel of one kernel set (ref, or bitsliced + ref for what it does not provide)
 * against an independent scalar model of the math, bit for bit, over a grid of shapes. No Python.
 *
 * The model works on unpacked values: activations and weights as +-1 integers (bit 1 = -1), 8-bit
 * inputs as their q, and 'same' padding as explicit padded taps holding a *real* value: pv in {+1, 0}
 * for binary inputs (Larq's pad_values = 1.0 / 0.0), the real value 0 for 8-bit inputs. From random
 * real thresholds it derives the per-border-class integer thresholds the way the converter must, packs
 * everything in the kernel set's layout (bnn_mcu/layouts.py), calls the kernel and compares.
 *
 * Build: cc -std=c99 -I firmware/include [-DBNN_KERNELS_BITSLICED] test_kernels.c <kernel sources>.
 * Prints "<n> cases, <m> failures" and "~~~ALL TESTS PASSED~~~" (exit 0) or exits 1.
 *
 * ---------------------------------------------------------------------------------------------------
 * Per-border-class thresholds, binary input (what make_thresholds_b1 computes)
 *
 * Window of output pixel (oy, ox): K = k_h*k_w*in_c taps, of which K_v are inside the input and
 * n_p = K - K_v are padded. Values a_i, w_i in {+1, -1}; bits: a = 1 - 2*abit, w = 1 - 2*wbit.
 * The real pre-activation (what Larq computes) is
 *     y = sum_valid a_i*w_i + sum_padded pv*w_i.
 * The kernel reads a padded tap as bit 0 and counts x = popcount(a XOR w) over all K taps:
 *     x = x_v + P_w,  x_v = sum_valid (abit XOR wbit),  P_w = sum_padded wbit (weight bits set on
 *     padded taps, per output channel).
 * Since a_i*w_i = 1 - 2*(abit XOR wbit) and w_i = 1 - 2*wbit:
 *     y = (K_v - 2*x_v) + pv*(n_p - 2*P_w)
 *       = K_v + pv*n_p + 2*P_w - 2*pv*P_w - 2*x
 *       = C - 2*x,   C = K_v + pv*n_p + 2*(1 - pv)*P_w.
 * pv = +1: C = K everywhere (one class suffices: y = K - 2x, the valid-padding formula).
 * pv =  0: C = K_v + 2*P_w depends on the border position (through K_v and the padded taps) and on
 *          the channel (P_w): one threshold block per border class. (The formula holds for any pv;
 *          the test also draws pv = -1.)
 * The output bit is 1 (-1) iff y < T (T real; T = -B/A of the folded affine when A > 0; A < 0 is
 * the same with flipped weights, and P_w is then counted on the flipped bits). For integer x:
 *     C - 2x < T  <=>  x > (C - T)/2  <=>  x > floor((C - T)/2) =: tau(class, c),
 * clamped into [-1, K] (x only takes values 0..K: -1 = always 1, K = never). Here T = T2/2 with an
 * integer T2 (so ties y == T occur and are exact): tau = floor((2C - T2) / 4).
 *
 * Per-border-class thresholds, 8-bit input (make_thresholds_u8)
 * Real input r = LO + q (the model uses s = 1; any s > 0 scales T). Padded taps are the real value
 * 0 (not a code). The kernel computes Q = sum_valid q_i*w_i (padded taps skipped), so
 *     y = sum_valid (LO + q_i)*w_i = LO*S_v + Q,   S_v = sum_valid w_i (per class and channel).
 * Output bit = y > T (the "alpha < 0, no flip" case of fold.py):
 *     Q > T - LO*S_v  <=>  Q > floor(T - LO*S_v) = floor((T2 - 2*LO*S_v) / 2),
 * clamped into [-255K - 1, 255K].
 * ---------------------------------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnn/kernels.h"

#if defined(BNN_KERNELS_BITSLICED)
#define SET_NAME "bitsliced"
#define BITSLICED 1
#else
#define SET_NAME "ref"
#define BITSLICED 0
#endif

/* ------------------------------------------------------------------ utilities */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static uint32_t rnd_below(uint32_t n)
{
    return n ? rnd() % n : 0u;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1u, size);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static int64_t floordiv(int64_t a, int64_t b) /* b > 0 */
{
    int64_t q = a / b;
    if ((a % b) != 0 && a < 0) {
        q--;
    }
    return q;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static uint32_t bit_length(uint64_t v)
{
    uint32_t n = 0;
    while (v) {
        n++;
        v >>= 1;
    }
    return n;
}

static unsigned long n_cases, n_failures;
static unsigned long n_bits, n_ones; /* b1 conv outputs checked, and how many were 1 */
static char case_name[256];

static void fail(const char *what, long a, long b, long c, long d)
{
    n_failures++;
    if (n_failures <= 20u) {
        printf("FAIL %s: %s [%ld %ld %ld %ld]\n", case_name, what, a, b, c, d);
    }
}

/* ------------------------------------------------------------------ geometry */

typedef enum { PAD_VALID = 0, PAD_SAME_UNIFORM = 1, PAD_SAME_CLASSES = 2 } pad_mode_t;
static const char *const PAD_NAMES[] = {"valid", "same-uniform", "same-classes"};

/* TF output size and padding before (the extra tap of an odd total goes after). */
static void axis(uint32_t in, uint32_t k, uint32_t s, int same, uint32_t *out, uint32_t *before)
{
    if (same) {
        *out = (in + s - 1u) / s;
        const int32_t total = (int32_t)((*out - 1u) * s + k) - (int32_t)in;
        *before = total > 0 ? (uint32_t)total / 2u : 0u;
    } else {
        *out = (in - k) / s + 1u;
        *before = 0u;
    }
}

/* Input index of tap k at output o, or -1 if padded. */
static int32_t tap(uint32_t o, uint32_t k, uint32_t s, uint32_t before, uint32_t in)
{
    const int32_t i = (int32_t)(o * s + k) - (int32_t)before;
    return (i < 0 || i >= (int32_t)in) ? -1 : i;
}

/* Border classes along one axis: positions whose windows have the same set of padded taps. */
static uint32_t axis_classes(uint32_t out, uint32_t k, uint32_t s, uint32_t before, uint32_t in, uint8_t *cls,
                             uint32_t *rep)
{
    uint32_t n = 0;
    uint32_t lo[512], hi[512];
    for (uint32_t o = 0; o < out; o++) {
        uint32_t l = k, h = 0;
        for (uint32_t t = 0; t < k; t++) {
            if (tap(o, t, s, before, in) >= 0) {
                if (t < l) {
                    l = t;
                }
                h = t + 1u;
            }
        }
        uint32_t c = 0;
        while (c < n && !(lo[c] == l && hi[c] == h)) {
            c++;
        }
        if (c == n) {
            lo[n] = l;
            hi[n] = h;
            rep[n] = o;
            n++;
        }
        cls[o] = (uint8_t)c;
    }
    return n;
}

/* ------------------------------------------------------------------ packing (layouts.py) */

/* b1 activations: pixel p owns ceil(C/32) words, channel c at bit c%32 of word c/32; 1 = -1. */
static uint32_t *pack_act(const int8_t *v, uint32_t pixels, uint32_t c)
{
    const uint32_t wc = BNN_WORDS_FOR(c);
    uint32_t *w = xcalloc((size_t)pixels * wc, sizeof(uint32_t));
    for (uint32_t p = 0; p < pixels; p++) {
        for (uint32_t i = 0; i < c; i++) {
            if (v[(size_t)p * c + i] < 0) {
                w[p * wc + i / 32u] |= 1u << (i % 32u);
            }
        }
    }
    return w;
}

/* u8_bytemask channel order: the s-th stored channel (groups of 32, highest lane first). */
static uint32_t u8_order(uint32_t s, uint32_t o_n)
{
    const uint32_t g = s / 32u * 32u, n = o_n - g < 32u ? o_n - g : 32u;
    return g + (n - 1u - s % 32u);
}

/* weights value w[o][ky][kx][c] (+-1) -> the layout of (set, input kind, output kind). */
static uint32_t *pack_weights(const int8_t *w, uint32_t o_n, uint32_t kh, uint32_t kw, uint32_t c, int in_u8,
                              int out_b1)
{
    const uint32_t k = kh * kw * c;
    if (BITSLICED && out_b1 && in_u8) { /* u8_bytemask: per channel (u8_order) [KH][ceil(KW*C/4)] mask words */
        const uint32_t row = kw * c, wpr = (row + 3u) / 4u;
        uint32_t *out = xcalloc((size_t)o_n * kh * wpr, sizeof(uint32_t));
        for (uint32_t s = 0; s < o_n; s++) {
            const uint32_t o = u8_order(s, o_n);
            for (uint32_t ky = 0; ky < kh; ky++) {
                for (uint32_t b = 0; b < row; b++) {
                    if (w[(size_t)o * k + ky * row + b] < 0) {
                        out[((size_t)s * kh + ky) * wpr + b / 4u] |= 0xFFu << (8u * (b % 4u));
                    }
                }
            }
        }
        return out;
    }
    if (BITSLICED && out_b1) { /* transposed: [G][KH][KW][C], lane o%32 */
        const uint32_t groups = BNN_WORDS_FOR(o_n);
        uint32_t *out = xcalloc((size_t)groups * k, sizeof(uint32_t));
        for (uint32_t o = 0; o < o_n; o++) {
            for (uint32_t i = 0; i < k; i++) {
                if (w[(size_t)o * k + i] < 0) {
                    out[(o / 32u) * k + i] |= 1u << (o % 32u);
                }
            }
        }
        return out;
    }
    if (in_u8) { /* flat: [O][ceil(K/32)], tap i at bit i%32 of word i/32 */
        const uint32_t kw32 = BNN_WORDS_FOR(k);
        uint32_t *out = xcalloc((size_t)o_n * kw32, sizeof(uint32_t));
        for (uint32_t o = 0; o < o_n; o++) {
            for (uint32_t i = 0; i < k; i++) {
                if (w[(size_t)o * k + i] < 0) {
                    out[o * kw32 + i / 32u] |= 1u << (i % 32u);
                }
            }
        }
        return out;
    }
    /* standard: [O][KH][KW][ceil(C/32)] */
    return pack_act(w, o_n * kh * kw, c);
}

/* tau[class][o] -> the threshold layout of the set. */
static int32_t *pack_thresholds(const int64_t *tau, uint32_t classes, uint32_t o_n, uint32_t k, int in_u8,
                                const uint32_t *n_set)
{
    if (!BITSLICED) {
        int32_t *out = xcalloc((size_t)classes * o_n, sizeof(int32_t));
        for (uint32_t i = 0; i < classes * o_n; i++) {
            out[i] = (int32_t)tau[i];
        }
        return out;
    }
    if (in_u8) { /* u8_bytemask: T = clamp(tau + 255*N + 1, 0, 255K + 1) in u8_order */
        int32_t *out = xcalloc((size_t)classes * o_n, sizeof(int32_t));
        for (uint32_t cl = 0; cl < classes; cl++) {
            for (uint32_t s = 0; s < o_n; s++) {
                const uint32_t o = u8_order(s, o_n);
                const int64_t t = clamp64(tau[(size_t)cl * o_n + o] + 255 * (int64_t)n_set[o] + 1, 0,
                                          255 * (int64_t)k + 1);
                out[(size_t)cl * o_n + s] = (int32_t)(uint32_t)t;
            }
        }
        return out;
    }
    const uint32_t groups = BNN_WORDS_FOR(o_n);
    const int64_t bias = 1;
    const uint32_t planes = bit_length((uint64_t)k + 1u);
    int32_t *out = xcalloc((size_t)classes * groups * planes, sizeof(int32_t));
    for (uint32_t cl = 0; cl < classes; cl++) {
        for (uint32_t o = 0; o < o_n; o++) {
            const uint64_t v = (uint64_t)(tau[(size_t)cl * o_n + o] + bias);
            for (uint32_t p = 0; p < planes; p++) {
                if ((v >> p) & 1u) {
                    out[((size_t)cl * groups + o / 32u) * planes + p] |= (int32_t)(1u << (o % 32u));
                }
            }
        }
    }
    return out;
}

/* ------------------------------------------------------------------ convolution / dense */

typedef struct {
    uint32_t in_h, in_w, in_c, out_c, k_h, k_w, s_h, s_w;
    pad_mode_t pad;
    int in_u8, out_b1, dense, tables; /* tables: pass class tables even where one block would do */
} conv_case_t;

static void run_conv(const conv_case_t *cc)
{
    const int same = cc->pad != PAD_VALID;
    uint32_t oh, ow, top, left;
    axis(cc->in_h, cc->k_h, cc->s_h, same, &oh, &top);
    axis(cc->in_w, cc->k_w, cc->s_w, same, &ow, &left);
    const uint32_t C = cc->in_c, O = cc->out_c, K = cc->k_h * cc->k_w * C;
    const uint32_t in_px = cc->in_h * cc->in_w, out_px = oh * ow;
    snprintf(case_name, sizeof case_name, "%s %s %s->%s in %ux%ux%u k %ux%u s %ux%u out_c %u %s%s", SET_NAME,
             cc->dense ? "dense" : "conv2d", cc->in_u8 ? "u8" : "b1", cc->out_b1 ? "b1" : "s32", cc->in_h,
             cc->in_w, C, cc->k_h, cc->k_w, cc->s_h, cc->s_w, O, PAD_NAMES[cc->pad], cc->tables ? " tables" : "");
    n_cases++;

    /* random data; u8 inputs: a mix of zeros, 255s and anything */
    int8_t *a = xcalloc((size_t)in_px * C, 1);
    uint8_t *q = xcalloc((size_t)in_px * C, 1);
    int8_t *w = xcalloc((size_t)O * K, 1);
    const uint32_t density = rnd_below(4); /* 0: balanced, 1: mostly -1, 2: mostly +1, 3: balanced */
    for (uint32_t i = 0; i < in_px * C; i++) {
        const uint32_t r = rnd_below(8);
        a[i] = (density == 1 ? r < 7 : density == 2 ? r == 0 : r < 4) ? -1 : 1;
        const uint32_t m = rnd_below(4);
        q[i] = (uint8_t)(m == 0 ? 0u : m == 1 ? 255u : rnd_below(256));
    }
    for (uint32_t i = 0; i < O * K; i++) {
        w[i] = rnd_below(2) ? -1 : 1;
    }
    /* real-valued meaning of the input: b1 pad value pv (+1, 0 or -1), u8 offset LO (r = LO + q) */
    const int pv = (cc->in_u8 || cc->pad != PAD_SAME_CLASSES) ? 1 : (rnd_below(3) == 0u ? -1 : 0);
    const int64_t lo = (cc->in_u8 && cc->pad == PAD_SAME_CLASSES) ? -127 - (int64_t)rnd_below(2) : 0;

    /* border classes */
    uint8_t *row_class = xcalloc(oh, 1), *col_class = xcalloc(ow, 1);
    uint32_t row_rep[512], col_rep[512];
    const uint32_t rows = axis_classes(oh, cc->k_h, cc->s_h, top, cc->in_h, row_class, row_rep);
    const uint32_t cols = axis_classes(ow, cc->k_w, cc->s_w, left, cc->in_w, col_class, col_rep);
    const int use_tables = cc->pad == PAD_SAME_CLASSES || cc->tables;
    const uint32_t classes = use_tables ? rows * cols : 1u;

    /*
     * The scalar model, per output pixel and channel:
     *   y_real: the real pre-activation (b1: +-1 values, padded taps pv*w; u8: (LO + q)*w, padded 0)
     *   y_s32:  what an s32 kernel returns (b1: K - 2x with padded taps as bit 0 = the pv = +1 sum;
     *           u8: sum_valid q*w)
     *   coef:   C of the derivation above (b1), LO * S_v (u8)
     */
    int64_t *y_real = xcalloc((size_t)out_px * O, sizeof(int64_t));
    int64_t *y_s32 = xcalloc((size_t)out_px * O, sizeof(int64_t));
    int64_t *coef = xcalloc((size_t)out_px * O, sizeof(int64_t));
    for (uint32_t oy = 0; oy < oh; oy++) {
        for (uint32_t ox = 0; ox < ow; ox++) {
            for (uint32_t o = 0; o < O; o++) {
                int64_t yr = 0, ys = 0, k_v = 0, n_p = 0, p_w = 0, s_v = 0;
                for (uint32_t ky = 0; ky < cc->k_h; ky++) {
                    const int32_t iy = tap(oy, ky, cc->s_h, top, cc->in_h);
                    for (uint32_t kx = 0; kx < cc->k_w; kx++) {
                        const int32_t ix = tap(ox, kx, cc->s_w, left, cc->in_w);
                        for (uint32_t c = 0; c < C; c++) {
                            const int64_t wv = w[(size_t)o * K + (ky * cc->k_w + kx) * C + c];
                            if (iy < 0 || ix < 0) {
                                n_p++;
                                p_w += wv < 0;
                                yr += cc->in_u8 ? 0 : pv * wv;
                                ys += cc->in_u8 ? 0 : wv;
                                continue;
                            }
                            const size_t ai = ((size_t)iy * cc->in_w + (size_t)ix) * C + c;
                            k_v++;
                            s_v += wv;
                            yr += cc->in_u8 ? (lo + q[ai]) * wv : a[ai] * wv;
                            ys += cc->in_u8 ? q[ai] * wv : a[ai] * wv;
                        }
                    }
                }
                const size_t idx = ((size_t)oy * ow + ox) * O + o;
                y_real[idx] = yr;
                y_s32[idx] = ys;
                coef[idx] = cc->in_u8 ? lo * s_v : k_v + pv * n_p + 2 * (1 - pv) * p_w;
            }
        }
    }

    /* real thresholds T = T2/2 around the typical y, some far outside (constant channels) */
    int64_t *t2 = xcalloc(O, sizeof(int64_t));
    int64_t spread = 4;
    while (spread * spread < (int64_t)K * (cc->in_u8 ? 128 * 128 : 1)) {
        spread++;
    }
    for (uint32_t o = 0; o < O; o++) {
        const uint32_t r = rnd_below(16);
        const int64_t far = cc->in_u8 ? 600 * (int64_t)K + 700 : 2 * (int64_t)K + 6;
        t2[o] = r == 0 ? far : r == 1 ? -far : (int64_t)rnd_below((uint32_t)(4 * spread + 1)) - 2 * spread;
    }
    /* per-class integer thresholds, from each class's representative pixel */
    int64_t *tau = xcalloc((size_t)classes * O, sizeof(int64_t));
    for (uint32_t cl = 0; cl < classes; cl++) {
        const uint32_t oy = use_tables ? row_rep[cl / cols] : 0u, ox = use_tables ? col_rep[cl % cols] : 0u;
        for (uint32_t o = 0; o < O; o++) {
            const int64_t cf = coef[((size_t)oy * ow + ox) * O + o];
            tau[(size_t)cl * O + o] = cc->in_u8 ? clamp64(floordiv(t2[o] - 2 * cf, 2), -255 * (int64_t)K - 1,
                                                          255 * (int64_t)K)
                                                : clamp64(floordiv(2 * cf - t2[o], 4), -1, K);
        }
    }
    /* sanity of the test itself: every pixel of a class has the same C (b1) / S_v (u8) */
    for (uint32_t oy = 0; oy < oh && cc->out_b1; oy++) {
        for (uint32_t ox = 0; ox < ow; ox++) {
            const uint32_t cl = use_tables ? row_class[oy] * cols + col_class[ox] : 0u;
            const uint32_t ry = use_tables ? row_rep[cl / cols] : 0u, rx = use_tables ? col_rep[cl % cols] : 0u;
            for (uint32_t o = 0; o < O; o++) {
                if (coef[((size_t)oy * ow + ox) * O + o] != coef[((size_t)ry * ow + rx) * O + o]) {
                    printf("TEST BUG %s: class %u not uniform at (%u, %u)\n", case_name, cl, oy, ox);
                    exit(2);
                }
            }
        }
    }

    /* pack and run */
    uint32_t *in_b1 = cc->in_u8 ? NULL : pack_act(a, in_px, C);
    uint32_t *wp = pack_weights(w, O, cc->k_h, cc->k_w, C, cc->in_u8, cc->out_b1);
    uint32_t *n_set = xcalloc(O, sizeof(uint32_t)); /* weight bits set per channel (u8_bytemask) */
    for (uint32_t i = 0; i < O * K; i++) {
        n_set[i / K] += w[i] < 0;
    }
    int32_t *tp = cc->out_b1 ? pack_thresholds(tau, classes, O, K, cc->in_u8, n_set) : NULL;
    const uint32_t owc = BNN_WORDS_FOR(O);
    const size_t out_words = cc->out_b1 ? (size_t)out_px * owc : (size_t)out_px * O;
    uint32_t *out = xcalloc(out_words, sizeof(uint32_t));
    memset(out, 0xA5, out_words * sizeof(uint32_t)); /* every word must be written */
    bnn_conv_params_t p;
    memset(&p, 0, sizeof p);
    p.dims.in_h = (uint16_t)cc->in_h;
    p.dims.in_w = (uint16_t)cc->in_w;
    p.dims.in_c = (uint16_t)C;
    p.dims.out_h = (uint16_t)oh;
    p.dims.out_w = (uint16_t)ow;
    p.dims.out_c = (uint16_t)O;
    p.dims.k_h = (uint8_t)cc->k_h;
    p.dims.k_w = (uint8_t)cc->k_w;
    p.dims.stride_h = (uint8_t)cc->s_h;
    p.dims.stride_w = (uint8_t)cc->s_w;
    p.padding.top = (uint8_t)top;
    p.padding.left = (uint8_t)left;
    if (use_tables) {
        p.row_class = row_class;
        p.col_class = col_class;
        p.col_classes = (uint16_t)cols;
    }
    bnn_status_t st;
    int32_t *o32 = (int32_t *)out;
    if (cc->dense) {
        if (cc->in_u8) {
            st = cc->out_b1 ? bnn_dense_u8_b1(&p, q, wp, tp, out) : bnn_dense_u8_s32(&p, q, wp, o32);
        } else {
            st = cc->out_b1 ? bnn_dense_b1_b1(&p, in_b1, wp, tp, out) : bnn_dense_b1_s32(&p, in_b1, wp, o32);
        }
    } else {
        if (cc->in_u8) {
            st = cc->out_b1 ? bnn_conv2d_u8_b1(&p, q, wp, tp, out) : bnn_conv2d_u8_s32(&p, q, wp, o32);
        } else {
            st = cc->out_b1 ? bnn_conv2d_b1_b1(&p, in_b1, wp, tp, out) : bnn_conv2d_b1_s32(&p, in_b1, wp, o32);
        }
    }
    if (st != BNN_OK) {
        fail("status", (long)st, 0, 0, 0);
    }

    /* compare */
    unsigned long bad = 0;
    for (uint32_t px = 0; px < out_px && st == BNN_OK && bad < 3u; px++) {
        if (cc->out_b1) {
            for (uint32_t j = 0; j < owc; j++) {
                uint32_t want = 0;
                for (uint32_t o = 32u * j; o < O && o < 32u * j + 32u; o++) {
                    const int64_t yr = y_real[(size_t)px * O + o];
                    const int bit = cc->in_u8 ? 2 * yr > t2[o] : 2 * yr < t2[o];
                    want |= (uint32_t)bit << (o % 32u);
                    n_bits++;
                    n_ones += (unsigned long)bit;
                }
                if (out[(size_t)px * owc + j] != want) {
                    fail("b1 output word (pixel, word, got, want)", (long)px, (long)j, (long)out[px * owc + j],
                         (long)want);
                    bad++;
                }
            }
        } else {
            for (uint32_t o = 0; o < O; o++) {
                if ((int64_t)o32[(size_t)px * O + o] != y_s32[(size_t)px * O + o]) {
                    fail("s32 output (pixel, channel, got, want)", (long)px, (long)o, (long)o32[px * O + o],
                         (long)y_s32[px * O + o]);
                    bad++;
                    break;
                }
            }
        }
    }
    free(a);
    free(q);
    free(w);
    free(row_class);
    free(col_class);
    free(y_real);
    free(y_s32);
    free(coef);
    free(t2);
    free(tau);
    free(in_b1);
    free(wp);
    free(tp);
    free(n_set);
    free(out);
}

/* ------------------------------------------------------------------ max-pool */

static void run_pool(uint32_t in_h, uint32_t in_w, uint32_t c, uint32_t k, uint32_t s, int same)
{
    uint32_t oh, ow, top, left;
    axis(in_h, k, s, same, &oh, &top);
    axis(in_w, k, s, same, &ow, &left);
    snprintf(case_name, sizeof case_name, "%s maxpool2d_b1 in %ux%ux%u pool %u stride %u %s", SET_NAME, in_h, in_w,
             c, k, s, same ? "same" : "valid");
    n_cases++;
    const uint32_t wc = BNN_WORDS_FOR(c);
    int8_t *a = xcalloc((size_t)in_h * in_w * c, 1);
    int8_t *dir = xcalloc(c, 1); /* -1: min (OR) channel */
    for (uint32_t i = 0; i < in_h * in_w * c; i++) {
        a[i] = rnd_below(3) ? -1 : 1; /* biased so that all -1 windows happen */
    }
    uint32_t *or_mask = xcalloc(wc, sizeof(uint32_t));
    for (uint32_t i = 0; i < c; i++) {
        dir[i] = rnd_below(2) ? -1 : 1;
        if (dir[i] < 0) {
            or_mask[i / 32u] |= 1u << (i % 32u);
        }
    }
    uint32_t *in = pack_act(a, in_h * in_w, c);
    uint32_t *out = xcalloc((size_t)oh * ow * wc, sizeof(uint32_t));
    memset(out, 0xA5, (size_t)oh * ow * wc * sizeof(uint32_t));
    bnn_pool_params_t p;
    memset(&p, 0, sizeof p);
    p.dims.in_h = (uint16_t)in_h;
    p.dims.in_w = (uint16_t)in_w;
    p.dims.in_c = (uint16_t)c;
    p.dims.out_h = (uint16_t)oh;
    p.dims.out_w = (uint16_t)ow;
    p.dims.out_c = (uint16_t)c;
    p.dims.k_h = p.dims.k_w = (uint8_t)k;
    p.dims.stride_h = p.dims.stride_w = (uint8_t)s;
    p.padding.top = (uint8_t)top;
    p.padding.left = (uint8_t)left;
    const bnn_status_t st = bnn_maxpool2d_b1(&p, in, or_mask, out);
    if (st != BNN_OK) {
        fail("status", (long)st, 0, 0, 0);
    }
    for (uint32_t oy = 0; oy < oh && st == BNN_OK; oy++) {
        for (uint32_t ox = 0; ox < ow; ox++) {
            for (uint32_t j = 0; j < wc; j++) {
                uint32_t want = 0;
                for (uint32_t ch = 32u * j; ch < c && ch < 32u * j + 32u; ch++) {
                    int best = 0; /* max (or min) of the +-1 values over the valid taps */
                    for (uint32_t ky = 0; ky < k; ky++) {
                        for (uint32_t kx = 0; kx < k; kx++) {
                            const int32_t iy = tap(oy, ky, s, top, in_h), ix = tap(ox, kx, s, left, in_w);
                            if (iy < 0 || ix < 0) {
                                continue;
                            }
                            const int v = a[((size_t)iy * in_w + (size_t)ix) * c + ch];
                            if (best == 0 || (dir[ch] > 0 ? v > best : v < best)) {
                                best = v;
                            }
                        }
                    }
                    want |= (uint32_t)(best < 0) << (ch % 32u);
                }
                const uint32_t got = out[((size_t)oy * ow + ox) * wc + j];
                if (got != want) {
                    fail("pool word (oy, ox, got, want)", (long)oy, (long)ox, (long)got, (long)want);
                }
            }
        }
    }
    free(a);
    free(dir);
    free(or_mask);
    free(in);
    free(out);
}

/* ------------------------------------------------------------------ sign of an 8-bit input */

static void run_sign(uint32_t h, uint32_t w, uint32_t c, uint32_t threshold)
{
    snprintf(case_name, sizeof case_name, "%s sign_u8_b1 %ux%ux%u threshold %u", SET_NAME, h, w, c, threshold);
    n_cases++;
    const uint32_t px = h * w, wc = BNN_WORDS_FOR(c);
    uint8_t *q = xcalloc((size_t)px * c, 1);
    for (uint32_t i = 0; i < px * c; i++) {
        const uint32_t m = rnd_below(6);
        q[i] = (uint8_t)(m == 0 ? 0u : m == 1 ? 255u : m == 2 ? (threshold ? threshold - 1u : 0u)
                                                 : m == 3 ? (threshold < 255u ? threshold : 255u) : rnd_below(256));
    }
    uint32_t *out = xcalloc((size_t)px * wc, sizeof(uint32_t));
    memset(out, 0xA5, (size_t)px * wc * sizeof(uint32_t));
    bnn_dims_t d;
    memset(&d, 0, sizeof d);
    d.in_h = d.out_h = (uint16_t)h;
    d.in_w = d.out_w = (uint16_t)w;
    d.in_c = d.out_c = (uint16_t)c;
    const bnn_status_t st = bnn_sign_u8_b1(&d, q, threshold, out);
    if (st != BNN_OK) {
        fail("status", (long)st, 0, 0, 0);
    }
    for (uint32_t p = 0; p < px && st == BNN_OK; p++) {
        for (uint32_t j = 0; j < wc; j++) {
            uint32_t want = 0;
            for (uint32_t ch = 32u * j; ch < c && ch < 32u * j + 32u; ch++) {
                want |= (uint32_t)(q[(size_t)p * c + ch] < threshold) << (ch % 32u);
            }
            if (out[(size_t)p * wc + j] != want) {
                fail("sign word (pixel, word, got, want)", (long)p, (long)j, (long)out[p * wc + j], (long)want);
            }
        }
    }
    free(q);
    free(out);
}

/* ------------------------------------------------------------------ argument checks */

static void run_arg_checks(void)
{
    snprintf(case_name, sizeof case_name, "%s argument checks", SET_NAME);
    n_cases++;
    uint32_t in[4] = {0}, wts[64] = {0}, out[4] = {0};
    int32_t th[64] = {0};
    const uint8_t cls[1] = {0};
    bnn_conv_params_t p;
    memset(&p, 0, sizeof p);
    p.dims.in_h = p.dims.in_w = p.dims.k_h = p.dims.k_w = 1;
    p.dims.out_h = p.dims.out_w = 1;
    p.dims.in_c = p.dims.out_c = 1;
    p.dims.stride_h = p.dims.stride_w = 1;
    p.row_class = cls; /* col_class NULL: inconsistent */
    if (bnn_conv2d_b1_b1(&p, in, wts, th, out) != BNN_ERR_ARG) {
        fail("conv2d_b1_b1 accepts a row_class without col_class", 0, 0, 0, 0);
    }
    if (bnn_dense_b1_b1(&p, in, wts, th, out) != BNN_ERR_ARG) {
        fail("dense_b1_b1 accepts a row_class without col_class", 0, 0, 0, 0);
    }
    p.row_class = NULL;
    if (bnn_conv2d_b1_b1(NULL, in, wts, th, out) != BNN_ERR_ARG || bnn_conv2d_b1_b1(&p, in, wts, NULL, out) !=
        BNN_ERR_ARG) {
        fail("conv2d_b1_b1 accepts NULL", 0, 0, 0, 0);
    }
    p.padding.top = 1;
    if (bnn_dense_b1_s32(&p, in, wts, (int32_t *)out) != BNN_ERR_ARG) {
        fail("dense_b1_s32 accepts padding", 0, 0, 0, 0);
    }
}

/* ------------------------------------------------------------------ the grid */

int main(int argc, char **argv)
{
    static const uint32_t CH[] = {1, 31, 32, 33, 63, 64, 65};
    static const uint32_t KS[][2] = {{1, 1}, {3, 3}, {5, 5}, {3, 5}};
    static const uint32_t SIZES[][2] = {{7, 9}, {9, 7}, {8, 8}, {5, 6}, {2, 3}, {1, 1}, {6, 5}};
    const uint32_t per_config = argc > 1 ? (uint32_t)atoi(argv[1]) : 4u; /* channel pairs per config */
    unsigned long last = 0;

    run_arg_checks();

    /* conv2d: kernels x strides x paddings x input kinds x output kinds, channel pairs round robin */
    uint32_t pair = 0, size_i = 0;
    for (uint32_t ki = 0; ki < 4u; ki++) {
        for (uint32_t s = 1; s <= 2u; s++) {
            for (uint32_t pad = 0; pad < 3u; pad++) {
                for (uint32_t in_u8 = 0; in_u8 < 2u; in_u8++) {
                    for (uint32_t out_b1 = 0; out_b1 < 2u; out_b1++) {
                        for (uint32_t j = 0; j < per_config; j++, pair++) {
                            conv_case_t cc;
                            memset(&cc, 0, sizeof cc);
                            /* 17 is coprime with 49 and 4: every (in, out) pair meets every config kind */
                            const uint32_t pi = (pair * 17u) % 49u;
                            cc.in_c = CH[pi % 7u];
                            cc.out_c = CH[pi / 7u];
                            cc.k_h = KS[ki][0];
                            cc.k_w = KS[ki][1];
                            cc.s_h = cc.s_w = s;
                            if (rnd_below(3) == 0u) {
                                cc.s_h = 3u - s; /* mixed strides too */
                            }
                            cc.pad = (pad_mode_t)pad;
                            cc.in_u8 = (int)in_u8;
                            cc.out_b1 = (int)out_b1;
                            cc.tables = (int)rnd_below(2);
                            cc.in_h = SIZES[size_i % 7u][0];
                            cc.in_w = SIZES[size_i % 7u][1];
                            size_i++;
                            if (pad == PAD_VALID && (cc.in_h < cc.k_h || cc.in_w < cc.k_w)) {
                                cc.in_h = 7u;
                                cc.in_w = 9u;
                            }
                            run_conv(&cc);
                        }
                    }
                }
            }
        }
    }
    printf("conv2d: %lu cases\n", n_cases - last);
    last = n_cases;

    /* dense: every channel pair, input shapes 1x1, 2x3, 3x3 */
    static const uint32_t DENSE_IN[][2] = {{1, 1}, {2, 3}, {3, 3}};
    for (uint32_t ci = 0; ci < 7u; ci++) {
        for (uint32_t co = 0; co < 7u; co++) {
            for (uint32_t kind = 0; kind < 4u; kind++) {
                conv_case_t cc;
                memset(&cc, 0, sizeof cc);
                cc.in_c = CH[ci];
                cc.out_c = CH[co];
                cc.in_h = cc.k_h = DENSE_IN[(ci + co + kind) % 3u][0];
                cc.in_w = cc.k_w = DENSE_IN[(ci + co + kind) % 3u][1];
                cc.s_h = cc.s_w = 1;
                cc.in_u8 = (int)(kind & 1u);
                cc.out_b1 = (int)(kind >> 1);
                cc.dense = 1;
                cc.tables = (int)((ci + co) % 2u);
                run_conv(&cc);
            }
        }
    }
    printf("dense: %lu cases\n", n_cases - last);
    last = n_cases;

    /* max-pool */
    static const uint32_t POOL_IN[][2] = {{7, 9}, {8, 8}, {1, 1}, {2, 5}};
    for (uint32_t k = 2; k <= 3u; k++) {
        for (uint32_t s = 1; s <= 2u; s++) {
            for (int same = 0; same <= 1; same++) {
                for (uint32_t ci = 0; ci < 7u; ci++) {
                    for (uint32_t si = 0; si < 4u; si++) {
                        if (!same && (POOL_IN[si][0] < k || POOL_IN[si][1] < k)) {
                            continue;
                        }
                        run_pool(POOL_IN[si][0], POOL_IN[si][1], CH[ci], k, s, same);
                    }
                }
            }
        }
    }
    printf("maxpool2d: %lu cases\n", n_cases - last);
    last = n_cases;

    /* sign of an 8-bit input */
    static const uint32_t THR[] = {0, 1, 127, 128, 255, 256};
    for (uint32_t ci = 0; ci < 7u; ci++) {
        for (uint32_t ti = 0; ti < 6u; ti++) {
            run_sign(ti % 2u ? 3u : 1u, ti % 3u ? 5u : 1u, CH[ci], THR[ti]);
        }
    }
    printf("sign_u8: %lu cases\n", n_cases - last);

    printf("conv/dense b1 outputs: %lu bits checked, %lu ones\n", n_bits, n_ones);
    printf("%s: %lu cases, %lu failures\n", SET_NAME, n_cases, n_failures);
    if (n_failures == 0u) {
        printf("~~~ALL TESTS PASSED~~~\n");
        return 0;
    }
    return 1;
}
