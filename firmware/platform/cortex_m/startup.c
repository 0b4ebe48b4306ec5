/*
 * Cortex-M startup shared by every platform: vector table, Reset_Handler, fault handlers, exit.
 *
 * Reset_Handler enables the FPU (when compiled for one), sets the clocks (the platform's
 * cortex_m_platform_clock_init), enables the UART, enables the caches (BNN_CACHES), copies .data from its load address in
 * flash, zeroes .bss, paints the unused stack (for the high-water mark), runs the static constructors,
 * calls main() and exits with its return value.
 *
 * Every fault and every unexpected interrupt reports and stops, so a crash fails in milliseconds instead
 * of hanging: under QEMU (BNN_SEMIHOSTING) on the semihosting console, exiting with 100 + IPSR (e.g. 103
 * for a HardFault); on a real board over the UART as a text line, then it spins (attach a debugger).
 * The linker script (templates/linker.ld.j2) provides the symbols used here.
 */
#include <stdint.h>
#include <string.h>

#include "bnn/platform.h"
#include "cortex_m.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sstack, _estack;

int main(void);
void __libc_init_array(void);

void Reset_Handler(void);
void HardFault_Handler(void);
void SysTick_Handler(void);

/* newlib's __libc_init_array calls these; with -nostartfiles nobody else provides them. */
void _init(void) {}
void _fini(void) {}

/* Fill the unused stack with BNN_STACK_PAINT, up to 128 bytes below this function's frame. */
__attribute__((noinline)) static void paint_stack(void)
{
    uint32_t *p = &_sstack;
    uint32_t *const limit = (uint32_t *)__builtin_frame_address(0) - 32;
    while (p < limit) {
        *p++ = BNN_STACK_PAINT;
    }
}

#if BNN_CACHES
/* Invalidate, then enable, the instruction and data caches (Armv7-M/Armv8.1-M cache maintenance). */
static void enable_caches(void)
{
    uint32_t ccsidr;
    uint32_t sets;
    uint32_t ways;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    CM_SCB_ICIALLU = 0u;
    CM_SCB_CSSELR = 0u; /* level 1 data cache */
    __asm__ volatile("dsb" ::: "memory");
    ccsidr = CM_SCB_CCSIDR;
    sets = (ccsidr >> 13) & 0x7FFFu;
    do {
        ways = (ccsidr >> 3) & 0x3FFu;
        do {
            CM_SCB_DCISW = (sets << 5) | (ways << 30);
        } while (ways-- != 0u);
    } while (sets-- != 0u);
    __asm__ volatile("dsb" ::: "memory");
    CM_SCB_CCR |= CM_SCB_CCR_IC | CM_SCB_CCR_DC;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}
#endif

__attribute__((noreturn)) void Reset_Handler(void)
{
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* CP10 and CP11 full access, before any floating-point or MVE instruction runs. */
    CM_SCB_CPACR |= (0xFu << 20);
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    cortex_m_platform_clock_init();
    /* The UART first: some UARTs drop what arrives before they are enabled (QEMU's STM32 USART). */
    cortex_m_platform_uart_init();
#if BNN_CACHES
    enable_caches();
#endif
    memcpy(&_sdata, &_sidata, (size_t)((uintptr_t)&_edata - (uintptr_t)&_sdata));
    memset(&_sbss, 0, (size_t)((uintptr_t)&_ebss - (uintptr_t)&_sbss));
    paint_stack();
    __libc_init_array();
    bnn_platform_exit(main());
    for (;;) {
    }
}

uint32_t bnn_platform_stack_used(void)
{
    const uint32_t *p = &_sstack;
    while (p < &_estack && *p == BNN_STACK_PAINT) {
        p++;
    }
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)p);
}

uint32_t bnn_platform_stack_size(void)
{
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)&_sstack);
}

void bnn_platform_exit(int code)
{
    cortex_m_platform_uart_flush(); /* let the last byte leave */
#if BNN_SEMIHOSTING
    cortex_m_semihost_exit(code);
#else
    (void)code;
    /* A board: reset, so that the next host session finds the firmware waiting for frames again. */
    __asm__ volatile("dsb" ::: "memory");
    CM_SCB_AIRCR = CM_SCB_AIRCR_RESET;
    __asm__ volatile("dsb" ::: "memory");
    for (;;) {
    }
#endif
}

static char *put_str(char *p, const char *s)
{
    while (*s != '\0') {
        *p++ = *s++;
    }
    return p;
}

static char *put_hex(char *p, uint32_t v)
{
    int shift;
    *p++ = '0';
    *p++ = 'x';
    for (shift = 28; shift >= 0; shift -= 4) {
        *p++ = "0123456789abcdef"[(v >> shift) & 0xFu];
    }
    return p;
}

/* frame: the exception stack frame (r0-r3, r12, lr, pc, xpsr). */
__attribute__((noreturn, used)) void cortex_m_fault_report(const uint32_t *frame, uint32_t ipsr)
{
    char msg[160];
    char *p = msg;
    int code = 100 + (int)(ipsr & 0x1FFu);
    p = put_str(p, "bnn: fault: exception ");
    p = put_hex(p, ipsr & 0x1FFu);
    p = put_str(p, " pc=");
    p = put_hex(p, frame[6]);
    p = put_str(p, " lr=");
    p = put_hex(p, frame[5]);
#if !defined(__ARM_ARCH_6M__)
    p = put_str(p, " cfsr=");
    p = put_hex(p, CM_SCB_CFSR);
    p = put_str(p, " hfsr=");
    p = put_hex(p, CM_SCB_HFSR);
    p = put_str(p, " bfar=");
    p = put_hex(p, CM_SCB_BFAR);
#endif
    p = put_str(p, "\n");
    *p = '\0';
#if BNN_SEMIHOSTING
    cortex_m_semihost_write0(msg);
    cortex_m_semihost_exit(code > 255 ? 255 : code);
#else
    (void)code;
    bnn_uart_write((const uint8_t *)msg, (size_t)(p - msg));
    cortex_m_platform_uart_flush();
    for (;;) { /* stopped: attach a debugger to look around */
    }
#endif
}

