#ifndef BOARD_SUPPORT_H
#define BOARD_SUPPORT_H
#include <stdint.h>
#include <stddef.h>

#define STACK_PAINT 0xA5A5A5A5u
#define STACK_GUARD 32u /* bytes at the bottom of .stack that trap on access */

void uart_init(void);
void uart_putc(char c);
void uart_puts(const char *s);
int uart_getc(void);            /* blocking */

void timer_start(void);         /* SysTick, CPU clock, wrap counted in an interrupt */
uint64_t timer_ticks(void);     /* ticks since timer_start; 1 tick = 1 board clock cycle */

uint32_t stack_used_bytes(void);
uint32_t stack_size_bytes(void);

__attribute__((noreturn)) void board_fault(const char *what, uint32_t pc);
__attribute__((noreturn)) void board_exit(int code);
#endif
