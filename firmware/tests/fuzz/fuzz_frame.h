/*
 * Fuzz target for the protocol's receive path (firmware/src/protocol, docs/PROTOCOL.md); fuzz_frame.c
 * explains the input layout and the invariants it asserts. Built two ways (tests/test_fuzz_protocol.py):
 *   - with libFuzzer:  clang -fsanitize=fuzzer,address,undefined fuzz_frame.c <protocol sources>
 *   - with driver.c:   gcc -fsanitize=address,undefined driver.c fuzz_frame.c <protocol sources>
 *     (a seeded generator of valid, mutated and spliced frames; no clang needed)
 */
#ifndef FUZZ_FRAME_H
#define FUZZ_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* What the target has seen. The driver prints it, and the test checks that the generator reaches every
 * outcome (so "0 violations" does not just mean "never got past the first check"). */
typedef struct {
    unsigned long long inputs;     /* calls of LLVMFuzzerTestOneInput */
    unsigned long long bytes;      /* bytes fed to the receiver */
    unsigned long long frames;     /* frames accepted */
    unsigned long long errors[5];  /* rejected frames, indexed by error code 1..4 (BAD_CRC..SHORT) */
    unsigned long long cobs_ok;    /* segments bnn_cobs_decode accepted */
    unsigned long long violations; /* broken invariants (only > 0 with fuzz_keep_going) */
} fuzz_stats_t;

extern fuzz_stats_t fuzz_stats;

/* 0 (default, and always under libFuzzer): abort() at the first violation. 1: count and carry on. */
extern int fuzz_keep_going;

/* data[0] = max_payload, data[1..] = bytes as they arrive from the UART. Always returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* FUZZ_FRAME_H */
