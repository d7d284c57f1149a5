/* QEMU mps3-an547: Cortex-M55 (Secure aliases). CMSDK UART0 at 0x59303000 (measured: transmits only after
 * BAUDDIV=16 and CTRL.TXEN), board clock 32000000 Hz drives SysTick with CLKSOURCE=CPU. */
#ifndef BOARD_H
#define BOARD_H
#define BOARD_NAME "mps3-an547"
#define BOARD_UART0_BASE 0x59303000u
#define BOARD_CLOCK_HZ 32000000u
#endif
