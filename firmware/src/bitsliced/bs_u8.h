/*
 * 8-bit input -> b1 ("u8_bytemask" layout, bnn_mcu/layouts.py): sums of absolute differences.
 *
 * Weights are byte masks m = 0xFF (weight -1, bit 1) or 0x00 (weight +1). For an input byte q,
 *     |q - m| = q (m = 0x00) or 255 - q (m = 0xFF), i.e. q XOR m,
 * so over the K taps of a window
 *     U = sum |q_i - m_i| = sum_{w=+1} q_i + sum_{w=-1} (255 - q_i) = Q + 255*N,
 * Q = sum w_i*q_i (the accumulator of kernels.h) and N = the weight bits set in the window (per
 * channel, all K taps). A padded tap reads as q = 0 and still adds |0 - m| = m to U, so U = Q + 255N
 * holds at every output pixel, border or not. The output bit is
 *     Q > tau  <=>  U > tau + 255N  <=>  U >= T,  T = tau + 255N + 1,
 * clamped by the converter into [0, 255K + 1] (U is in [0, 255K]): one unsigned compare per channel.
 *
 * The window is read as whole 32-bit words: window row ky (KW*C contiguous input bytes, NHWC) is
 * WPR = ceil(KW*C/4) words; bytes past the row end and padded taps are 0, and so are the weight mask
 * bytes there (|0 - 0| = 0). Interior pixels load each word with one (unaligned) load and clear the
 * bytes past the row; a word that would leave the input buffer or touch padding is assembled byte by
 * byte (border pixels only). Nothing is read outside the input.
 *
 * The sum: USADA8 (DSP extension: Cortex-M4, M7, M33, M55) adds 4 absolute differences per
 * instruction. Without it (M0, M0+, M3) a SWAR byte sum of q XOR m: two 16-bit lanes, folded after at
 * most BNN_U8_CHUNK words (each word adds at most 510 to a lane). The result is the same, and neither
 * depends on the input values: the instruction count is data-independent.
 *
 * Output bits: channels are stored highest lane first within each group of 32, so
 * bits = bits << 1 | (U >= T) leaves lane o at bit o (CMP + ADC on ARMv7-M).
 */
#ifndef BNN_BS_U8_H
#define BNN_BS_U8_H

#include <stdint.h>
#include <string.h>

#include "bnn/kernels.h"

#define BNN_U8_INLINE static inline __attribute__((always_inline))

/* Window words kept on the stack at once (larger windows are summed chunk by chunk); <= 128. */
#define BNN_U8_CHUNK 64u

#if defined(__ARM_FEATURE_SIMD32) && !defined(BNN_U8_PORTABLE_SAD)
#include <arm_acle.h>
/* acc + sum of the 4 byte |a - m| */
BNN_U8_INLINE uint32_t bnn_u8_sad(uint32_t acc, uint32_t a, uint32_t m)
{
    return __usada8(a, m, acc);
}
BNN_U8_INLINE uint32_t bnn_u8_fold(uint32_t acc)
{
    return acc;
}
#else
/* m bytes are 0x00 or 0xFF, so |a - m| = a XOR m: summed in two 16-bit lanes. */
BNN_U8_INLINE uint32_t bnn_u8_sad(uint32_t acc, uint32_t a, uint32_t m)
{
    const uint32_t x = a ^ m;
    return acc + (x & 0x00FF00FFu) + ((x >> 8) & 0x00FF00FFu);
}
BNN_U8_INLINE uint32_t bnn_u8_fold(uint32_t acc)
{
    return (acc & 0xFFFFu) + (acc >> 16);
}
#endif

/* Geometry of one layer, computed once per call. */
typedef struct {
    const uint8_t *in;
    uint32_t in_bytes;   /* in_h * in_w * C */
    uint32_t row_stride; /* in_w * C */
    uint32_t c, k_w, k_h;
    uint32_t len;  /* bytes per window row: KW * C */
    uint32_t wpr;  /* words per window row */
    uint32_t nw;   /* words per window: KH * WPR */
    uint32_t tail; /* mask of the last word of a row (the bytes still in the row) */
} bnn_u8_geom_t;

