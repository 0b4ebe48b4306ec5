/*
 * What a board (or the host) must provide to the app. One implementation per directory under
 * firmware/platform/<name>/; CMake compiles exactly one.
 */
#ifndef BNN_PLATFORM_H
#define BNN_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What bnn_counter_read() counts; the same numbers as INFO.counter_kind in docs/PROTOCOL.md. */
typedef enum {
    BNN_COUNTER_NONE = 0,
    BNN_COUNTER_INSTRUCTIONS = 1, /* QEMU with -icount: ticks are proportional to instructions */
    BNN_COUNTER_CYCLES = 2        /* DWT CYCCNT on a real core */
} bnn_counter_kind_t;

void bnn_platform_init(void);

/* Blocking single-byte UART I/O. bnn_uart_getc returns 0..255, or -1 if the link is closed. */
int bnn_uart_getc(void);
void bnn_uart_putc(uint8_t byte);
void bnn_uart_write(const uint8_t *data, size_t len);

/* A free-running up-counter (wraps modulo 2^32). Differences of two reads are ticks. */
uint32_t bnn_counter_read(void);
bnn_counter_kind_t bnn_counter_kind(void);
uint32_t bnn_counter_hz(void);

/* Called around the timed region: a platform may stop periodic interrupts there. */
void bnn_timed_region_enter(void);
void bnn_timed_region_exit(void);

/*
 * Stack high-water mark: the deepest the stack has been since reset, in bytes (the platform paints
 * the stack at reset and finds the first overwritten word), and the stack reserve. Both 0 where the
 * platform cannot tell (the host build).
 */
uint32_t bnn_platform_stack_used(void);
uint32_t bnn_platform_stack_size(void);

/* Stop the program with a status (QEMU: semihosting exit code; board: spin). */
void bnn_platform_exit(int code);

#ifdef __cplusplus
}
#endif

#endif /* BNN_PLATFORM_H */
