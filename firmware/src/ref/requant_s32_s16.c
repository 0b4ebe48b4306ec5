/* Reference kernel: see bnn/kernels.h for the contract (derivation: bnn_mcu/ops/requant.py). */
#include "bnn/kernels.h"
#include "ref_common.h"

bnn_status_t bnn_requant_s32_s16(const bnn_requant_params_t *params, const int32_t *input, const int32_t *mult,
                                 const int32_t *bias, int16_t *output)
{
    if (!params || !input || !mult || !bias || !output || params->shift > 62u ||
        (params->row_class == NULL) != (params->col_class == NULL)) {
        return BNN_ERR_ARG;
    }
    const uint32_t c = params->channels;
    for (uint32_t y = 0; y < params->height; y++) {
        for (uint32_t x = 0; x < params->width; x++) {
            const uint32_t cls = params->row_class
                                     ? (uint32_t)params->row_class[y] * params->col_classes + params->col_class[x]
                                     : 0u;
            const int32_t *b = bias + cls * c;
            const uint32_t base = (y * params->width + x) * c;
            for (uint32_t k = 0; k < c; k++) {
                const int64_t v = (int64_t)input[base + k] * mult[k] + b[k];
                output[base + k] = bnn_ref_sat16(bnn_ref_floor_shift(v, params->shift));
            }
        }
    }
    return BNN_OK;
}
