/*
 * mps2 startup: vector table, Reset_Handler, fault handlers.
 *
 * Reset_Handler enables the FPU (when compiled for one), copies .data from its load address in flash,
 * zeroes .bss, runs the static constructors, calls main() and exits with its return value.
 * Every fault and every unexpected interrupt reports on the semihosting console and exits with
 * 100 + IPSR (e.g. 103 for a HardFault), so a crash fails a test in milliseconds instead of hanging.
 * The linker script (bnn_mcu/templates/linker.ld.j2) provides the symbols used here.
 */
#include <stdint.h>
#include <string.h>

#include "bnn/platform.h"
#include "mps2.h"

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

__attribute__((noreturn)) void Reset_Handler(void)
{
#if defined(__ARM_FP)
    /* CP10 and CP11 full access, before any floating-point instruction runs. */
    MPS2_SCB_CPACR |= (0xFu << 20);
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    memcpy(&_sdata, &_sidata, (size_t)((uintptr_t)&_edata - (uintptr_t)&_sdata));
    memset(&_sbss, 0, (size_t)((uintptr_t)&_ebss - (uintptr_t)&_sbss));
    paint_stack();
    __libc_init_array();
    bnn_platform_exit(main());
    for (;;) {
    }
}

/* The SysTick only exists to keep QEMU's main loop polling the serial socket (see qemu-notes). */
void SysTick_Handler(void) {}

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

/* frame: the exception stack frame (r0-r3, r12, lr, pc, xpsr), or NULL if it was unusable. */
__attribute__((noreturn, used)) void mps2_fault_report(const uint32_t *frame, uint32_t ipsr)
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
    p = put_str(p, " cfsr=");
    p = put_hex(p, MPS2_SCB_CFSR);
    p = put_str(p, " hfsr=");
    p = put_hex(p, MPS2_SCB_HFSR);
    p = put_str(p, " bfar=");
    p = put_hex(p, MPS2_SCB_BFAR);
    p = put_str(p, "\n");
    *p = '\0';
    mps2_semihost_write0(msg);
    mps2_semihost_exit(code > 255 ? 255 : code);
}

/* Pick the stack the exception frame was pushed on (EXC_RETURN bit 2), pass it and IPSR on. */
__attribute__((naked)) void HardFault_Handler(void)
{
    __asm__ volatile(
        "mov r0, lr\n\t"
        "lsls r0, r0, #29\n\t" /* EXC_RETURN bit 2 -> N flag */
        "bmi 1f\n\t"
        "mrs r0, msp\n\t"
        "b 2f\n"
        "1:\n\t"
        "mrs r0, psp\n"
        "2:\n\t"
        "mrs r1, ipsr\n\t"
        "b mps2_fault_report\n");
}

typedef union {
    uint32_t *stack_top;
    void (*handler)(void);
} mps2_vector_t;

#define MPS2_NUM_IRQS 32

__attribute__((section(".isr_vector"), used)) const mps2_vector_t mps2_vectors[16 + MPS2_NUM_IRQS] = {
    {.stack_top = &_estack},
    {.handler = Reset_Handler},
    {.handler = HardFault_Handler}, /* NMI (every fault and unused exception: report, exit) */
    {.handler = HardFault_Handler}, /* HardFault */
    {.handler = HardFault_Handler}, /* MemManage */
    {.handler = HardFault_Handler}, /* BusFault */
    {.handler = HardFault_Handler}, /* UsageFault */
    {.handler = 0},
    {.handler = 0},
    {.handler = 0},
    {.handler = 0},
    {.handler = HardFault_Handler}, /* SVCall */
    {.handler = HardFault_Handler}, /* DebugMonitor */
    {.handler = 0},
    {.handler = HardFault_Handler}, /* PendSV */
    {.handler = SysTick_Handler},
/* External interrupts: UART0 RX has its handler; any other one is unexpected and exits 100 + IPSR. */
#define MPS2_IRQ(n) {.handler = ((n) == (MPS2_UART0_RX_IRQ)) ? mps2_uart0_rx_irq : HardFault_Handler}
    MPS2_IRQ(0), MPS2_IRQ(1), MPS2_IRQ(2), MPS2_IRQ(3), MPS2_IRQ(4), MPS2_IRQ(5), MPS2_IRQ(6), MPS2_IRQ(7),
    MPS2_IRQ(8), MPS2_IRQ(9), MPS2_IRQ(10), MPS2_IRQ(11), MPS2_IRQ(12), MPS2_IRQ(13), MPS2_IRQ(14), MPS2_IRQ(15),
    MPS2_IRQ(16), MPS2_IRQ(17), MPS2_IRQ(18), MPS2_IRQ(19), MPS2_IRQ(20), MPS2_IRQ(21), MPS2_IRQ(22), MPS2_IRQ(23),
    MPS2_IRQ(24), MPS2_IRQ(25), MPS2_IRQ(26), MPS2_IRQ(27), MPS2_IRQ(28), MPS2_IRQ(29), MPS2_IRQ(30), MPS2_IRQ(31),
#undef MPS2_IRQ
};