static inline void bnn_u8_geom(const bnn_dims_t *d, const uint8_t *in, bnn_u8_geom_t *g)
{
    g->in = in;
    g->c = d->in_c;
    g->k_w = d->k_w;
    g->k_h = d->k_h;
    g->row_stride = (uint32_t)d->in_w * d->in_c;
    g->in_bytes = (uint32_t)d->in_h * g->row_stride;
    g->len = (uint32_t)d->k_w * d->in_c;
    g->wpr = (g->len + 3u) / 4u;
    g->nw = g->k_h * g->wpr;
    const uint32_t used = g->len - 4u * (g->wpr - 1u); /* 1..4 bytes in the last word */
    g->tail = used == 4u ? 0xFFFFFFFFu : (1u << (8u * used)) - 1u;
}

BNN_U8_INLINE uint32_t bnn_u8_load(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4); /* one LDR where unaligned loads exist (ARMv7-M), byte loads on ARMv6-M */
    return v; /* little-endian: byte 0 is the lowest address */
}

/* Input address of the window origin (iy0, ix0), which must be inside the input. */
static inline const uint8_t *bnn_u8_origin(const bnn_u8_geom_t *g, int32_t iy0, int32_t ix0)
{
    return g->in + (uint32_t)iy0 * g->row_stride + (uint32_t)ix0 * g->c;
}

/* Can the whole window of origin (iy0, ix0) be loaded word by word (no padding, no read past the end)? */
static inline int bnn_u8_fast(const bnn_conv_params_t *p, const bnn_u8_geom_t *g, int32_t iy0, int32_t ix0)
{
    const bnn_dims_t *d = &p->dims;
    if (iy0 < 0 || ix0 < 0 || iy0 + (int32_t)d->k_h > (int32_t)d->in_h || ix0 + (int32_t)d->k_w > (int32_t)d->in_w) {
        return 0;
    }
    const uint32_t last = (uint32_t)(iy0 + (int32_t)d->k_h - 1) * g->row_stride + (uint32_t)ix0 * g->c;
    return last + 4u * g->wpr <= g->in_bytes;
}

/* Window words [w0, w0 + n) of a window that may touch padding or the end of the input, byte by byte
 * (border pixels only): per window row, the taps inside the input are one contiguous input segment. */
static inline void bnn_u8_gather(const bnn_conv_params_t *p, const bnn_u8_geom_t *g, int32_t iy0, int32_t ix0,
                                 uint32_t w0, uint32_t n, uint32_t *buf)
{
    const bnn_dims_t *d = &p->dims;
    for (uint32_t i = 0; i < n; i++) {
        buf[i] = 0u;
    }
    const int32_t kx_lo = ix0 < 0 ? -ix0 : 0;
    const int32_t kx_hi = (int32_t)d->in_w - ix0 < (int32_t)d->k_w ? (int32_t)d->in_w - ix0 : (int32_t)d->k_w;
    if (kx_lo >= kx_hi) {
        return; /* every column padded */
    }
    for (uint32_t ky = 0; ky < g->k_h; ky++) {
        const int32_t iy = iy0 + (int32_t)ky;
        const uint32_t first = ky * 4u * g->wpr; /* byte index of the row's first tap in the window */
        if (iy < 0 || iy >= (int32_t)d->in_h || first / 4u + g->wpr <= w0 || first / 4u >= w0 + n) {
            continue; /* padded row (stays 0), or a row outside the chunk */
        }
        const uint8_t *q = g->in + (uint32_t)iy * g->row_stride + (uint32_t)(ix0 + kx_lo) * g->c;
        const uint32_t end = first + (uint32_t)kx_hi * g->c;
        for (uint32_t b = first + (uint32_t)kx_lo * g->c; b < end; b++, q++) {
            const uint32_t wi = b / 4u; /* a shift */
            if (wi >= w0 && wi < w0 + n) {
                buf[wi - w0] |= (uint32_t)*q << (8u * (b % 4u));
            }
        }
    }
}

