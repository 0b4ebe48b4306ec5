/*
 * Arm MPS2/MPS3 FPGA images as QEMU models them (mps2-an385 M3, mps2-an386 M4F, mps2-an500 M7,
 * mps2-an505 M33, mps3-an547 M55): the CMSDK APB UART and TIMER registers. Private to this directory;
 * startup, SysTick and the timed region are shared (firmware/platform/cortex_m/).
 *
 * Defines this platform needs on the command line (from the board file, see boards/mps2-*.yaml):
 *   MPS2_UART0_BASE    CMSDK APB UART0 base (0x40004000 on AN385/386/500; the Secure alias on TrustZone
 *                      images: 0x50200000 AN505, 0x59303000 AN547)
 *   BNN_UART_IRQ       its receive interrupt (0 on AN385/386/500)
 *   MPS2_TIMER0_BASE   CMSDK APB TIMER0 base, when counter_source is "platform"
 */
#ifndef BNN_PLATFORM_MPS2_H
#define BNN_PLATFORM_MPS2_H

#include <stdint.h>

#include "cortex_m.h"

#if !defined(MPS2_UART0_BASE)
#error "mps2 platform: compile with the board's defines (MPS2_UART0_BASE, ...)"
#endif

/* CMSDK APB UART */
#define MPS2_UART_DATA CM_REG((MPS2_UART0_BASE) + 0x00u)
#define MPS2_UART_STATE CM_REG((MPS2_UART0_BASE) + 0x04u)
#define MPS2_UART_CTRL CM_REG((MPS2_UART0_BASE) + 0x08u)
#define MPS2_UART_INTCLEAR CM_REG((MPS2_UART0_BASE) + 0x0Cu) /* write 1 to clear; reads INTSTATUS */
#define MPS2_UART_BAUDDIV CM_REG((MPS2_UART0_BASE) + 0x10u)
#define MPS2_UART_STATE_TXFULL (1u << 0)
#define MPS2_UART_STATE_RXFULL (1u << 1)
#define MPS2_UART_CTRL_TXEN (1u << 0)
#define MPS2_UART_CTRL_RXEN (1u << 1)
#define MPS2_UART_CTRL_RXIRQEN (1u << 3)
#define MPS2_UART_INT_RX (1u << 1)

/* CMSDK APB TIMER */
#if defined(MPS2_TIMER0_BASE)
#define MPS2_TIMER_CTRL CM_REG((MPS2_TIMER0_BASE) + 0x00u)
#define MPS2_TIMER_VALUE CM_REG((MPS2_TIMER0_BASE) + 0x04u)
#define MPS2_TIMER_RELOAD CM_REG((MPS2_TIMER0_BASE) + 0x08u)
#define MPS2_TIMER_CTRL_EN (1u << 0)
#endif

#endif /* BNN_PLATFORM_MPS2_H */
