/*
 * Nordic nRF51/nRF52 (QEMU microbit nRF51822; nRF52840-DK): UART and CLOCK registers. Private to this
 * directory; startup, SysTick, DWT and the timed region are shared (firmware/platform/cortex_m/).
 *
 * Defines this platform needs (from the board file, see boards/microbit.yaml, boards/nrf52840-dk.yaml):
 *   NRF_UART0_BASE     UART0 (0x40002000 on nRF51 and nRF52; the nRF52's legacy non-DMA UART)
 *   BNN_UART_IRQ       its interrupt (2)
 *   NRF_UART_TX_PIN    GPIO for TXD, NRF_UART_RX_PIN for RXD (nRF52: port 1 pins are 32 + n)
 *   NRF_START_HFXO     1: start the 32/64 MHz crystal oscillator for an accurate baud rate (real chips)
 *   BNN_UART_BAUD      baud rate (one of the values in nrf_baudrate below)
 */
#ifndef BNN_PLATFORM_NRF_H
#define BNN_PLATFORM_NRF_H

#include <stdint.h>

#include "cortex_m.h"

#if !defined(NRF_UART0_BASE) || !defined(NRF_UART_TX_PIN) || !defined(NRF_UART_RX_PIN) || \
    !defined(NRF_START_HFXO) || !defined(BNN_UART_BAUD)
#error "nrf platform: compile with the board's defines (NRF_UART0_BASE, NRF_UART_TX_PIN, ...)"
#endif

#define NRF_UART_REG(off) CM_REG((NRF_UART0_BASE) + (off))
#define NRF_UART_STARTRX NRF_UART_REG(0x000u)
#define NRF_UART_STARTTX NRF_UART_REG(0x008u)
#define NRF_UART_EVENTS_RXDRDY NRF_UART_REG(0x108u)
#define NRF_UART_EVENTS_TXDRDY NRF_UART_REG(0x11Cu)
#define NRF_UART_EVENTS_ERROR NRF_UART_REG(0x124u)
#define NRF_UART_INTENSET NRF_UART_REG(0x304u)
#define NRF_UART_INTENCLR NRF_UART_REG(0x308u)
#define NRF_UART_ERRORSRC NRF_UART_REG(0x480u)
#define NRF_UART_ENABLE NRF_UART_REG(0x500u)
#define NRF_UART_PSELTXD NRF_UART_REG(0x50Cu)
#define NRF_UART_PSELRXD NRF_UART_REG(0x514u)
#define NRF_UART_RXD NRF_UART_REG(0x518u)
#define NRF_UART_TXD NRF_UART_REG(0x51Cu)
#define NRF_UART_BAUDRATE NRF_UART_REG(0x524u)
#define NRF_UART_CONFIG NRF_UART_REG(0x56Cu)
#define NRF_UART_ENABLE_ENABLED 4u
#define NRF_UART_INT_RXDRDY (1u << 2)

#define NRF_CLOCK_TASKS_HFCLKSTART CM_REG(0x40000000u)
#define NRF_CLOCK_EVENTS_HFCLKSTARTED CM_REG(0x40000100u)

/* BAUDRATE register values (nRF51 and nRF52 reference manuals, UART BAUDRATE). */
#define NRF_BAUD_REG(b)                                                                                \
    ((b) == 9600 ? 0x00275000u                                                                         \
     : (b) == 19200 ? 0x004EA000u                                                                      \
     : (b) == 38400 ? 0x009D5000u                                                                      \
     : (b) == 57600 ? 0x00EBF000u                                                                      \
     : (b) == 115200 ? 0x01D7E000u                                                                     \
     : (b) == 230400 ? 0x03AFB000u                                                                     \
     : (b) == 460800 ? 0x075F7000u                                                                     \
     : (b) == 921600 ? 0x0EBEDAB4u                                                                     \
     : (b) == 1000000 ? 0x10000000u                                                                    \
                      : 0u)
typedef char nrf_check_baud_supported[(NRF_BAUD_REG(BNN_UART_BAUD) != 0u) ? 1 : -1];

#endif /* BNN_PLATFORM_NRF_H */
