/*
 * Minimal Cortex-M4F startup for the example: vector table, Reset_Handler (FPU on, .data copied, .bss
 * zeroed, main called) and a semihosting exit/print for QEMU (-semihosting-config enable=on).
 */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void Reset_Handler(void);
void Fault_Handler(void);
void semihost_print(const char *text);
void semihost_exit(int code);

__attribute__((section(".isr_vector"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&_estack), Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, 0, 0, 0, 0, Fault_Handler, Fault_Handler, 0, Fault_Handler, Fault_Handler,
};

static uint32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void semihost_print(const char *text)
{
    (void)semihost(0x04u, text); /* SYS_WRITE0 */
}

void semihost_exit(int code)
{
    const uint32_t block[2] = {0x20026u, (uint32_t)code}; /* ADP_Stopped_ApplicationExit */
    (void)semihost(0x20u, block);                         /* SYS_EXIT_EXTENDED */
    for (;;) {
    }
}

void Fault_Handler(void)
{
    semihost_print("fault\n");
    semihost_exit(99);
}

void Reset_Handler(void)
{
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: CP10, CP11 full access (the FPU) */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    for (uint32_t *s = &_sidata, *d = &_sdata; d < &_edata;) {
        *d++ = *s++;
    }
    for (uint32_t *d = &_sbss; d < &_ebss;) {
        *d++ = 0u;
    }
    semihost_exit(main());
}
