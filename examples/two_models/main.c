/*
 * Two bnn-mcu models in one firmware: `digits` and `kws`, each a library written by
 * `bnn-mcu convert ... --as library --name NAME` and added with add_subdirectory (CMakeLists.txt).
 *
 * For each model: N_INPUTS pseudo-random 8-bit inputs (xorshift32 from a fixed seed, so the host can
 * regenerate them), one inference each with NAME_invoke_top and NAME_invoke (must agree), the float
 * logits with NAME_logits; and NAME_quantize on a fixed ramp of floats; NULL arguments must be refused.
 * Every result is printed on the semihosting console, one line each, for tests/test_library_qemu.py to
 * compare with the reference:
 *
 *   <model> input <i> top <class> out <int32,...> logits <float bits in hex,...>
 *   <model> quantize <hex bytes>
 */
#include <stdint.h>

#include "digits.h"
#include "kws.h"

#define N_INPUTS 4u
#define RAMP 64u /* quantize test: x_j = j / 32 - 0.5 */

void semihost_print(const char *text);

static char line[8192];
static uint32_t pos;
static uint32_t rng;

static uint32_t xorshift32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void put(const char *s)
{
    while (*s && pos + 1u < sizeof line) {
        line[pos++] = *s++;
    }
}

static void put_hex(uint32_t v, uint32_t digits)
{
    char buf[9];
    for (uint32_t i = 0; i < digits; i++) {
        buf[i] = "0123456789abcdef"[(v >> (4u * (digits - 1u - i))) & 0xFu];
    }
    buf[digits] = '\0';
    put(buf);
}

static void put_int(int32_t v)
{
    char buf[12];
    uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    int i = 11;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + u % 10u);
        u /= 10u;
    } while (u);
    if (v < 0) {
        buf[--i] = '-';
    }
    put(&buf[i]);
}

static void flush(void)
{
    put("\n");
    line[pos] = '\0';
    semihost_print(line);
    pos = 0;
}

static uint32_t float_bits(float f)
{
    union {
        float f;
        uint32_t u;
    } b;
    b.f = f;
    return b.u;
}

/* One model: NAME, its macro prefix and the xorshift seed. Returns nonzero on an API inconsistency. */
#define RUN_MODEL(name, NAME, seed)                                                                      \
    do {                                                                                                 \
        static uint8_t in[NAME##_INPUT_BYTES];                                                           \
        static int32_t out[NAME##_OUTPUT_COUNT], again[NAME##_OUTPUT_COUNT];                             \
        static float logits[NAME##_OUTPUT_COUNT], ramp[RAMP];                                            \
        rng = (seed);                                                                                    \
        if (name##_invoke(NULL, out) != BNN_ERR_ARG || name##_invoke(in, NULL) != BNN_ERR_ARG ||         \
            name##_invoke_top(NULL, out) != -1) {                                                        \
            return 4; /* NULL arguments are refused, not dereferenced */                                 \
        }                                                                                                \
        for (uint32_t k = 0; k < N_INPUTS; k++) {                                                        \
            for (uint32_t j = 0; j < NAME##_INPUT_BYTES; j++) {                                          \
                in[j] = (uint8_t)(xorshift32() >> 24);                                                   \
            }                                                                                            \
            const int32_t top = name##_invoke_top(in, out);                                              \
            if (top < 0 || name##_invoke(in, again) != BNN_OK) {                                         \
                return 2;                                                                                \
            }                                                                                            \
            for (uint32_t j = 0; j < NAME##_OUTPUT_COUNT; j++) {                                         \
                if (again[j] != out[j]) {                                                                \
                    return 3;                                                                            \
                }                                                                                        \
            }                                                                                            \
            name##_logits(out, logits);                                                                  \
            put(#name " input ");                                                                        \
            put_int((int32_t)k);                                                                         \
            put(" top ");                                                                                \
            put_int(top);                                                                                \
            put(" out ");                                                                                \
            for (uint32_t j = 0; j < NAME##_OUTPUT_COUNT; j++) {                                         \
                put(j ? "," : "");                                                                       \
                put_int(out[j]);                                                                         \
            }                                                                                            \
            put(" logits ");                                                                             \
            for (uint32_t j = 0; j < NAME##_OUTPUT_COUNT; j++) {                                         \
                put(j ? "," : "");                                                                       \
                put_hex(float_bits(logits[j]), 8u);                                                      \
            }                                                                                            \
            flush();                                                                                     \
        }                                                                                                \
        for (uint32_t j = 0; j < RAMP; j++) {                                                            \
            ramp[j] = (float)j * 0.03125f - 0.5f;                                                        \
        }                                                                                                \
        name##_quantize(ramp, in, RAMP < NAME##_INPUT_BYTES ? RAMP : NAME##_INPUT_BYTES);                \
        put(#name " quantize ");                                                                         \
        for (uint32_t j = 0; j < RAMP && j < NAME##_INPUT_BYTES; j++) {                                  \
            put_hex(in[j], 2u);                                                                          \
        }                                                                                                \
        flush();                                                                                         \
    } while (0)

int main(void)
{
    RUN_MODEL(digits, DIGITS, 0x12345678u);
    RUN_MODEL(kws, KWS, 0x9e3779b9u);
    put("~~~ALL DONE~~~");
    flush();
    return 0;
}
