/*
 * Platform self-test (see CMakeLists.txt). Before touching the UART it times a loop of known length:
 * selftest_spin(n) executes exactly 2 instructions per iteration (subs + bne; the test checks this
 * with objdump), so ticks(n2) - ticks(n1) = 2 * (n2 - n1) * ticks_per_instruction.
 * Report line (sent on 'q'; the program exits with 3 after the host sends one more byte):
 *   ticks n1=<n1> t1=<ticks> n2=<n2> t2=<ticks> untimed2=<ticks> hz=<counter_hz> kind=<counter_kind>
 * untimed2 repeats the n2 measurement outside bnn_timed_region_enter/exit, with the SysTick running.
 */
#include <stddef.h>
#include <stdint.h>

#include "bnn/platform.h"

#define SELFTEST_N1 1000u
#define SELFTEST_N2 101000u
#define SELFTEST_EXIT_CODE 3

__attribute__((noipa, noinline)) void selftest_spin(uint32_t n)
{
    __asm__ volatile("1:\n\t"
                     "subs %0, %0, #1\n\t"
                     "bne 1b"
                     : "+r"(n)
                     :
                     : "cc");
}

static uint32_t time_spin(uint32_t n, int timed)
{
    uint32_t t0;
    uint32_t t1;
    if (timed) {
        bnn_timed_region_enter();
    }
    t0 = bnn_counter_read();
    selftest_spin(n);
    t1 = bnn_counter_read();
    if (timed) {
        bnn_timed_region_exit();
    }
    return t1 - t0;
}

static void put_str(const char *s)
{
    while (*s != '\0') {
        bnn_uart_putc((uint8_t)*s++);
    }
}

static void put_u32(uint32_t v)
{
    char buf[10];
    size_t n = 0;
    do {
        buf[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    while (n > 0u) {
        bnn_uart_putc((uint8_t)buf[--n]);
    }
}

static void put_field(const char *name, uint32_t v)
{
    put_str(name);
    put_u32(v);
}

int main(void)
{
    uint32_t t1;
    uint32_t t2;
    uint32_t untimed2;
    int c;

    bnn_platform_init();
    t1 = time_spin(SELFTEST_N1, 1);
    t2 = time_spin(SELFTEST_N2, 1);
    untimed2 = time_spin(SELFTEST_N2, 0);

    for (;;) {
        c = bnn_uart_getc();
        if (c < 0 || c == 'q') {
            break;
        }
        if (c == '!') {
            __asm__ volatile("udf #0");
        }
        bnn_uart_putc((uint8_t)c);
    }
    put_field("ticks n1=", SELFTEST_N1);
    put_field(" t1=", t1);
    put_field(" n2=", SELFTEST_N2);
    put_field(" t2=", t2);
    put_field(" untimed2=", untimed2);
    put_field(" hz=", bnn_counter_hz());
    put_field(" kind=", (uint32_t)bnn_counter_kind());
    put_str("\n");
    /* Exit only once the host has the report: in pty mode, bytes still unread when QEMU exits are lost
     * (the pty hangs up and the kernel flushes them). The host acknowledges with any byte. */
    (void)bnn_uart_getc();
    return SELFTEST_EXIT_CODE;
}
