/* QEMU mps2-an386: Cortex-M4F. CMSDK UART0 at 0x40004000 (measured: transmits only after
 * BAUDDIV=16 and CTRL.TXEN), board clock 25000000 Hz drives SysTick with CLKSOURCE=CPU. */
#ifndef BOARD_H
#define BOARD_H
#define BOARD_NAME "mps2-an386"
#define BOARD_UART0_BASE 0x40004000u
#define BOARD_CLOCK_HZ 25000000u
#endif
