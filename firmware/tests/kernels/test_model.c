/*
 * src/model.c on the host against the fake generated layers of tests/fake_model/fake_layers.c: layers
 * run in order, an error stops the loop and is returned, the outputs are read at
 * bnn_model_output_offset, top-1 uses the output affine (first index on ties), ticks are per layer.
 * Prints "~~~ALL TESTS PASSED~~~" (exit 0) or exits 1.
 */
#include <stdio.h>
#include <string.h>

#include "bnn/layers.h"
#include "bnn/model.h"

extern uint32_t fake_layers_calls[16];
extern uint32_t fake_layers_ncalls;

static unsigned failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            printf("FAIL line %d: %s\n", __LINE__, #cond);                                         \
        }                                                                                          \
    } while (0)

static void expected(const uint8_t *in, int32_t *out)
{
    for (uint32_t k = 0; k < BNN_MODEL_OUTPUT_COUNT; k++) {
        out[k] = -100 * (int32_t)k;
    }
    for (uint32_t j = 0; j < BNN_MODEL_INPUT_BYTES; j++) {
        out[j % BNN_MODEL_OUTPUT_COUNT] += in[j];
    }
}

int main(void)
{
    uint8_t in[BNN_MODEL_INPUT_BYTES];
    int32_t out[BNN_MODEL_OUTPUT_COUNT], want[BNN_MODEL_OUTPUT_COUNT], top1 = -1;
    uint32_t ticks[BNN_MODEL_NUM_LAYERS];

    /* all zeros: outputs -100k; the affine (channel 9: scale -1, offset 950) makes channel 9 the top
     * class (logit 900 + 950) although its raw output is the smallest */
    memset(in, 0, sizeof in);
    fake_layers_ncalls = 0;
    CHECK(bnn_model_invoke(in, out, &top1, ticks) == BNN_OK);
    expected(in, want);
    CHECK(memcmp(out, want, sizeof out) == 0);
    CHECK(top1 == 9);
    CHECK(fake_layers_ncalls == BNN_MODEL_NUM_LAYERS);
    for (uint32_t i = 0; i < BNN_MODEL_NUM_LAYERS; i++) {
        CHECK(fake_layers_calls[i] == i);
    }

    /* a tie: out[0] = 4*225 = 900, out[1] = 4*250 - 100 = 900, logit 9 = -(4*255 - 900) + 950 = 830 */
    memset(in, 0, sizeof in);
    for (uint32_t j = 0; j < BNN_MODEL_INPUT_BYTES; j += BNN_MODEL_OUTPUT_COUNT) {
        in[j] = 225u;
        in[j + 1u] = 250u;
        in[j + 9u] = 255u;
    }
    CHECK(bnn_model_invoke(in, out, &top1, NULL) == BNN_OK);
    expected(in, want);
    CHECK(memcmp(out, want, sizeof out) == 0);
    CHECK(out[0] == 900 && out[1] == 900 && out[9] == 120);
    CHECK(top1 == 0);

    /* an error in layer 1 stops the loop and is returned */
    memset(in, 0, sizeof in);
    in[0] = 0xFFu;
    in[1] = 0xEEu;
    fake_layers_ncalls = 0;
    CHECK(bnn_model_invoke(in, out, &top1, ticks) == BNN_ERR_ARENA);
    CHECK(fake_layers_ncalls == 2u);

    /* arguments */
    CHECK(bnn_model_invoke(NULL, out, NULL, NULL) == BNN_ERR_ARG);
    CHECK(bnn_model_invoke(in, NULL, NULL, NULL) == BNN_ERR_ARG);

    printf("model.c: %u failures\n", failures);
    if (failures == 0u) {
        printf("~~~ALL TESTS PASSED~~~\n");
        return 0;
    }
    return 1;
}
