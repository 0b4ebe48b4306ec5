/*
 * mps2 UART: CMSDK APB UART0, TX+RX enabled, BAUDDIV 16 (QEMU ignores the baud rate). TX polled;
 * bnn_uart_getc sleeps in WFI (check-then-sleep with PRIMASK set, so no wake-up is lost), woken by the
 * UART receive interrupt (the handler only acknowledges it) or the SysTick. It never returns -1.
 * The clocks need no set-up in QEMU: cortex_m_platform_clock_init is empty.
 */
#include <stddef.h>
#include <stdint.h>

#include "bnn/platform.h"
#include "mps2.h"

void cortex_m_platform_clock_init(void) {}

void cortex_m_platform_uart_init(void)
{
    MPS2_UART_BAUDDIV = 16u; /* the minimum */
    MPS2_UART_CTRL = MPS2_UART_CTRL_TXEN | MPS2_UART_CTRL_RXEN | MPS2_UART_CTRL_RXIRQEN;
}

void cortex_m_platform_uart_irq(void)
{
    MPS2_UART_INTCLEAR = MPS2_UART_INT_RX;
}

void cortex_m_platform_uart_flush(void)
{
    while ((MPS2_UART_STATE & MPS2_UART_STATE_TXFULL) != 0u) {
    }
}

int bnn_uart_getc(void)
{
    CM_WAIT_UNTIL((MPS2_UART_STATE & MPS2_UART_STATE_RXFULL) != 0u);
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
