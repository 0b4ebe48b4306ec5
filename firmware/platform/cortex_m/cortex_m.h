/*
 * Shared Cortex-M support (firmware/platform/cortex_m/): core registers and the small interface between
 * the shared startup/counter code and a vendor platform directory (firmware/platform/<name>/).
 *
 * Every firmware build compiles the C files of cortex_m/ and of the platform. The shared part owns the vector table,
 * Reset_Handler, fault reporting, stack painting, the SysTick (keep-alive tick or counter), the DWT cycle
 * counter, the timed-region hooks and bnn_platform_exit(). A platform provides only what differs between
 * chips: clocks (cortex_m_platform_clock_init), the UART (bnn_uart_* plus the three hooks below) and,
 * when the board's counter_source is "platform", its own timer (bnn_platform_counter.h).
 *
 * Defines from the board file (bnn_mcu/boards.py derives them; see boards/schema.yaml):
 *   BNN_CLOCK_HZ         core clock after clock set-up (SysTick and DWT count at this rate)
 *   BNN_COUNTER_KIND     what counter differences mean (bnn_counter_kind_t)
 *   BNN_COUNTER_SRC_*    exactly one of DWT, SYSTICK, PLATFORM, NONE is 1
 *   BNN_NUM_IRQS         external interrupt vectors in the table
 *   BNN_UART_IRQ         the UART's receive interrupt (wakes the core from WFI while waiting for input)
 *   BNN_SEMIHOSTING      1 under QEMU: exit and fault reports use semihosting; 0 on a real board
 *   BNN_CACHES           1: enable the I- and D-cache at reset (Cortex-M7/M55)
 */
#ifndef BNN_PLATFORM_CORTEX_M_H
#define BNN_PLATFORM_CORTEX_M_H

#include <stdint.h>

#if !defined(BNN_CLOCK_HZ) || !defined(BNN_COUNTER_KIND) || !defined(BNN_NUM_IRQS) || \
    !defined(BNN_UART_IRQ) || !defined(BNN_SEMIHOSTING) || !defined(BNN_CACHES)
#error "cortex_m: compile with the board's defines (bnn_mcu.boards derives them from boards/<board>.yaml)"
#endif
#if (defined(BNN_COUNTER_SRC_DWT) + defined(BNN_COUNTER_SRC_SYSTICK) + defined(BNN_COUNTER_SRC_PLATFORM) + \
     defined(BNN_COUNTER_SRC_NONE)) != 1
#error "cortex_m: exactly one BNN_COUNTER_SRC_* must be defined"
#endif

/* Written over the unused stack at reset; the first word that differs marks the high-water mark. */
#define BNN_STACK_PAINT 0xC5C5C5C5u

