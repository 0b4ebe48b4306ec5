/*
 * STM32 (QEMU netduinoplus2 STM32F405; Nucleo-F446RE; STM32F746G-DISCO; Nucleo-G071RB): RCC, flash,
 * power, GPIO and USART registers. Private to this directory; startup, SysTick, DWT and the timed region
 * are shared (firmware/platform/cortex_m/). Everything chip- or board-specific comes from the board file:
 *
 *   clocks (exactly one, or none under QEMU, which does not model the RCC):
 *     STM32_RCC_F4=1  F2/F4/F7 RCC: PLL from HSI (16 MHz) or HSE (STM32_HSE_HZ, STM32_HSE_BYPASS), with
 *                     STM32_PLL_M/N/P/Q (and STM32_PLL_R where the chip has it), STM32_PWR_VOS (the
 *                     PWR_CR VOS field), STM32_OVERDRIVE, STM32_FLASH_ACR (latency + accelerator
 *                     bits), STM32_RCC_CFGR_PPRE (the CFGR APB prescaler bits)
 *     STM32_RCC_G0=1  G0 RCC: PLL from HSI16 with STM32_PLL_M/N/R, STM32_FLASH_ACR
 *   pins:      STM32_GPIO_EN_REG/_BITS (RCC register and bits enabling the GPIO ports),
 *              STM32_TX_GPIO/_PIN/_AF and STM32_RX_GPIO/_PIN/_AF (port base, pin, alternate function)
 *   USART:     STM32_USART_V1=1 (F1/F2/F4: SR DR BRR CR1) or STM32_USART_V2=1 (F0/F7/G0/H7/L4: CR1 BRR
 *              ISR ICR RDR TDR), STM32_USART_BASE, STM32_USART_EN_REG/_BIT (its RCC clock enable),
 *              STM32_USART_CLOCK_HZ (its kernel clock), BNN_UART_BAUD, BNN_UART_IRQ
 */
#ifndef BNN_PLATFORM_STM32_H
#define BNN_PLATFORM_STM32_H

#include <stdint.h>

#include "cortex_m.h"

#if !defined(STM32_USART_BASE) || !defined(STM32_USART_CLOCK_HZ) || !defined(BNN_UART_BAUD) || \
    !defined(STM32_USART_EN_REG) || !defined(STM32_USART_EN_BIT) || !defined(STM32_GPIO_EN_REG)
#error "stm32 platform: compile with the board's defines (STM32_USART_BASE, ...)"
#endif
#if defined(STM32_USART_V1) == defined(STM32_USART_V2)
#error "stm32 platform: define exactly one of STM32_USART_V1, STM32_USART_V2"
#endif

/* GPIO port (same layout on F4, F7, G0) */
#define STM32_GPIO_MODER(port) CM_REG((port) + 0x00u)
#define STM32_GPIO_OSPEEDR(port) CM_REG((port) + 0x08u)
#define STM32_GPIO_PUPDR(port) CM_REG((port) + 0x0Cu)
#define STM32_GPIO_AFR(port, pin) CM_REG((port) + 0x20u + 4u * ((pin) >> 3))

/* USART: the integer baud divisor (oversampling by 16), rounded to nearest; both layouts take it. */
#define STM32_USART_BRR_VALUE (((STM32_USART_CLOCK_HZ) + (BNN_UART_BAUD) / 2u) / (BNN_UART_BAUD))
typedef char stm32_check_brr[(STM32_USART_BRR_VALUE >= 16u && STM32_USART_BRR_VALUE <= 0xFFFFu) ? 1 : -1];

#endif /* BNN_PLATFORM_STM32_H */
