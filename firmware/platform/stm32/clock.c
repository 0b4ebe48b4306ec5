/*
 * stm32 clocks to full speed, every number from the board file (see stm32.h). Runs first in
 * Reset_Handler (registers only). A compile-time check ties the PLL settings to the board's clock_hz
 * (BNN_CLOCK_HZ), so the SysTick/DWT rate the host is told and the real core clock cannot disagree.
 *
 * F2/F4/F7 (STM32_RCC_F4): power scale (VOS), oscillator, main PLL, over-drive (F42x/F446/F7 above
 *   168/180 MHz), flash wait states + accelerator, APB prescalers, switch SYSCLK to the PLL.
 * G0 (STM32_RCC_G0): flash wait states first, PLL from HSI16 (R output), switch SYSCLK to PLLRCLK.
 * Neither (QEMU netduinoplus2: no RCC model, it would read 0 forever): nothing to do.
 */
#include <stdint.h>

#include "stm32.h"

#if defined(STM32_RCC_F4) && defined(STM32_RCC_G0)
#error "stm32 platform: STM32_RCC_F4 and STM32_RCC_G0 are exclusive"
#endif

#if defined(STM32_RCC_F4)
#define RCC_CR CM_REG(0x40023800u)
#define RCC_PLLCFGR CM_REG(0x40023804u)
#define RCC_CFGR CM_REG(0x40023808u)
#define RCC_APB1ENR CM_REG(0x40023840u)
#define PWR_CR CM_REG(0x40007000u)
#define PWR_CSR CM_REG(0x40007004u)
#define FLASH_ACR CM_REG(0x40023C00u)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_HSEBYP (1u << 18)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_APB1ENR_PWREN (1u << 28)
#define PWR_CR_ODEN (1u << 16)
#define PWR_CR_ODSWEN (1u << 17)
#define PWR_CSR_ODRDY (1u << 16)
#define PWR_CSR_ODSWRDY (1u << 17)
#if defined(STM32_HSE_HZ)
#define PLL_SRC_HZ (STM32_HSE_HZ)
#define PLL_SRC_HSE 1u
#else
#define PLL_SRC_HZ 16000000u /* HSI */
#define PLL_SRC_HSE 0u
#endif
#if !defined(STM32_PLL_R)
#define STM32_PLL_R 0u /* no R output on this chip (F405/F7 use bits 30:28 differently or not at all) */
#endif
typedef char stm32_check_pll_gives_clock_hz[
    ((uint64_t)(PLL_SRC_HZ) / (STM32_PLL_M) * (STM32_PLL_N) / (STM32_PLL_P) == (BNN_CLOCK_HZ)) ? 1 : -1];
typedef char stm32_check_pll_input_1_2_mhz[
    ((PLL_SRC_HZ) / (STM32_PLL_M) >= 950000u && (PLL_SRC_HZ) / (STM32_PLL_M) <= 2100000u) ? 1 : -1];

void cortex_m_platform_clock_init(void)
{
    RCC_APB1ENR |= RCC_APB1ENR_PWREN;
    (void)RCC_APB1ENR;
    PWR_CR = (PWR_CR & ~(3u << 14)) | ((uint32_t)(STM32_PWR_VOS) << 14);
#if PLL_SRC_HSE
    RCC_CR |= RCC_CR_HSEON | ((STM32_HSE_BYPASS) ? RCC_CR_HSEBYP : 0u);
    while ((RCC_CR & RCC_CR_HSERDY) == 0u) {
    }
#endif
    RCC_PLLCFGR = (uint32_t)(STM32_PLL_M) | ((uint32_t)(STM32_PLL_N) << 6) |
                  ((uint32_t)((STM32_PLL_P) / 2u - 1u) << 16) | (PLL_SRC_HSE << 22) |
                  ((uint32_t)(STM32_PLL_Q) << 24) | ((uint32_t)(STM32_PLL_R) << 28);
    RCC_CR |= RCC_CR_PLLON;
    while ((RCC_CR & RCC_CR_PLLRDY) == 0u) {
    }
#if STM32_OVERDRIVE
    PWR_CR |= PWR_CR_ODEN;
    while ((PWR_CSR & PWR_CSR_ODRDY) == 0u) {
    }
    PWR_CR |= PWR_CR_ODSWEN;
    while ((PWR_CSR & PWR_CSR_ODSWRDY) == 0u) {
    }
#endif
    FLASH_ACR = (uint32_t)(STM32_FLASH_ACR);
    while ((FLASH_ACR & 0xFu) != ((uint32_t)(STM32_FLASH_ACR)&0xFu)) {
    }
    RCC_CFGR = (uint32_t)(STM32_RCC_CFGR_PPRE); /* AHB /1, APB prescalers, SYSCLK still HSI */
    RCC_CFGR = (RCC_CFGR & ~3u) | 2u;           /* SYSCLK = PLL */
    while (((RCC_CFGR >> 2) & 3u) != 2u) {
    }
}

#elif defined(STM32_RCC_G0)
#define RCC_CR CM_REG(0x40021000u)
#define RCC_CFGR CM_REG(0x40021008u)
#define RCC_PLLCFGR CM_REG(0x4002100Cu)
#define FLASH_ACR CM_REG(0x40022000u)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_PLLCFGR_HSI16 2u
#define RCC_PLLCFGR_PLLREN (1u << 28)
typedef char stm32_check_pll_gives_clock_hz[
    (16000000u / (STM32_PLL_M) * (STM32_PLL_N) / (STM32_PLL_R) == (BNN_CLOCK_HZ)) ? 1 : -1];

void cortex_m_platform_clock_init(void)
{
    FLASH_ACR = (FLASH_ACR & ~7u) | (uint32_t)(STM32_FLASH_ACR);
    while ((FLASH_ACR & 7u) != ((uint32_t)(STM32_FLASH_ACR)&7u)) {
    }
    RCC_PLLCFGR = RCC_PLLCFGR_HSI16 | ((uint32_t)((STM32_PLL_M)-1u) << 4) | ((uint32_t)(STM32_PLL_N) << 8) |
                  RCC_PLLCFGR_PLLREN | ((uint32_t)((STM32_PLL_R)-1u) << 29);
    RCC_CR |= RCC_CR_PLLON;
    while ((RCC_CR & RCC_CR_PLLRDY) == 0u) {
    }
    RCC_CFGR = (RCC_CFGR & ~7u) | 2u; /* SYSCLK = PLLRCLK; AHB and APB /1 */
    while (((RCC_CFGR >> 3) & 7u) != 2u) {
    }
}

#else
void cortex_m_platform_clock_init(void) {} /* QEMU: the RCC is not modelled */
#endif
