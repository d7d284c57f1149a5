/* SysTick on the CPU clock. Under QEMU -icount shift=0 one instruction is 1 ns of virtual
 * time, so ticks are an exact, repeatable instruction measure (40 instructions per tick at the
 * 25 MHz MPS2 clock). The 24-bit counter wraps every 2^24 ticks: the interrupt counts wraps. */
#include "board_support.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define RELOAD 0xFFFFFFu

#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define PENDSTSET (1u << 26)

static volatile uint32_t hits; /* times the counter reached 0 (the interrupt fires there) */

void SysTick_Handler(void) { ++hits; }

void timer_start(void) {
    SYST_CSR = 0;
    SYST_RVR = RELOAD;
    SYST_CVR = 0;
    hits = 0;
    SYST_CSR = 0x7; /* enable, interrupt, CPU clock */
    while (SYST_CVR == 0) { } /* the first tick loads RELOAD; count from there */
}

/* The counter hits 0 one tick before it reloads, so while it reads 0 the last hit has not
 * wrapped yet. Interrupts are masked so the count and the pending bit are read together. */
uint64_t timer_ticks(void) {
    uint32_t h, v;
    __asm volatile("cpsid i" ::: "memory");
    v = SYST_CVR;
    h = hits;
    if (SCB_ICSR & PENDSTSET) {
        v = SYST_CVR;
        ++h;
    }
    __asm volatile("cpsie i" ::: "memory");
    uint64_t reloads = (v == 0) ? (uint64_t)h - 1u : (uint64_t)h;
    return reloads * (RELOAD + 1u) + (RELOAD - v);
}
