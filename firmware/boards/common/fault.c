/* HardFault: report the stacked PC and the fault status registers over the UART, then exit
 * through semihosting so an emulator stops (a board stays halted). */
#include "board.h"
#include "board_support.h"

extern uint32_t __stack_base__, __stack_top__, __hstack_top__;

static void put_hex(uint32_t v) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 7; i >= 0; --i) uart_putc(hex[(v >> (4 * i)) & 0xF]);
}

void board_fault(const char *what, uint32_t pc) {
    uart_puts("\nFAULT ");
    uart_puts(what);
    uart_puts(" pc=0x");
    put_hex(pc);
    uart_puts(" cfsr=0x");
    put_hex(*(volatile uint32_t *)0xE000ED28u);
    uart_puts(" hfsr=0x");
    put_hex(*(volatile uint32_t *)0xE000ED2Cu);
    uart_puts("\n");
    board_exit(3);
}

__attribute__((used)) void hardfault_c(uint32_t *frame) {
    /* The exception frame is r0-r3, r12, lr, pc, xpsr: the faulting PC is word 6. If the
     * frame itself could not be stacked (stack overflow), it lies outside the stack region. */
    uint32_t sp = (uint32_t)frame;
    int sane = sp >= (uint32_t)&__stack_base__ && sp + 32 <= (uint32_t)&__stack_top__;
    board_fault(sane ? "hardfault" : "hardfault (stack overflow)", sane ? frame[6] : 0);
}

__attribute__((naked)) void HardFault_Handler(void) {
    __asm volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "ldr r1, =__hstack_top__\n"
        "mov sp, r1\n"          /* a fresh exception stack: the frame may be all that was left */
        "b hardfault_c\n");
}

uint32_t stack_size_bytes(void) {
    return (uint32_t)((uint8_t *)&__stack_top__ - (uint8_t *)&__stack_base__) - STACK_GUARD;
}

uint32_t stack_used_bytes(void) {
    const uint32_t *p = &__stack_base__ + STACK_GUARD / 4; /* never read the guard: it traps */
    while (p < &__stack_top__ && *p == STACK_PAINT) ++p;
    return (uint32_t)((uint8_t *)&__stack_top__ - (uint8_t *)p);
}

#ifdef BOARD_NO_SEMIHOSTING
/* A real board without a debugger: BKPT would itself fault. `quit` (code 0) resets the chip
 * (SCB AIRCR SYSRESETREQ) so it comes back with a READY banner; a fault (code != 0) halts
 * here so the FAULT line stays the last thing on the UART. */
void board_exit(int code) {
    if (code == 0) {
        __asm volatile("dsb" ::: "memory");
        *(volatile uint32_t *)0xE000ED0Cu = 0x05FA0004u;
        __asm volatile("dsb" ::: "memory");
    }
    for (;;) { }
}
#else
void board_exit(int code) {
    /* Semihosting SYS_EXIT_EXTENDED (0x20) with {ADP_Stopped_ApplicationExit, code}. */
    volatile uint32_t block[2] = {0x20026u, (uint32_t)code};
    register uint32_t r0 __asm("r0") = 0x20;
    register uint32_t r1 __asm("r1") = (uint32_t)block;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    for (;;) { }
}
#endif