#define CM_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* System Control Space (Armv6-M / Armv7-M / Armv8-M) */
#define CM_SYST_CSR CM_REG(0xE000E010u)
#define CM_SYST_RVR CM_REG(0xE000E014u)
#define CM_SYST_CVR CM_REG(0xE000E018u)
#define CM_SYST_CSR_ENABLE (1u << 0)
#define CM_SYST_CSR_TICKINT (1u << 1)
#define CM_SYST_CSR_CLKSOURCE (1u << 2) /* 1 = processor clock */
#define CM_NVIC_ISER(n) CM_REG(0xE000E100u + 4u * (n))
#define CM_NVIC_ICER(n) CM_REG(0xE000E180u + 4u * (n))
#define CM_NVIC_ICPR(n) CM_REG(0xE000E280u + 4u * (n))
#define CM_SCB_ICSR CM_REG(0xE000ED04u)
#define CM_SCB_ICSR_PENDSTCLR (1u << 25)
#define CM_SCB_AIRCR CM_REG(0xE000ED0Cu)
#define CM_SCB_AIRCR_RESET (0x05FAu << 16 | 1u << 2) /* VECTKEY | SYSRESETREQ */
#define CM_SCB_CCR CM_REG(0xE000ED14u)
#define CM_SCB_CCR_DC (1u << 16)
#define CM_SCB_CCR_IC (1u << 17)
#define CM_SCB_CFSR CM_REG(0xE000ED28u) /* Armv7-M and later; reads as 0 on Armv6-M in QEMU */
#define CM_SCB_HFSR CM_REG(0xE000ED2Cu)
#define CM_SCB_BFAR CM_REG(0xE000ED38u)
#define CM_SCB_CPACR CM_REG(0xE000ED88u)
#define CM_SCB_CLIDR CM_REG(0xE000ED78u)
#define CM_SCB_CCSIDR CM_REG(0xE000ED80u)
#define CM_SCB_CSSELR CM_REG(0xE000ED84u)
#define CM_SCB_ICIALLU CM_REG(0xE000EF50u)
#define CM_SCB_DCISW CM_REG(0xE000EF60u)
#define CM_DEMCR CM_REG(0xE000EDFCu)
#define CM_DEMCR_TRCENA (1u << 24)
#define CM_DWT_CTRL CM_REG(0xE0001000u)
#define CM_DWT_CYCCNT CM_REG(0xE0001004u)
#define CM_DWT_LAR CM_REG(0xE0001FB0u) /* Cortex-M7: write 0xC5ACCE55 to unlock the DWT */
#define CM_DWT_CTRL_CYCCNTENA (1u << 0)

static inline void cm_nvic_enable(uint32_t irq)
{
    CM_NVIC_ICPR(irq >> 5) = 1u << (irq & 31u);
    CM_NVIC_ISER(irq >> 5) = 1u << (irq & 31u);
}

static inline void cm_nvic_disable(uint32_t irq)
{
    CM_NVIC_ICER(irq >> 5) = 1u << (irq & 31u);
}

/* Sleep until `cond` holds: a masked check-then-WFI, so an interrupt arriving between the check and
 * the WFI still wakes the core (WFI wakes on a pending interrupt even with PRIMASK set). */
#define CM_WAIT_UNTIL(cond)                                                                            \
    do {                                                                                               \
        while (!(cond)) {                                                                              \
            __asm__ volatile("cpsid i" ::: "memory");                                                  \
            if (!(cond)) {                                                                             \
                __asm__ volatile("wfi" ::: "memory");                                                  \
            }                                                                                          \
            __asm__ volatile("cpsie i" ::: "memory");                                                  \
        }                                                                                              \
    } while (0)

/* ---- provided by cortex_m/ for the platform ---- */

/* Semihosting (only meaningful when BNN_SEMIHOSTING; a real core without a debugger would fault). */
void cortex_m_semihost_write0(const char *text);
__attribute__((noreturn)) void cortex_m_semihost_exit(int code);

/* ---- provided by the platform directory ---- */

/* Clocks to full speed (PLL, flash wait states, bus prescalers); the first thing Reset_Handler calls
 * after enabling the FPU. Must not touch .data/.bss (not initialised yet). May be empty (QEMU boards). */
void cortex_m_platform_clock_init(void);
/* UART (and its receive interrupt source) ready; called by Reset_Handler right after the clocks, before
 * .data/.bss exist (use registers only). bnn_platform_init then enables BNN_UART_IRQ in the NVIC. */
void cortex_m_platform_uart_init(void);
/* The UART receive interrupt (BNN_UART_IRQ): acknowledge it; the byte stays in the UART. */
void cortex_m_platform_uart_irq(void);
/* Wait until the last byte written has left the UART (before exit or reset). */
void cortex_m_platform_uart_flush(void);

/* With counter_source "platform": the platform's bnn_platform_counter.h defines (static inline, so a
 * read costs no call) cortex_m_platform_counter_init(void) and uint32_t cortex_m_platform_counter_read(void). */

#endif /* BNN_PLATFORM_CORTEX_M_H */
