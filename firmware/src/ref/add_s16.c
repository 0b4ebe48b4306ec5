/* Reference kernel: see bnn/kernels.h for the contract (derivation: bnn_mcu/ops/requant.py). */
#include "bnn/kernels.h"
#include "ref_common.h"

bnn_status_t bnn_add_s16(const bnn_add_params_t *params, const int16_t *const inputs[], int16_t *output)
{
    if (!params || !inputs || !output || !params->mult || params->count == 0u || params->shift > 62u) {
        return BNN_ERR_ARG;
    }
    for (uint32_t k = 0; k < params->count; k++) {
        if (!inputs[k]) {
            return BNN_ERR_ARG;
        }
    }
    for (uint32_t i = 0; i < params->values; i++) {
        int64_t acc = 0;
        for (uint32_t k = 0; k < params->count; k++) {
            acc += (int64_t)inputs[k][i] * params->mult[k];
        }
        output[i] = bnn_ref_sat16(bnn_ref_floor_shift(acc, params->shift));
    }
    return BNN_OK;
}
