/*
 * mps2 counter (counter_source "platform"), included by cortex_m/platform.c so that a counter read is
 * inline, exactly as cheap as before the startup was shared: CMSDK APB TIMER0 counts down from
 * 0xFFFFFFFF at the system clock (25 MHz); read as an up-counter that wraps modulo 2^32 (~171 s of
 * virtual time, ~2.7 G instructions at -icount shift=6). Under shift=6 one instruction = 1.6 ticks
 * exactly (measured by firmware/tests/platform_selftest). Boards whose TIMER0 we do not use (the
 * TrustZone images) count with the SysTick instead.
 */
#ifndef BNN_PLATFORM_MPS2_COUNTER_H
#define BNN_PLATFORM_MPS2_COUNTER_H

#include <stdint.h>

#include "mps2.h"

#if !defined(MPS2_TIMER0_BASE)
#error "mps2 platform: counter_source platform needs MPS2_TIMER0_BASE"
#endif

static inline void cortex_m_platform_counter_init(void)
{
    MPS2_TIMER_CTRL = 0u;
    MPS2_TIMER_RELOAD = 0xFFFFFFFFu;
    MPS2_TIMER_VALUE = 0xFFFFFFFFu;
    MPS2_TIMER_CTRL = MPS2_TIMER_CTRL_EN;
}

static inline uint32_t cortex_m_platform_counter_read(void)
{
    return 0xFFFFFFFFu - MPS2_TIMER_VALUE;
}

#endif /* BNN_PLATFORM_MPS2_COUNTER_H */
