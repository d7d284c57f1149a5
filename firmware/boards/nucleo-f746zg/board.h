/* ST NUCLEO-F746ZG: STM32F746ZG (Cortex-M7). The app runs on the reset clock: the 16 MHz HSI
 * drives the core, AHB and APB1 (no PLL is configured), so the core clock reported in `id` is
 * 16 MHz, not the 216 MHz the chip can be clocked at. USART3 (PD8 TX / PD9 RX, AF7) is wired
 * to the ST-LINK/V2-1 virtual COM port. Timing: DWT CYCCNT (core cycles). */
#ifndef BOARD_H
#define BOARD_H
#define BOARD_NAME "nucleo-f746zg"
#define BOARD_CLOCK_HZ 16000000u   /* HSI after reset */
#define BOARD_UART_BAUD 115200u
#define BOARD_NO_SEMIHOSTING 1     /* no debugger attached: quit resets, a fault halts */
#endif
