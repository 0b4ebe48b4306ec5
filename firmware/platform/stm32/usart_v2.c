/*
 * STM32 USART, F0/F7/G0/H7/L4 register layout (STM32_USART_V2): CR1, BRR, ISR, ICR, RDR, TDR. 8N1, TX
 * polled; RX sleeps in WFI until RXNE; the interrupt only masks itself in the NVIC, getc unmasks it.
 */
#include <stddef.h>
#include <stdint.h>

#include "bnn/platform.h"
#include "stm32.h"

#if defined(STM32_USART_V2)
#define USART_CR1 CM_REG((STM32_USART_BASE) + 0x00u)
#define USART_BRR CM_REG((STM32_USART_BASE) + 0x0Cu)
#define USART_ISR CM_REG((STM32_USART_BASE) + 0x1Cu)
#define USART_ICR CM_REG((STM32_USART_BASE) + 0x20u)
#define USART_RDR CM_REG((STM32_USART_BASE) + 0x24u)
#define USART_TDR CM_REG((STM32_USART_BASE) + 0x28u)
#define USART_CR1_UE (1u << 0)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_RXNEIE (1u << 5)
#define USART_ISR_ORE (1u << 3)
#define USART_ISR_RXNE (1u << 5)
#define USART_ISR_TC (1u << 6)
#define USART_ISR_TXE (1u << 7)
#define USART_ICR_ORECF (1u << 3)

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
    USART_ICR = USART_ICR_ORECF; /* an overrun also raises the interrupt */
}

void cortex_m_platform_uart_flush(void)
{
    while ((USART_ISR & USART_ISR_TC) == 0u) {
    }
}

int bnn_uart_getc(void)
{
    USART_ICR = USART_ICR_ORECF; /* an overrun would stop reception: the protocol resynchronises */
    CM_NVIC_ISER((uint32_t)(BNN_UART_IRQ) >> 5) = 1u << ((uint32_t)(BNN_UART_IRQ)&31u);
    CM_WAIT_UNTIL((USART_ISR & USART_ISR_RXNE) != 0u);
    return (int)(USART_RDR & 0xFFu);
}

void bnn_uart_putc(uint8_t byte)
{
    while ((USART_ISR & USART_ISR_TXE) == 0u) {
    }
    USART_TDR = byte;
}

void bnn_uart_write(const uint8_t *data, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        bnn_uart_putc(data[i]);
    }
}
#else
typedef int stm32_usart_v2_unused; /* ISO C: a translation unit must not be empty */
#endif
