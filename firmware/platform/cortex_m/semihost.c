/*
 * Semihosting calls (QEMU: -semihosting-config enable=on,target=native). Used for the exit code and the
 * fault report when BNN_SEMIHOSTING is 1; on a real core without a debugger BKPT would fault instead.
 */
#include <stdint.h>

#include "cortex_m.h"

#define CM_SYS_WRITE0 0x04
#define CM_SYS_EXIT_EXTENDED 0x20
#define CM_ADP_STOPPED_APPLICATION_EXIT 0x20026u

static uint32_t semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void cortex_m_semihost_write0(const char *text)
{
    (void)semihost_call(CM_SYS_WRITE0, text);
}

void cortex_m_semihost_exit(int code)
{
    const uint32_t block[2] = {CM_ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    (void)semihost_call(CM_SYS_EXIT_EXTENDED, block);
    for (;;) { /* no debugger/semihosting: stop here */
        __asm__ volatile("wfi");
    }
}