/* bnn_u8_gather for windows of one word per row (KW*C <= 4): the common first-layer border pixel. */
static inline void bnn_u8_gather1(const bnn_conv_params_t *p, const bnn_u8_geom_t *g, int32_t iy0, int32_t ix0,
                                  uint32_t *a)
{
    const bnn_dims_t *d = &p->dims;
    const int32_t kx_lo = ix0 < 0 ? -ix0 : 0;
    const int32_t kx_hi = (int32_t)d->in_w - ix0 < (int32_t)d->k_w ? (int32_t)d->in_w - ix0 : (int32_t)d->k_w;
    const uint32_t n = kx_lo < kx_hi ? (uint32_t)(kx_hi - kx_lo) * g->c : 0u; /* bytes inside, per row */
    const uint32_t sh0 = 8u * (uint32_t)kx_lo * g->c;
    const uint8_t *q = g->in + (uint32_t)(ix0 + kx_lo) * g->c;
    for (uint32_t ky = 0; ky < g->k_h; ky++) {
        const int32_t iy = iy0 + (int32_t)ky;
        uint32_t v = 0;
        if (n && iy >= 0 && iy < (int32_t)d->in_h) {
            const uint8_t *r = q + (uint32_t)iy * g->row_stride;
            for (uint32_t i = 0; i < n; i++) {
                v |= (uint32_t)r[i] << (sh0 + 8u * i);
            }
        }
        a[ky] = v;
    }
}

/* Window words [w0, w0 + n) of a window that bnn_u8_fast accepted: one load per word. */
BNN_U8_INLINE void bnn_u8_words_at(const bnn_u8_geom_t *g, const uint8_t *org, uint32_t w0, uint32_t n,
                                   uint32_t *buf)
{
    uint32_t r = w0 % g->wpr; /* w0 = 0 on the interior path: no division */
    const uint8_t *row = org + (w0 / g->wpr) * g->row_stride;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t last = r + 1u == g->wpr;
        buf[i] = bnn_u8_load(row + 4u * r) & (last ? g->tail : 0xFFFFFFFFu);
        r++;
        if (last) {
            r = 0u;
            row += g->row_stride;
        }
    }
}

/* bits << 1 | (u >= t): CMP + ADC where the assembler allows it (GCC emits a 4-instruction IT block). */
BNN_U8_INLINE uint32_t bnn_u8_shift_in(uint32_t bits, uint32_t u, uint32_t t)
{
#if defined(__thumb2__)
    __asm__("cmp %[u], %[t]\n\tadc %[b], %[b], %[b]" : [b] "+r"(bits) : [u] "r"(u), [t] "r"(t) : "cc");
    return bits;
#else
    return (bits << 1) | (uint32_t)(u >= t);
#endif
}

/* U of one channel: NW mask words w[] against the window a[] (a constant NW: unrolled). */
BNN_U8_INLINE uint32_t bnn_u8_sum(const uint32_t *a, const uint32_t nw, const uint32_t *w)
{
    uint32_t u = 0;
#pragma GCC unroll 8
    for (uint32_t i = 0; i < nw; i++) {
        u = bnn_u8_sad(u, a[i], w[i]);
    }
    return bnn_u8_fold(u);
}

/*
 * Output bits of `lanes` channels (highest lane first) for a window of NW words held in win[]:
 * w points at the first channel's NW mask words, t at its threshold T. Each NW has its own
 * non-inlined instance, so the window stays in registers: per channel NW loads (paired into LDRD),
 * NW sums, a threshold load and CMP + ADC; two channels per iteration.
 */
BNN_U8_INLINE uint32_t bnn_u8_lanes(const uint32_t *win, const uint32_t nw, const uint32_t *w, const uint32_t *t,
                                    uint32_t lanes)
{
    uint32_t a[8];
#pragma GCC unroll 8
    for (uint32_t i = 0; i < nw; i++) {
        a[i] = win[i];
    }
    uint32_t bits = 0;
    const uint32_t *const t_end = t + (lanes & ~1u);
    while (t != t_end) {
        const uint32_t u0 = bnn_u8_sum(a, nw, w), u1 = bnn_u8_sum(a, nw, w + nw);
        bits = bnn_u8_shift_in(bits, u0, t[0]);
        bits = bnn_u8_shift_in(bits, u1, t[1]);
        w += 2u * nw;
        t += 2;
    }
    if (lanes & 1u) {
        bits = bnn_u8_shift_in(bits, bnn_u8_sum(a, nw, w), t[0]);
    }
    return bits;
}

#if defined(__ARM_FEATURE_SIMD32) && defined(__thumb2__) && defined(__OPTIMIZE__) && !defined(BNN_U8_PORTABLE_SAD)
/*
 * The 3-word window (a 3x3 kernel on 1 channel, or any KH = 3 with KW*C <= 4) by hand: per pair of
 * channels one LDM of their 6 mask words, 2 USAD8 + 4 USADA8, one LDRD of their thresholds, and
 * CMP + ADC twice; the loop ends when a sentinel bit, placed so that it leaves bit 31 on the last
 * pair, sets the carry of the second ADC: 13 instructions per 18 MACs. r0 = win (3 words), r1 = w,
 * r2 = t, r3 = pairs (1..16); returns the 2*pairs bits (first channel highest).
 * bnn_u8_lanes(win, 3, ...) is the C version of the same arithmetic (tests build it on the host).
 */