/* Pick the stack the exception frame was pushed on (EXC_RETURN bit 2), pass it and IPSR on.
 * Thumb-1 only (Cortex-M0 too); the literal keeps the branch in range wherever the report lands. */
__attribute__((naked)) void HardFault_Handler(void)
{
    __asm__ volatile(
        "mrs r0, msp\n\t"
        "mov r1, lr\n\t"
        "lsrs r1, r1, #3\n\t" /* EXC_RETURN bit 2 -> carry */
        "bcc 1f\n\t"
        "mrs r0, psp\n"
        "1:\n\t"
        "mrs r1, ipsr\n\t"
        "ldr r2, 2f\n\t"
        "bx r2\n\t"
        ".align 2\n"
        "2:\n\t"
        ".word cortex_m_fault_report\n");
}

typedef union {
    uint32_t *stack_top;
    void (*handler)(void);
} cortex_m_vector_t;

/* External interrupts: the UART's has its handler; any other one is unexpected and reports (100 + IPSR). */
#define CM_IRQ(n) {.handler = ((n) == (BNN_UART_IRQ)) ? cortex_m_platform_uart_irq : HardFault_Handler}
#define CM_IRQ8(b)                                                                                     \
    CM_IRQ(8 * (b) + 0), CM_IRQ(8 * (b) + 1), CM_IRQ(8 * (b) + 2), CM_IRQ(8 * (b) + 3),               \
        CM_IRQ(8 * (b) + 4), CM_IRQ(8 * (b) + 5), CM_IRQ(8 * (b) + 6), CM_IRQ(8 * (b) + 7)
#define CM_IRQ_BLOCKS (((BNN_NUM_IRQS) + 7) / 8)
#if CM_IRQ_BLOCKS > 30 || (BNN_UART_IRQ) >= 8 * CM_IRQ_BLOCKS
#error "cortex_m: BNN_NUM_IRQS must be 1..240 and cover BNN_UART_IRQ"
#endif

__attribute__((section(".isr_vector"), used)) const cortex_m_vector_t cortex_m_vectors[] = {
    {.stack_top = &_estack},
    {.handler = Reset_Handler},
    {.handler = HardFault_Handler}, /* NMI (every fault and unused exception: report, stop) */
    {.handler = HardFault_Handler}, /* HardFault */
    {.handler = HardFault_Handler}, /* MemManage */
    {.handler = HardFault_Handler}, /* BusFault */
    {.handler = HardFault_Handler}, /* UsageFault */
    {.handler = HardFault_Handler}, /* SecureFault (Armv8-M) */
    {.handler = 0},
    {.handler = 0},
    {.handler = 0},
    {.handler = HardFault_Handler}, /* SVCall */
    {.handler = HardFault_Handler}, /* DebugMonitor */
    {.handler = 0},
    {.handler = HardFault_Handler}, /* PendSV */
    {.handler = SysTick_Handler},
    CM_IRQ8(0),
#if CM_IRQ_BLOCKS > 1
    CM_IRQ8(1),
#endif
#if CM_IRQ_BLOCKS > 2
    CM_IRQ8(2),
#endif
#if CM_IRQ_BLOCKS > 3
    CM_IRQ8(3),
#endif
#if CM_IRQ_BLOCKS > 4
    CM_IRQ8(4),
#endif
#if CM_IRQ_BLOCKS > 5
    CM_IRQ8(5),
#endif
#if CM_IRQ_BLOCKS > 6
    CM_IRQ8(6),
#endif
#if CM_IRQ_BLOCKS > 7
    CM_IRQ8(7),
#endif
#if CM_IRQ_BLOCKS > 8
    CM_IRQ8(8),
#endif
#if CM_IRQ_BLOCKS > 9
    CM_IRQ8(9),
#endif
#if CM_IRQ_BLOCKS > 10
    CM_IRQ8(10),
#endif
#if CM_IRQ_BLOCKS > 11
    CM_IRQ8(11),
#endif
#if CM_IRQ_BLOCKS > 12
    CM_IRQ8(12),
#endif
#if CM_IRQ_BLOCKS > 13
    CM_IRQ8(13),
#endif
#if CM_IRQ_BLOCKS > 14
    CM_IRQ8(14),
#endif
#if CM_IRQ_BLOCKS > 15
    CM_IRQ8(15),
#endif
#if CM_IRQ_BLOCKS > 16
    CM_IRQ8(16), CM_IRQ8(17), CM_IRQ8(18), CM_IRQ8(19), CM_IRQ8(20), CM_IRQ8(21), CM_IRQ8(22),
    CM_IRQ8(23), CM_IRQ8(24), CM_IRQ8(25), CM_IRQ8(26), CM_IRQ8(27), CM_IRQ8(28), CM_IRQ8(29),
#endif
};
#undef CM_IRQ
