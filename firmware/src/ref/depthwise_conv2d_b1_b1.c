/* Reference kernel: see bnn/kernels.h for the contract. */
#include "bnn/kernels.h"
#include "ref_common.h"

/*
 * Output channel o reads input channel o / depth_multiplier. Per output pixel and channel, the count x
 * is the number of window taps whose input bit differs from the weight bit; a padded tap reads as bit 0
 * (it counts its weight bit), as for every b1 convolution.
 */
bnn_status_t bnn_depthwise_conv2d_b1_b1(const bnn_depthwise_params_t *params, const uint32_t *input,
                                        const uint32_t *weights, const int32_t *thresholds, uint32_t *output)
{
    if (!params || !input || !weights || !thresholds || !output || !bnn_ref_classes_ok(&params->conv) ||
        params->depth_multiplier == 0u ||
        params->conv.dims.out_c != (uint32_t)params->conv.dims.in_c * params->depth_multiplier) {
        return BNN_ERR_ARG;
    }
    const bnn_conv_params_t *p = &params->conv;
    const bnn_dims_t *d = &p->dims;
    const uint32_t iwc = BNN_WORDS_FOR(d->in_c);
    const uint32_t owc = BNN_WORDS_FOR(d->out_c);
    const uint32_t taps = (uint32_t)d->k_h * d->k_w;
    const uint32_t tw = BNN_WORDS_FOR(taps);
    for (uint32_t oy = 0; oy < d->out_h; oy++) {
        for (uint32_t ox = 0; ox < d->out_w; ox++) {
            uint32_t *px = output + ((uint32_t)oy * d->out_w + ox) * owc;
            const int32_t *t = thresholds + bnn_ref_block(p, oy, ox) * d->out_c;
            uint32_t word = 0;
            for (uint32_t o = 0; o < d->out_c; o++) {
                const uint32_t c = o / params->depth_multiplier;
                const uint32_t *w = weights + o * tw;
                int32_t x = 0;
                for (uint32_t ky = 0; ky < d->k_h; ky++) {
                    uint32_t iy = 0;
                    const int row_in = bnn_ref_tap(oy, ky, d->stride_h, p->padding.top, d->in_h, &iy);
                    for (uint32_t kx = 0; kx < d->k_w; kx++) {
                        uint32_t ix = 0;
                        const uint32_t tap = ky * d->k_w + kx;
                        const uint32_t wbit = (w[tap / 32u] >> (tap % 32u)) & 1u;
                        uint32_t abit = 0u; /* a padded tap reads as bit 0 */
                        if (row_in && bnn_ref_tap(ox, kx, d->stride_w, p->padding.left, d->in_w, &ix)) {
                            abit = (input[((uint32_t)iy * d->in_w + ix) * iwc + c / 32u] >> (c % 32u)) & 1u;
                        }
                        x += (int32_t)(abit ^ wbit);
                    }
                }
                bnn_ref_put_bit(px, o, d->out_c, &word, x > t[o]);
            }
        }
    }
    return BNN_OK;
}
