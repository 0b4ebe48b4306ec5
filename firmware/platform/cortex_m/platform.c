/*
 * The core-level half of bnn/platform.h, shared by every Cortex-M platform: init order, the counter,
 * the SysTick and the timed-region hooks. The platform directory supplies the UART and the clocks.
 *
 * Counter (board field counter_source -> BNN_COUNTER_SRC_*):
 *   dwt       DWT CYCCNT: core clock cycles (Cortex-M3 and up, real boards; QEMU does not model it).
 *   systick   SysTick on the processor clock, 24 bits, reload 2^24 - 1; its interrupt counts the wraps,
 *             extending it to 32 bits. Cycles on a board; under `qemu -icount` instructions (the clock
 *             advances 2^shift ns per instruction). The wrap interrupt stays on in the timed region: one
 *             interrupt per 16.7 M ticks (a few instructions).
 *   platform  the platform's own 32-bit timer (its bnn_platform_counter.h), e.g. the CMSDK TIMER0.
 *   none      reads 0; INFO says so (counter kind none).
 * SysTick keep-alive: unless it is the counter, the SysTick runs at 1 kHz with an empty handler outside
 *   the timed region. Under QEMU it keeps the main loop polling the serial socket (otherwise the first
 *   host->guest bytes can stall for ~1 s); on a board it is harmless.
 * Timed region: stops the keep-alive tick and the UART receive interrupt, so that nothing but the
 *   measured code runs between the two counter reads.
 */
#include <stddef.h>
#include <stdint.h>

#include "bnn/platform.h"
#include "cortex_m.h"
#if defined(BNN_COUNTER_SRC_PLATFORM)
#include "bnn_platform_counter.h" /* from the platform directory: inline timer init and read */
#endif

#define CM_SCB_ICSR_PENDSTSET (1u << 26)
#define CM_SYSTICK_RELOAD 0x00FFFFFFu

#if defined(BNN_COUNTER_SRC_SYSTICK)
static volatile uint32_t systick_wraps;

void SysTick_Handler(void)
{
    systick_wraps++;
}

static void counter_init(void)
{
    CM_SYST_RVR = CM_SYSTICK_RELOAD;
    CM_SYST_CVR = 0u;
    CM_SYST_CSR = CM_SYST_CSR_ENABLE | CM_SYST_CSR_TICKINT | CM_SYST_CSR_CLKSOURCE;
}

uint32_t bnn_counter_read(void)
{
    uint32_t primask;
    uint32_t wraps;
    uint32_t value;
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    value = CM_SYST_CVR;
    wraps = systick_wraps;
    if ((CM_SCB_ICSR & CM_SCB_ICSR_PENDSTSET) != 0u) { /* wrapped; the handler has not run yet */
        value = CM_SYST_CVR;
        wraps++;
    }
    __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
    return wraps * (CM_SYSTICK_RELOAD + 1u) + (CM_SYSTICK_RELOAD - value);
}

static void tick_start(void) {}
static void tick_stop(void) {}

#else /* the SysTick is a 1 kHz keep-alive tick */

void SysTick_Handler(void) {}

static void tick_start(void)
{
    CM_SYST_CSR = CM_SYST_CSR_ENABLE | CM_SYST_CSR_TICKINT | CM_SYST_CSR_CLKSOURCE;
}

static void tick_stop(void)
{
    CM_SYST_CSR = 0u;
    CM_SCB_ICSR = CM_SCB_ICSR_PENDSTCLR;
}

#if defined(BNN_COUNTER_SRC_DWT)
static void counter_init(void)
{
    CM_DEMCR |= CM_DEMCR_TRCENA;
    CM_DWT_LAR = 0xC5ACCE55u; /* Cortex-M7 locks the DWT; elsewhere the write is ignored */
    CM_DWT_CYCCNT = 0u;
    CM_DWT_CTRL |= CM_DWT_CTRL_CYCCNTENA;
}

uint32_t bnn_counter_read(void)
{
    return CM_DWT_CYCCNT;
}
#elif defined(BNN_COUNTER_SRC_PLATFORM)
static void counter_init(void)
{
    cortex_m_platform_counter_init();
}

uint32_t bnn_counter_read(void)
{
    return cortex_m_platform_counter_read();
}
#else /* BNN_COUNTER_SRC_NONE */
static void counter_init(void) {}

uint32_t bnn_counter_read(void)
{
    return 0u;
}
#endif
#endif

void bnn_platform_init(void)
{
    /* The UART was enabled by Reset_Handler already. */
    counter_init();
#if !defined(BNN_COUNTER_SRC_SYSTICK)
    CM_SYST_RVR = (uint32_t)(BNN_CLOCK_HZ) / 1000u - 1u;
    CM_SYST_CVR = 0u;
    tick_start();
#endif
    cm_nvic_enable(BNN_UART_IRQ);
    __asm__ volatile("cpsie i" ::: "memory");
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
    tick_stop();
    cm_nvic_disable(BNN_UART_IRQ);
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

void bnn_timed_region_exit(void)
{
    __asm__ volatile("" ::: "memory");
    CM_NVIC_ISER((uint32_t)(BNN_UART_IRQ) >> 5) = 1u << ((uint32_t)(BNN_UART_IRQ)&31u);
    tick_start();
}
