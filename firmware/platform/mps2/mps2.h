/*
 * Arm MPS2 (AN385 Cortex-M3, AN386 Cortex-M4F; QEMU's mps2-an385/386): registers and internals
 * shared by the files of this platform. Private to firmware/platform/mps2/.
 *
 * Defines this platform needs on the command line (from the board file, see boards/mps2-*.yaml):
 *   BNN_CLOCK_HZ       system clock; TIMER0 and SysTick count at this rate (25000000)
 *   BNN_COUNTER_KIND   value of bnn_counter_kind_t that bnn_counter_kind() returns
 *   MPS2_UART0_BASE    CMSDK APB UART0 base (0x40004000)
 *   MPS2_UART0_RX_IRQ  UART0 RX interrupt number (0)
 *   MPS2_TIMER0_BASE   CMSDK APB TIMER0 base (0x40000000)
 */
#ifndef BNN_PLATFORM_MPS2_H
#define BNN_PLATFORM_MPS2_H

#include <stdint.h>

#if !defined(BNN_CLOCK_HZ) || !defined(BNN_COUNTER_KIND) || !defined(MPS2_UART0_BASE) || \
    !defined(MPS2_UART0_RX_IRQ) || !defined(MPS2_TIMER0_BASE)
#error "mps2 platform: compile with the board's defines (BNN_CLOCK_HZ, BNN_COUNTER_KIND, MPS2_*)"
#endif

/* Written over the unused stack at reset; the first word that differs marks the high-water mark. */
#define BNN_STACK_PAINT 0xC5C5C5C5u

#define MPS2_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* CMSDK APB UART */
#define MPS2_UART_DATA MPS2_REG((MPS2_UART0_BASE) + 0x00u)
#define MPS2_UART_STATE MPS2_REG((MPS2_UART0_BASE) + 0x04u)
#define MPS2_UART_CTRL MPS2_REG((MPS2_UART0_BASE) + 0x08u)
#define MPS2_UART_INTCLEAR MPS2_REG((MPS2_UART0_BASE) + 0x0Cu) /* write 1 to clear; reads INTSTATUS */
#define MPS2_UART_BAUDDIV MPS2_REG((MPS2_UART0_BASE) + 0x10u)
#define MPS2_UART_STATE_TXFULL (1u << 0)
#define MPS2_UART_STATE_RXFULL (1u << 1)
#define MPS2_UART_CTRL_TXEN (1u << 0)
#define MPS2_UART_CTRL_RXEN (1u << 1)
#define MPS2_UART_CTRL_RXIRQEN (1u << 3)
#define MPS2_UART_INT_RX (1u << 1)

/* CMSDK APB TIMER */
#define MPS2_TIMER_CTRL MPS2_REG((MPS2_TIMER0_BASE) + 0x00u)
#define MPS2_TIMER_VALUE MPS2_REG((MPS2_TIMER0_BASE) + 0x04u)
#define MPS2_TIMER_RELOAD MPS2_REG((MPS2_TIMER0_BASE) + 0x08u)
#define MPS2_TIMER_CTRL_EN (1u << 0)

/* Armv7-M System Control Space */
#define MPS2_SYST_CSR MPS2_REG(0xE000E010u)
#define MPS2_SYST_RVR MPS2_REG(0xE000E014u)
#define MPS2_SYST_CVR MPS2_REG(0xE000E018u)
#define MPS2_SYST_CSR_ENABLE (1u << 0)
#define MPS2_SYST_CSR_TICKINT (1u << 1)
#define MPS2_SYST_CSR_CLKSOURCE (1u << 2) /* 1 = processor clock */
#define MPS2_NVIC_ISER0 MPS2_REG(0xE000E100u)
#define MPS2_NVIC_ICER0 MPS2_REG(0xE000E180u)
#define MPS2_NVIC_ICPR0 MPS2_REG(0xE000E280u)
#define MPS2_SCB_ICSR MPS2_REG(0xE000ED04u)
#define MPS2_SCB_ICSR_PENDSTCLR (1u << 25)
#define MPS2_SCB_CPACR MPS2_REG(0xE000ED88u)
#define MPS2_SCB_CFSR MPS2_REG(0xE000ED28u)
#define MPS2_SCB_HFSR MPS2_REG(0xE000ED2Cu)
#define MPS2_SCB_MMFAR MPS2_REG(0xE000ED34u)
#define MPS2_SCB_BFAR MPS2_REG(0xE000ED38u)

/* Semihosting (startup.c uses them for the fault report; platform.c for bnn_platform_exit). */
void mps2_semihost_write0(const char *text);
__attribute__((noreturn)) void mps2_semihost_exit(int code);

/* The UART0 RX interrupt (vector in startup.c): acknowledges the interrupt; the byte stays in DATA. */
void mps2_uart0_rx_irq(void);

#endif /* BNN_PLATFORM_MPS2_H */
