/*
 * stm32 pins: clock the GPIO ports and the USART (RCC enable bits from the board file) and put the TX/RX
 * pins in their alternate function. Called by the USART driver's init. Under QEMU the RCC and GPIO writes
 * land in unimplemented-device regions and are ignored; the code runs the same.
 */
#include <stdint.h>

#include "stm32.h"

static void pin_af(uint32_t port, uint32_t pin, uint32_t af)
{
    const uint32_t shift4 = (pin & 7u) * 4u;
    STM32_GPIO_AFR(port, pin) = (STM32_GPIO_AFR(port, pin) & ~(0xFu << shift4)) | (af << shift4);
    STM32_GPIO_OSPEEDR(port) |= 2u << (2u * pin);                         /* high speed */
    STM32_GPIO_PUPDR(port) = (STM32_GPIO_PUPDR(port) & ~(3u << (2u * pin))) | (1u << (2u * pin)); /* pull-up */
    STM32_GPIO_MODER(port) = (STM32_GPIO_MODER(port) & ~(3u << (2u * pin))) | (2u << (2u * pin)); /* AF */
}

void stm32_uart_pins_init(void)
{
    CM_REG(STM32_GPIO_EN_REG) |= (uint32_t)(STM32_GPIO_EN_BITS);
    CM_REG(STM32_USART_EN_REG) |= 1u << (STM32_USART_EN_BIT);
    (void)CM_REG(STM32_USART_EN_REG); /* the enable takes effect before the first register access */
    pin_af(STM32_TX_GPIO, STM32_TX_PIN, STM32_TX_AF);
    pin_af(STM32_RX_GPIO, STM32_RX_PIN, STM32_RX_AF);
}
