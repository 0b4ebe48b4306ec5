/*
 * mps2 counter (counter_source "platform"): CMSDK APB TIMER0 counts down from 0xFFFFFFFF at the system
 * clock (25 MHz); read as an up-counter that wraps modulo 2^32 (~171 s of virtual time, ~2.7 G
 * instructions at -icount shift=6). Under shift=6 one instruction = 1.6 ticks exactly (measured by
 * firmware/tests/platform_selftest). Boards whose TIMER0 QEMU does not model use the SysTick instead.
 */
#include <stdint.h>

#include "mps2.h"

#if defined(BNN_COUNTER_SRC_PLATFORM)
#if !defined(MPS2_TIMER0_BASE)
#error "mps2 platform: counter_source platform needs MPS2_TIMER0_BASE"
#endif

void cortex_m_platform_counter_init(void)
{
    MPS2_TIMER_CTRL = 0u;
    MPS2_TIMER_RELOAD = 0xFFFFFFFFu;
    MPS2_TIMER_VALUE = 0xFFFFFFFFu;
    MPS2_TIMER_CTRL = MPS2_TIMER_CTRL_EN;
}

uint32_t cortex_m_platform_counter_read(void)
{
    return 0xFFFFFFFFu - MPS2_TIMER_VALUE;
}
#else
typedef int mps2_counter_unused; /* ISO C: a translation unit must not be empty */
#endif
