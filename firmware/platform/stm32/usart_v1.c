/*
 * STM32 USART, F1/F2/F4 register layout (STM32_USART_V1): SR, DR, BRR, CR1. 8N1, TX polled; RX sleeps in
 * WFI until RXNE; the interrupt (RXNE with RXNEIE) only masks itself in the NVIC, getc unmasks it
 * before sleeping.
 * QEMU's model drops bytes that arrive before UE and RE are set: Reset_Handler calls the init first.
 */
#include <stddef.h>
#include <stdint.h>

#include "bnn/platform.h"
#include "stm32.h"

#if defined(STM32_USART_V1)
#define USART_SR CM_REG((STM32_USART_BASE) + 0x00u)
#define USART_DR CM_REG((STM32_USART_BASE) + 0x04u)
#define USART_BRR CM_REG((STM32_USART_BASE) + 0x08u)
#define USART_CR1 CM_REG((STM32_USART_BASE) + 0x0Cu)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TC (1u << 6)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_RXNEIE (1u << 5)
#define USART_CR1_UE (1u << 13)

void stm32_uart_pins_init(void);

void cortex_m_platform_uart_init(void)
{
    stm32_uart_pins_init();
    USART_CR1 = 0u;
    USART_BRR = STM32_USART_BRR_VALUE;
    USART_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | USART_CR1_RXNEIE;
}

/* The interrupt masks itself in the NVIC; getc reads the byte and unmasks it. (Clearing RXNEIE instead
 * does not work in QEMU 7.2: its model keeps the line high until DR is read, so the handler would
 * tail-chain forever.) */
void cortex_m_platform_uart_irq(void)
{
    cm_nvic_disable(BNN_UART_IRQ);
}

void cortex_m_platform_uart_flush(void)
{
    while ((USART_SR & USART_SR_TC) == 0u) {
    }
}

int bnn_uart_getc(void)
{
    CM_NVIC_ISER((uint32_t)(BNN_UART_IRQ) >> 5) = 1u << ((uint32_t)(BNN_UART_IRQ)&31u);
    CM_WAIT_UNTIL((USART_SR & USART_SR_RXNE) != 0u);
    return (int)(USART_DR & 0xFFu); /* reading SR then DR also clears an overrun */
}

void bnn_uart_putc(uint8_t byte)
{
    while ((USART_SR & USART_SR_TXE) == 0u) {
    }
    USART_DR = byte;
}

void bnn_uart_write(const uint8_t *data, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        bnn_uart_putc(data[i]);
    }
}
#else
typedef int stm32_usart_v1_unused; /* ISO C: a translation unit must not be empty */
#endif
