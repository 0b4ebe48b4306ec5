/*
 * mps2 implementation of bnn/platform.h.
 *
 * UART: CMSDK APB UART0, polled TX; RX waits with WFI, woken by the RX interrupt (or the SysTick).
 * Counter: CMSDK APB TIMER0 free-running down from 0xFFFFFFFF at BNN_CLOCK_HZ (25 MHz), returned as
 *   an up-counter. Under `qemu -icount shift=6` every instruction advances virtual time by 64 ns, so
 *   one instruction = 1.6 ticks exactly (measured by firmware/tests/platform_selftest).
 * SysTick: 1 kHz, empty handler. It keeps QEMU's main loop polling the serial socket (otherwise the
 *   first host->guest bytes can stall for ~1 s); it is stopped inside the timed region.
 * Exit: semihosting SYS_EXIT_EXTENDED, so QEMU (-semihosting-config enable=on) exits with the code.
 */
#include <stddef.h>
#include <stdint.h>

#include "bnn/platform.h"
#include "mps2.h"

#define MPS2_SYS_WRITE0 0x04
#define MPS2_SYS_EXIT_EXTENDED 0x20
#define MPS2_ADP_STOPPED_APPLICATION_EXIT 0x20026u

static uint32_t semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void mps2_semihost_write0(const char *text)
{
    (void)semihost_call(MPS2_SYS_WRITE0, text);
}

void mps2_semihost_exit(int code)
{
    const uint32_t block[2] = {MPS2_ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    (void)semihost_call(MPS2_SYS_EXIT_EXTENDED, block);
    for (;;) { /* no debugger/semihosting: stop here */
        __asm__ volatile("wfi");
    }
}

void mps2_uart0_rx_irq(void)
{
    MPS2_UART_INTCLEAR = MPS2_UART_INT_RX;
}

static void systick_start(void)
{
    MPS2_SYST_CSR = MPS2_SYST_CSR_ENABLE | MPS2_SYST_CSR_TICKINT | MPS2_SYST_CSR_CLKSOURCE;
}

static void systick_stop(void)
{
    MPS2_SYST_CSR = 0u;
    MPS2_SCB_ICSR = MPS2_SCB_ICSR_PENDSTCLR;
}

void bnn_platform_init(void)
{
    MPS2_UART_BAUDDIV = 16u; /* the minimum; QEMU ignores the baud rate */
    MPS2_UART_CTRL = MPS2_UART_CTRL_TXEN | MPS2_UART_CTRL_RXEN | MPS2_UART_CTRL_RXIRQEN;
    MPS2_NVIC_ICPR0 = 1u << (MPS2_UART0_RX_IRQ);
    MPS2_NVIC_ISER0 = 1u << (MPS2_UART0_RX_IRQ);

    MPS2_TIMER_CTRL = 0u;
    MPS2_TIMER_RELOAD = 0xFFFFFFFFu;
    MPS2_TIMER_VALUE = 0xFFFFFFFFu;
    MPS2_TIMER_CTRL = MPS2_TIMER_CTRL_EN;

    MPS2_SYST_RVR = (uint32_t)(BNN_CLOCK_HZ) / 1000u - 1u;
    MPS2_SYST_CVR = 0u;
    systick_start();
    __asm__ volatile("cpsie i" ::: "memory");
}

int bnn_uart_getc(void)
{
    while ((MPS2_UART_STATE & MPS2_UART_STATE_RXFULL) == 0u) {
        /* Masked check-then-sleep: an interrupt arriving between the check and WFI still wakes it. */
        __asm__ volatile("cpsid i" ::: "memory");
        if ((MPS2_UART_STATE & MPS2_UART_STATE_RXFULL) == 0u) {
            __asm__ volatile("wfi" ::: "memory");
        }
        __asm__ volatile("cpsie i" ::: "memory");
    }
    return (int)(MPS2_UART_DATA & 0xFFu);
}

void bnn_uart_putc(uint8_t byte)
{
    while ((MPS2_UART_STATE & MPS2_UART_STATE_TXFULL) != 0u) {
    }
    MPS2_UART_DATA = byte;
}

void bnn_uart_write(const uint8_t *data, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        bnn_uart_putc(data[i]);
    }
}

uint32_t bnn_counter_read(void)
{
    return 0xFFFFFFFFu - MPS2_TIMER_VALUE;
}

bnn_counter_kind_t bnn_counter_kind(void)
{
    return (bnn_counter_kind_t)(BNN_COUNTER_KIND);
}

uint32_t bnn_counter_hz(void)
{
    return (uint32_t)(BNN_CLOCK_HZ);
}

void bnn_timed_region_enter(void)
{
    systick_stop();
    MPS2_NVIC_ICER0 = 1u << (MPS2_UART0_RX_IRQ);
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

void bnn_timed_region_exit(void)
{
    __asm__ volatile("" ::: "memory");
    MPS2_NVIC_ISER0 = 1u << (MPS2_UART0_RX_IRQ);
    systick_start();
}

extern uint32_t _sstack, _estack;

uint32_t bnn_platform_stack_used(void)
{
    const uint32_t *p = &_sstack;
    while (p < &_estack && *p == BNN_STACK_PAINT) {
        p++;
    }
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)p);
}

uint32_t bnn_platform_stack_size(void)
{
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)&_sstack);
}

void bnn_platform_exit(int code)
{
    while ((MPS2_UART_STATE & MPS2_UART_STATE_TXFULL) != 0u) { /* let the last byte leave */
    }
    mps2_semihost_exit(code);
}
