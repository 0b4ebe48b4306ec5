/*
 * Host "platform": runs the very same app (main.c + protocol + model) natively on the build machine,
 * with stdin/stdout as the UART. Used by tests/test_link_host.py.
 *
 *  - UART: read(2) on fd 0 (buffered: one read returns whatever the pipe holds), write(2) on fd 1
 *    directly (unbuffered, so every reply reaches the host at once). EOF on stdin -> getc returns -1.
 *  - Counter: CLOCK_MONOTONIC in nanoseconds, truncated to 32 bits (wraps every ~4.3 s). It is wall
 *    time, not a work measure, so bnn_counter_kind() says BNN_COUNTER_NONE; bnn_counter_hz() says
 *    1e9 so a host can still turn ticks into seconds.
 *  - Exit: exit(code).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bnn/platform.h"

static uint8_t in_buf[512];
static size_t in_len;
static size_t in_pos;

void bnn_platform_init(void)
{
    in_len = 0;
    in_pos = 0;
}

int bnn_uart_getc(void)
{
    if (in_pos == in_len) {
        ssize_t n;
        do {
            n = read(0, in_buf, sizeof in_buf);
        } while (n < 0 && errno == EINTR);
        if (n <= 0) {
            return -1;
        }
        in_len = (size_t)n;
        in_pos = 0;
    }
    return in_buf[in_pos++];
}

void bnn_uart_write(const uint8_t *data, size_t len)
{
    while (len > 0u) {
        const ssize_t n = write(1, data, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            exit(3); /* the host went away */
        }
        data += n;
        len -= (size_t)n;
    }
}

void bnn_uart_putc(uint8_t byte)
{
    bnn_uart_write(&byte, 1u);
}

uint32_t bnn_counter_read(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

bnn_counter_kind_t bnn_counter_kind(void)
{
    return BNN_COUNTER_NONE;
}

uint32_t bnn_counter_hz(void)
{
    return 1000000000u;
}

void bnn_timed_region_enter(void)
{
}

void bnn_timed_region_exit(void)
{
}

void bnn_platform_exit(int code)
{
    exit(code);
}

/* The host build does not measure its stack. */
uint32_t bnn_platform_stack_used(void)
{
    return 0u;
}

uint32_t bnn_platform_stack_size(void)
{
    return 0u;
}
