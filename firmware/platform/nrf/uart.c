/*
 * nRF UART (nRF51 UART0, nRF52 legacy UART0): 8N1 at BNN_UART_BAUD, no flow control. TX waits for
 * TXDRDY after each byte. RX: bnn_uart_getc sleeps in WFI until RXDRDY; the UART interrupt only
 * disables itself (the event stays set, and the interrupt line with it, until getc clears it), and
 * getc re-arms it before the next sleep.
 * Clocks: the CPU runs from the 16 MHz (nRF51) / 64 MHz (nRF52) clock out of reset; with NRF_START_HFXO
 * the crystal oscillator is started so that the baud rate is crystal-accurate.
 */
#include <stddef.h>
#include <stdint.h>

#include "bnn/platform.h"
#include "nrf.h"

void cortex_m_platform_clock_init(void)
{
#if NRF_START_HFXO
    NRF_CLOCK_EVENTS_HFCLKSTARTED = 0u;
    NRF_CLOCK_TASKS_HFCLKSTART = 1u;
    while (NRF_CLOCK_EVENTS_HFCLKSTARTED == 0u) {
    }
#endif
}

void cortex_m_platform_uart_init(void)
{
    NRF_UART_ENABLE = 0u;
    NRF_UART_PSELTXD = (uint32_t)(NRF_UART_TX_PIN);
    NRF_UART_PSELRXD = (uint32_t)(NRF_UART_RX_PIN);
    NRF_UART_BAUDRATE = NRF_BAUD_REG(BNN_UART_BAUD);
    NRF_UART_CONFIG = 0u; /* no parity, no hardware flow control */
    NRF_UART_ENABLE = NRF_UART_ENABLE_ENABLED;
    NRF_UART_EVENTS_TXDRDY = 0u;
    NRF_UART_EVENTS_RXDRDY = 0u;
    NRF_UART_EVENTS_ERROR = 0u;
    NRF_UART_STARTTX = 1u;
    NRF_UART_STARTRX = 1u;
    NRF_UART_INTENSET = NRF_UART_INT_RXDRDY;
}

void cortex_m_platform_uart_irq(void)
{
    NRF_UART_INTENCLR = NRF_UART_INT_RXDRDY; /* getc clears the event and re-arms */
}

void cortex_m_platform_uart_flush(void) {} /* putc returns only after TXDRDY */

int bnn_uart_getc(void)
{
    NRF_UART_INTENSET = NRF_UART_INT_RXDRDY;
    CM_WAIT_UNTIL(NRF_UART_EVENTS_RXDRDY != 0u);
    NRF_UART_EVENTS_RXDRDY = 0u; /* before reading RXD: reading may raise it again for the next byte */
    if (NRF_UART_EVENTS_ERROR != 0u) { /* overrun/framing: the byte is still delivered; clear the flags */
        NRF_UART_ERRORSRC = NRF_UART_ERRORSRC;
        NRF_UART_EVENTS_ERROR = 0u;
    }
    return (int)(NRF_UART_RXD & 0xFFu);
}

void bnn_uart_putc(uint8_t byte)
{
    NRF_UART_TXD = byte;
    while (NRF_UART_EVENTS_TXDRDY == 0u) {
    }
    NRF_UART_EVENTS_TXDRDY = 0u;
}

void bnn_uart_write(const uint8_t *data, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        bnn_uart_putc(data[i]);
    }
}
