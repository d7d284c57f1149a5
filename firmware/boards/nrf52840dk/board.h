/* Nordic nRF52840 DK: nRF52840 (Cortex-M4F), CPU at its fixed 64 MHz. UARTE0 on P0.06 (TX) /
 * P0.08 (RX) goes to the J-Link OB virtual COM port (no flow control). Timing: DWT CYCCNT. */
#ifndef BOARD_H
#define BOARD_H
#define BOARD_NAME "nrf52840dk"
#define BOARD_CLOCK_HZ 64000000u
#define BOARD_NO_SEMIHOSTING 1     /* no debugger attached: quit resets, a fault halts */
#endif
