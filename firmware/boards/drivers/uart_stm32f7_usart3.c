/* STM32F7 USART3 on PD8 (TX) / PD9 (RX), alternate function 7, 115200 8N1, polled.
 * Register map per RM0385: RCC at 0x40023800, GPIOD at 0x40020C00, USART3 at 0x40004800
 * (APB1). After reset USART3's kernel clock is PCLK1 = HSI 16 MHz, so BRR = 16e6 / 115200. */
#include <stdint.h>
#include "board.h"
#include "board_support.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define RCC_AHB1ENR REG(0x40023830u)
#define RCC_APB1ENR REG(0x40023840u)
#define GPIOD_BASE 0x40020C00u
#define GPIOD_MODER REG(GPIOD_BASE + 0x00u)
#define GPIOD_OSPEEDR REG(GPIOD_BASE + 0x08u)
#define GPIOD_PUPDR REG(GPIOD_BASE + 0x0Cu)
#define GPIOD_AFRH REG(GPIOD_BASE + 0x24u)
#define USART3_BASE 0x40004800u
#define USART_CR1 REG(USART3_BASE + 0x00u)
#define USART_CR3 REG(USART3_BASE + 0x08u)
#define USART_BRR REG(USART3_BASE + 0x0Cu)
#define USART_ISR REG(USART3_BASE + 0x1Cu)
#define USART_ICR REG(USART3_BASE + 0x20u)
#define USART_RDR REG(USART3_BASE + 0x24u)
#define USART_TDR REG(USART3_BASE + 0x28u)

#define PCLK1_HZ 16000000u
#define ISR_ORE (1u << 3)
#define ISR_RXNE (1u << 5)
#define ISR_TXE (1u << 7)

void uart_init(void) {
    RCC_AHB1ENR |= 1u << 3;   /* GPIODEN */
    RCC_APB1ENR |= 1u << 18;  /* USART3EN */
    (void)RCC_APB1ENR;        /* read back: the enable takes effect before the first access */
    GPIOD_MODER = (GPIOD_MODER & ~(0xFu << 16)) | (0xAu << 16);      /* PD8, PD9: alternate */
    GPIOD_OSPEEDR |= 0xFu << 16;                                     /* very high speed */
    GPIOD_PUPDR = (GPIOD_PUPDR & ~(0xFu << 16)) | (0x4u << 16);      /* pull-up on RX (PD9) */
    GPIOD_AFRH = (GPIOD_AFRH & ~0xFFu) | 0x77u;                      /* AF7 = USART3 */
    USART_CR1 = 0;
    USART_CR3 = 1u << 12;     /* OVRDIS: an overrun never blocks reception (written with UE=0) */
    USART_BRR = (PCLK1_HZ + BOARD_UART_BAUD / 2) / BOARD_UART_BAUD;  /* 139: 0.08 % error */
    USART_CR1 = (1u << 3) | (1u << 2) | 1u;                          /* TE, RE, UE */
}

void uart_putc(char c) {
    while (!(USART_ISR & ISR_TXE)) { }
    USART_TDR = (uint8_t)c;
}

void uart_puts(const char *s) {
    while (*s) uart_putc(*s++);
}

int uart_getc(void) {
    for (;;) {
        uint32_t isr = USART_ISR;
        if (isr & ISR_RXNE) return (int)(USART_RDR & 0xFFu);
        if (isr & ISR_ORE) USART_ICR = ISR_ORE; /* ORECF */
    }
}
