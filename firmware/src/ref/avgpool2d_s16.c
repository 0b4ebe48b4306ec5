/* Reference kernel: see bnn/kernels.h for the contract (derivation: bnn_mcu/ops/avgpool.py). */
#include "bnn/kernels.h"
#include "ref_common.h"

bnn_status_t bnn_avgpool2d_s16(const bnn_avgpool_params_t *params, const int16_t *input, const int32_t *mult,
                               int16_t *output)
{
    if (!params || !input || !mult || !output || params->shift > 62u ||
        (params->row_class == NULL) != (params->col_class == NULL) || params->dims.in_c != params->dims.out_c) {
        return BNN_ERR_ARG;
    }
    const bnn_dims_t *d = &params->dims;
    const uint32_t c = d->in_c;
    for (uint32_t oy = 0; oy < d->out_h; oy++) {
        for (uint32_t ox = 0; ox < d->out_w; ox++) {
            const uint32_t cls = params->row_class
                                     ? (uint32_t)params->row_class[oy] * params->col_classes + params->col_class[ox]
                                     : 0u;
            int16_t *out = output + ((uint32_t)oy * d->out_w + ox) * c;
            for (uint32_t k = 0; k < c; k++) {
                int64_t sum = 0;
                for (uint32_t ky = 0; ky < d->k_h; ky++) {
                    uint32_t iy = 0;
                    if (!bnn_ref_tap(oy, ky, d->stride_h, params->padding.top, d->in_h, &iy)) {
                        continue; /* padded taps are not part of the average */
                    }
                    for (uint32_t kx = 0; kx < d->k_w; kx++) {
                        uint32_t ix = 0;
                        if (bnn_ref_tap(ox, kx, d->stride_w, params->padding.left, d->in_w, &ix)) {
                            sum += input[((uint32_t)iy * d->in_w + ix) * c + k];
                        }
                    }
                }
                out[k] = bnn_ref_sat16(bnn_ref_floor_shift(sum * mult[cls], params->shift));
            }
        }
    }
    return BNN_OK;
}
