/* Real cores: the DWT cycle counter. DEMCR.TRCENA (0xE000EDFC bit 24) powers the DWT,
 * DWT_CTRL.CYCCNTENA (0xE0001000 bit 0) starts CYCCNT (0xE0001004), which counts core clock
 * cycles. On the Cortex-M7 the DWT is behind a lock: LAR (0xE0001FB0) takes 0xC5ACCE55.
 * CYCCNT is 32 bits (wraps after 19.9 s at 216 MHz, 67 s at 64 MHz): SysTick interrupts every
 * 2^24 cycles fold it into a 64-bit count, so long `infer N` runs do not wrap.
 * (Under QEMU CYCCNT reads 0: the emulated boards use timer_systick.c instead.) */
#include "board_support.h"

#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define DWT_LAR (*(volatile uint32_t *)0xE0001FB0u)
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static uint32_t last;
static uint64_t high;

static uint64_t extend(void) {
    uint32_t now = DWT_CYCCNT;
    if (now < last) high += 1ull << 32;
    last = now;
    return high | now;
}

void SysTick_Handler(void) { (void)extend(); }

void timer_start(void) {
    DEMCR |= 1u << 24;            /* TRCENA */
    DWT_LAR = 0xC5ACCE55u;        /* unlock (Cortex-M7; ignored where there is no lock) */
    DWT_CTRL |= 1u;               /* CYCCNTENA */
    SYST_CSR = 0;
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    __asm volatile("cpsid i" ::: "memory");
    DWT_CYCCNT = 0;
    last = 0;
    high = 0;
    __asm volatile("cpsie i" ::: "memory");
    SYST_CSR = 0x7;               /* enable, interrupt, CPU clock */
}

/* Cycles since timer_start (1 tick = 1 core clock cycle). */
uint64_t timer_ticks(void) {
    __asm volatile("cpsid i" ::: "memory");
    uint64_t t = extend();
    __asm volatile("cpsie i" ::: "memory");
    return t;
}
