/* Arm CMSDK APB UART: DATA +0, STATE +4 (bit0 TX full, bit1 RX full), CTRL +8 (bit0 TX en,
 * bit1 RX en), BAUDDIV +0x10 (>= 16 or QEMU's model stays silent). */
#include "board.h"
#include "board_support.h"

#define UART_REG(off) (*(volatile uint32_t *)(BOARD_UART0_BASE + (off)))

void uart_init(void) {
    UART_REG(0x10) = 16;
    UART_REG(0x08) = 0x3;
}

void uart_putc(char c) {
    while (UART_REG(0x04) & 1u) { }
    UART_REG(0x00) = (uint8_t)c;
}

void uart_puts(const char *s) {
    while (*s) uart_putc(*s++);
}

int uart_getc(void) {
    while (!(UART_REG(0x04) & 2u)) { }
    return (int)(UART_REG(0x00) & 0xFFu);
}
