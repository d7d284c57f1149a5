/* nRF52840 UARTE0 (EasyDMA UART) at 0x40002000, TX P0.06, RX P0.08, 115200 8N1, no flow
 * control. EasyDMA reads and writes RAM only, so single-byte buffers live in .bss. Reception
 * runs continuously one byte at a time: ENDRX -> read -> STARTRX; bytes arriving in between
 * wait in the UARTE's RX FIFO. Offsets per the nRF52840 Product Specification. */
#include <stdint.h>
#include "board.h"
#include "board_support.h"

#define UARTE0 0x40002000u
#define REG(off) (*(volatile uint32_t *)(UARTE0 + (off)))
#define TASKS_STARTRX REG(0x000u)
#define TASKS_STARTTX REG(0x008u)
#define EVENTS_ENDRX REG(0x110u)
#define EVENTS_ENDTX REG(0x120u)
#define ENABLE REG(0x500u)
#define PSEL_RTS REG(0x508u)
#define PSEL_TXD REG(0x50Cu)
#define PSEL_CTS REG(0x510u)
#define PSEL_RXD REG(0x514u)
#define BAUDRATE REG(0x524u)
#define RXD_PTR REG(0x534u)
#define RXD_MAXCNT REG(0x538u)
#define TXD_PTR REG(0x544u)
#define TXD_MAXCNT REG(0x548u)
#define CONFIG REG(0x56Cu)

#define P0_OUTSET (*(volatile uint32_t *)0x50000508u)
#define P0_PIN_CNF(n) (*(volatile uint32_t *)(0x50000700u + 4u * (n)))

#define PIN_TX 6u
#define PIN_RX 8u
#define DISCONNECTED 0xFFFFFFFFu
#define BAUD_115200 0x01D7E000u

static volatile uint8_t tx_byte, rx_byte;

static void start_rx(void) {
    RXD_PTR = (uint32_t)&rx_byte;
    RXD_MAXCNT = 1;
    TASKS_STARTRX = 1;
}

void uart_init(void) {
    P0_OUTSET = 1u << PIN_TX;        /* idle high before the pin becomes an output */
    P0_PIN_CNF(PIN_TX) = 3u;         /* DIR = output, INPUT = buffer disconnected */
    P0_PIN_CNF(PIN_RX) = 0u;         /* input, buffer connected, no pull */
    PSEL_TXD = PIN_TX;
    PSEL_RXD = PIN_RX;
    PSEL_RTS = DISCONNECTED;
    PSEL_CTS = DISCONNECTED;
    BAUDRATE = BAUD_115200;
    CONFIG = 0;                      /* no parity, one stop bit, no hardware flow control */
    ENABLE = 8;                      /* 8 = UARTE */
    EVENTS_ENDRX = 0;
    start_rx();
}

void uart_putc(char c) {
    tx_byte = (uint8_t)c;
    EVENTS_ENDTX = 0;
    TXD_PTR = (uint32_t)&tx_byte;
    TXD_MAXCNT = 1;
    TASKS_STARTTX = 1;
    while (!EVENTS_ENDTX) { }
}

void uart_puts(const char *s) {
    while (*s) uart_putc(*s++);
}

int uart_getc(void) {
    while (!EVENTS_ENDRX) { }
    EVENTS_ENDRX = 0;
    int c = rx_byte;
    start_rx();
    return c;
}
