/* Bit-sliced kernel set, 8-bit input: sums of absolute differences (see bs_u8.h and bnn/kernels.h). */
#include "bnn/kernels.h"

/* Small buffers are cleared inline, not by a call to memset. */
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#include "bs_u8.h"

/* Output columns per column table (bnn_conv2d_u8_b1 walks wider rows in chunks). */
#define BNN_U8_COLUMNS 32u

/*
 * Row word mask of output column ox: g->tail where the window's columns are all inside the input; for
 * a border column of a one-word row (WPR = 1) the taps inside the input; 0 where the word-load path
 * does not apply (that column takes bnn_u8_pixel).
 */
static uint32_t bnn_u8_column_mask(const bnn_conv_params_t *p, const bnn_u8_geom_t *g, uint32_t ox)
{
    const bnn_dims_t *d = &p->dims;
    const int32_t ix0 = (int32_t)(ox * d->stride_w) - (int32_t)p->padding.left;
    const int32_t kx_lo = ix0 < 0 ? -ix0 : 0;
    const int32_t kx_hi = (int32_t)d->in_w - ix0 < (int32_t)d->k_w ? (int32_t)d->in_w - ix0 : (int32_t)d->k_w;
    if (kx_lo == 0 && kx_hi == (int32_t)d->k_w) {
        return g->tail;
    }
    if (g->wpr != 1u || kx_lo >= kx_hi) {
        return 0u;
    }
    const uint32_t hi_bytes = (uint32_t)kx_hi * g->c, lo_bytes = (uint32_t)kx_lo * g->c; /* <= 4 */
    const uint32_t below_hi = hi_bytes >= 4u ? 0xFFFFFFFFu : (1u << (8u * hi_bytes)) - 1u;
    return below_hi & ~((1u << (8u * lo_bytes)) - 1u) & g->tail;
}

bnn_status_t bnn_conv2d_u8_b1(const bnn_conv_params_t *params, const uint8_t *input, const uint32_t *weights,
                              const int32_t *thresholds, uint32_t *output)
{
    if (!params || !input || !weights || !thresholds || !output ||
        (params->row_class == NULL) != (params->col_class == NULL)) {
        return BNN_ERR_ARG;
    }
    static const uint32_t zero_row[8] = {0u}; /* what a padded window row reads (WPR <= 8) */
    const bnn_dims_t *d = &params->dims;
    bnn_u8_geom_t g;
    bnn_u8_geom(d, input, &g);
    const uint32_t owc = BNN_WORDS_FOR(d->out_c);
    const uint32_t *th = (const uint32_t *)thresholds;
    const int word_rows = g.nw <= 8u; /* else every pixel takes bnn_u8_pixel's chunked sums */
    const int32_t step = (int32_t)d->stride_w * (int32_t)d->in_c;
    const int32_t x_base = -(int32_t)params->padding.left * (int32_t)g.c; /* window column 0 at ox = 0 */
    uint32_t col[2u * BNN_U8_COLUMNS]; /* per column: row word mask (0: no word loads), threshold offset */
    uint8_t run_end[BNN_U8_COLUMNS];    /* end of the run of nonzero masks from each column */
    for (uint32_t cx = 0; cx < d->out_w; cx += BNN_U8_COLUMNS) {
        const uint32_t cx_end = d->out_w - cx < BNN_U8_COLUMNS ? d->out_w : cx + BNN_U8_COLUMNS;
        for (uint32_t ox = cx; ox < cx_end; ox++) {
            col[2u * (ox - cx)] = word_rows ? bnn_u8_column_mask(params, &g, ox) : 0u;
            col[2u * (ox - cx) + 1u] = params->col_class ? 4u * params->col_class[ox] * d->out_c : 0u;
        }
        for (uint32_t i = cx_end - cx, end = i; i-- > 0u;) {
            end = col[2u * i] ? end : i;
            run_end[i] = (uint8_t)(col[2u * i] ? end : i);
        }
        for (uint32_t oy = 0; oy < d->out_h; oy++) {
            const int32_t iy0 = (int32_t)(oy * d->stride_h) - (int32_t)params->padding.top;
            const uint32_t *t_row = th + (params->row_class ? (uint32_t)params->row_class[oy] * params->col_classes
                                                             : 0u) * d->out_c;
            uint32_t *out_row = output + (uint32_t)oy * d->out_w * owc;
            /* window rows at ox = 0 as byte offsets (possibly outside the input), and the pixels whose
             * loads stay inside the buffer: [x_min, x_max) */
            int32_t off[8];
            uint32_t steps[8];
            int32_t off_first = 0, off_last = 0;
            int have_rows = 0;
            for (uint32_t ky = 0; ky < d->k_h && word_rows; ky++) {
                const int32_t iy = iy0 + (int32_t)ky;
                const int inside = iy >= 0 && iy < (int32_t)d->in_h;
                off[ky] = iy * (int32_t)g.row_stride + x_base;
                steps[ky] = inside ? (uint32_t)step : 0u;
                if (inside) {
                    off_first = have_rows ? off_first : off[ky];
                    off_last = off[ky];
                    have_rows = 1;
                }
            }
            uint32_t x_min = cx, x_max = word_rows ? cx_end : cx;
            while (have_rows && x_min < x_max && off_first + (int32_t)x_min * step < 0) {
                x_min++;
            }
            while (have_rows && x_max > x_min &&
                   off_last + (int32_t)(x_max - 1u) * step + 4 * (int32_t)g.wpr > (int32_t)g.in_bytes) {
                x_max--;
            }
            for (uint32_t ox = cx; ox < cx_end;) {
                uint32_t end = cx + run_end[ox - cx];
                end = ox < x_min ? ox : end < x_max ? end : x_max;
                if (end > ox) { /* a run of word-load pixels */
                    const uint8_t *r[8];
                    for (uint32_t ky = 0; ky < d->k_h; ky++) {
                        r[ky] = steps[ky] ? input + (off[ky] + (int32_t)ox * step) : (const uint8_t *)zero_row;
                    }
                    bnn_u8_run(params, &g, r, steps, col + 2u * (ox - cx), weights, t_row, ox, end, out_row);
                    ox = end;
                    continue;
                }
                const int32_t ix0 = (int32_t)(ox * d->stride_w) - (int32_t)params->padding.left;
                const uint32_t *t = t_row + (params->col_class ? (uint32_t)params->col_class[ox] * d->out_c : 0u);
                bnn_u8_pixel(params, &g, weights, t, iy0, ix0, out_row + ox * owc);
                ox++;
            }
        }
    }
    return BNN_OK;
}