#define BNN_U8_HAVE_PAIRS3 1
__attribute__((naked, noinline)) static uint32_t bnn_u8_pairs_3(
    __attribute__((unused)) const uint32_t *win, __attribute__((unused)) const uint32_t *w,
    __attribute__((unused)) const uint32_t *t, __attribute__((unused)) uint32_t pairs)
{
    __asm__ volatile("push   {r4-r10}\n\t"
                     "ldm    r0, {r8, r9, r10}\n\t"
                     "lsls   r3, r3, #1\n\t"
                     "rsb    r3, r3, #32\n\t"
                     "movs   r0, #1\n\t"
                     "lsls   r0, r0, r3\n"
                     "1:\n\t"
                     "ldm    r1!, {r3, r4, r5, r6, r7, r12}\n\t"
                     "usad8  r3, r8, r3\n\t"
                     "usada8 r3, r9, r4, r3\n\t"
                     "usada8 r3, r10, r5, r3\n\t"
                     "usad8  r6, r8, r6\n\t"
                     "usada8 r6, r9, r7, r6\n\t"
                     "usada8 r6, r10, r12, r6\n\t"
                     "ldrd   r4, r5, [r2], #8\n\t"
                     "cmp    r3, r4\n\t"
                     "adc    r0, r0, r0\n\t"
                     "cmp    r6, r5\n\t"
                     "adcs   r0, r0, r0\n\t"
                     "bcc    1b\n\t"
                     "pop    {r4-r10}\n\t"
                     "bx     lr\n");
}

/*
 * A run of pixels of one output row whose window columns are inside the input, for windows of 3 rows
 * of one word (NW = 3) and at most 32 (an even number of) channels: the pixel loop around the pair
 * loop above, in assembly. Each window row is read through its own pointer, advanced by its own step;
 * a padded row points at a zero word with step 0 (so the top and bottom output rows run here too).
 * Per pixel: 3 row loads, its mask (which also clears padded columns) and threshold block offset (one
 * LDRD from a per-column table), the pair loop, one store: 20 instructions besides the pairs. bnn_u8_run's C loop is the same computation.
 */
typedef struct {
    const uint8_t *row[3]; /*  0: window row ky of the first pixel */
    uint32_t step[3];      /* 12: input bytes between two pixels' windows (0: padded row) */
    const uint32_t *col;   /* 24: per pixel {row word mask, byte offset of its threshold block} */
    const uint32_t *t_row; /* 28: the output row's threshold blocks */
    const uint32_t *w;     /* 32: weights */
    uint32_t sentinel;     /* 36: 1 << (32 - out_c) */
    uint32_t *out;         /* 40: output word of the first pixel */
    uint32_t *out_end;     /* 44: past the output word of the last pixel */
} bnn_u8_row3_t;

__attribute__((naked, noinline)) static void bnn_u8_row3(__attribute__((unused)) bnn_u8_row3_t *r)
{
    __asm__ volatile("push   {r4-r11, lr}\n\t"
                     "mov    r11, r0\n"
                     "1:\n\t"
                     "ldm    r11, {r1, r2, r3, r4, r5, r6, r7}\n\t"
                     "ldr    r8, [r1]\n\t"
                     "ldr    r9, [r2]\n\t"
                     "ldr    r10, [r3]\n\t"
                     "ldrd   r12, r0, [r7], #8\n\t"
                     "add    r1, r1, r4\n\t"
                     "add    r2, r2, r5\n\t"
                     "add    r3, r3, r6\n\t"
                     "stm    r11, {r1, r2, r3, r4, r5, r6, r7}\n\t"
                     "and    r8, r8, r12\n\t"
                     "and    r9, r9, r12\n\t"
                     "and    r10, r10, r12\n\t"
                     "ldrd   r2, r1, [r11, #28]\n\t"
                     "add    r2, r2, r0\n\t"
                     "ldr    r0, [r11, #36]\n"
                     "2:\n\t"
                     "ldm    r1!, {r3, r4, r5, r6, r7, r12}\n\t"
                     "usad8  r3, r8, r3\n\t"
                     "usada8 r3, r9, r4, r3\n\t"
                     "usada8 r3, r10, r5, r3\n\t"
                     "usad8  r6, r8, r6\n\t"
                     "usada8 r6, r9, r7, r6\n\t"
                     "usada8 r6, r10, r12, r6\n\t"
                     "ldrd   r4, r5, [r2], #8\n\t"
                     "cmp    r3, r4\n\t"
                     "adc    r0, r0, r0\n\t"
                     "cmp    r6, r5\n\t"
                     "adcs   r0, r0, r0\n\t"
                     "bcc    2b\n\t"
                     "ldrd   r3, r4, [r11, #40]\n\t"
                     "str    r0, [r3], #4\n\t"
                     "str    r3, [r11, #40]\n\t"
                     "cmp    r3, r4\n\t"
                     "bne    1b\n\t"
                     "pop    {r4-r11, pc}\n");
}

static __attribute__((noinline)) uint32_t bnn_u8_lanes_3(const uint32_t *win, const uint32_t *w, const uint32_t *t,
                                                          uint32_t lanes)
{
    uint32_t bits = lanes >= 2u ? bnn_u8_pairs_3(win, w, t, lanes / 2u) : 0u;
    if (lanes & 1u) {
        const uint32_t last = lanes - 1u;
        bits = bnn_u8_shift_in(bits, bnn_u8_sum(win, 3u, w + 3u * last), t[last]);
    }
    return bits;
}
#endif

#define BNN_U8_LANES_N(n)                                                                                   \
    static __attribute__((noinline)) uint32_t bnn_u8_lanes_##n(const uint32_t *win, const uint32_t *w,     \
                                                                const uint32_t *t, uint32_t lanes)         \
    {                                                                                                      \
        return bnn_u8_lanes(win, n##u, w, t, lanes);                                                       \
    }
BNN_U8_LANES_N(1)
BNN_U8_LANES_N(2)
#if !defined(BNN_U8_HAVE_PAIRS3)
BNN_U8_LANES_N(3)
#endif

/* 4..8 window words: one instance with a variable NW (the window is read from memory). */
static __attribute__((noinline)) uint32_t bnn_u8_lanes_n(const uint32_t *win, uint32_t nw, const uint32_t *w,
                                                          const uint32_t *t, uint32_t lanes)
{
    uint32_t bits = 0;
    for (uint32_t j = 0; j < lanes; j++, w += nw) {
        uint32_t u = 0;
        for (uint32_t i = 0; i < nw; i++) {
            u = bnn_u8_sad(u, win[i], w[i]);
        }
        bits = bnn_u8_shift_in(bits, bnn_u8_fold(u), t[j]);
    }
    return bits;
}

/* The output words of one pixel from its window words a[] (NW <= 8): every group of 32 channels. */
static inline void bnn_u8_groups(const uint32_t *a, uint32_t nw, const uint32_t *w, const uint32_t *t,
                                 uint32_t out_c, uint32_t *out_pixel)
{
#if defined(BNN_U8_HAVE_PAIRS3)
    if (nw == 3u && out_c <= 32u && (out_c & 1u) == 0u) {
        out_pixel[0] = bnn_u8_pairs_3(a, w, t, out_c / 2u);
        return;
    }
#endif
    for (uint32_t o = 0; o < out_c; o += 32u) {
        const uint32_t lanes = out_c - o < 32u ? out_c - o : 32u;
        const uint32_t *wg = w + o * nw;
        uint32_t bits;
        switch (nw) { /* constant NW: the window stays in registers */
        case 1u: bits = bnn_u8_lanes_1(a, wg, t + o, lanes); break;
        case 2u: bits = bnn_u8_lanes_2(a, wg, t + o, lanes); break;
        case 3u: bits = bnn_u8_lanes_3(a, wg, t + o, lanes); break;
        default: bits = bnn_u8_lanes_n(a, nw, wg, t + o, lanes); break;
        }
        out_pixel[o / 32u] = bits;
    }
}

/*
 * Pixels [ox_lo, ox_hi) of one output row, NW <= 8: window row ky is read at rows[ky] (advanced by
 * steps[ky] per pixel; a padded row points at zeros with step 0), one load per word; the last word of
 * each row is masked with the pixel's col[0] (g->tail for interior columns; for a border column
 * (WPR = 1) the mask also clears its padded taps, so its word may be read from before the row's start
 * or past its end), and col[1] is the byte offset of its threshold block from t_row. The caller makes
 * sure every load stays inside the input buffer.
 */
static inline void bnn_u8_run(const bnn_conv_params_t *p, const bnn_u8_geom_t *g, const uint8_t **rows,
                              const uint32_t *steps, const uint32_t *col, const uint32_t *w,
                              const uint32_t *t_row, uint32_t ox_lo, uint32_t ox_hi, uint32_t *out)
{
    const uint32_t out_c = p->dims.out_c, owc = BNN_WORDS_FOR(out_c), nw = g->nw, wpr = g->wpr;
#if defined(BNN_U8_HAVE_PAIRS3)
    if (nw == 3u && wpr == 1u && out_c <= 32u && (out_c & 1u) == 0u) {
        bnn_u8_row3_t r = {{rows[0], rows[1], rows[2]}, {steps[0], steps[1], steps[2]}, col, t_row, w,
                           1u << (32u - out_c), out + ox_lo, out + ox_hi};
        bnn_u8_row3(&r);
        return;
    }
#endif
    const uint8_t *rp[8];
    for (uint32_t ky = 0; ky < g->k_h; ky++) {
        rp[ky] = rows[ky];
    }
    uint32_t a[8];
    for (uint32_t ox = ox_lo; ox < ox_hi; ox++, col += 2) {
        for (uint32_t ky = 0, i = 0; ky < g->k_h; ky++) {
            for (uint32_t r = 0; r < wpr; r++, i++) {
                a[i] = bnn_u8_load(rp[ky] + 4u * r) & (r + 1u == wpr ? col[0] : 0xFFFFFFFFu);
            }
            rp[ky] += steps[ky];
        }
        bnn_u8_groups(a, nw, w, t_row + col[1] / 4u, out_c, out + ox * owc);
    }
}

/*
 * One output pixel: every group of 32 channels, packed words straight out. w: the layer's weights
 * (per channel NW words), t: the pixel's threshold block (out_c words), both in the stored channel
 * order. Windows of up to 8 words take a specialised instance; longer ones are summed in chunks of
 * BNN_U8_CHUNK words with per-channel partial sums.
 */
static inline void bnn_u8_pixel(const bnn_conv_params_t *p, const bnn_u8_geom_t *g, const uint32_t *w,
                                const uint32_t *t, int32_t iy0, int32_t ix0, uint32_t *out_pixel)
{
    const uint32_t out_c = p->dims.out_c, nw = g->nw;
    const int fast = bnn_u8_fast(p, g, iy0, ix0);
    uint32_t buf[BNN_U8_CHUNK];
    if (nw <= 8u) {
        if (fast) {
            bnn_u8_words_at(g, bnn_u8_origin(g, iy0, ix0), 0u, nw, buf);
        } else if (g->wpr == 1u) {
            bnn_u8_gather1(p, g, iy0, ix0, buf);
        } else {
            bnn_u8_gather(p, g, iy0, ix0, 0u, nw, buf);
        }
        bnn_u8_groups(buf, nw, w, t, out_c, out_pixel);
        return;
    }
    for (uint32_t o = 0; o < out_c; o += 32u) {
        const uint32_t lanes = out_c - o < 32u ? out_c - o : 32u;
        uint32_t u[32];
        for (uint32_t j = 0; j < lanes; j++) {
            u[j] = 0u;
        }
        for (uint32_t w0 = 0; w0 < nw; w0 += BNN_U8_CHUNK) {
            const uint32_t n = nw - w0 < BNN_U8_CHUNK ? nw - w0 : BNN_U8_CHUNK;
            if (fast) {
                bnn_u8_words_at(g, bnn_u8_origin(g, iy0, ix0), w0, n, buf);
            } else {
                bnn_u8_gather(p, g, iy0, ix0, w0, n, buf);
            }
            for (uint32_t j = 0; j < lanes; j++) {
                const uint32_t *wj = w + (o + j) * nw + w0;
                uint32_t acc = 0;
                for (uint32_t i = 0; i < n; i++) {
                    acc = bnn_u8_sad(acc, buf[i], wj[i]);
                }
                u[j] += bnn_u8_fold(acc);
            }
        }
        uint32_t bits = 0;
        for (uint32_t j = 0; j < lanes; j++) {
            bits = bnn_u8_shift_in(bits, u[j], t[o + j]);
        }
        out_pixel[o / 32u] = bits;
    }
}

#endif /* BNN_BS_U8_H */
