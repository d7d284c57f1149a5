/* Vector table and reset handler. The FPU is enabled before anything else: GCC may vectorise
 * or use VFP registers in the .data/.bss loops (measured at -O3), which faults with CP10/11 off. */
#include <stdint.h>
#include "board_support.h"

extern uint32_t __data_load__, __data_start__, __data_end__, __bss_start__, __bss_end__;
extern uint32_t __stack_base__, __stack_top__, __hstack_top__;
extern int main(void);

void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);
void SysTick_Handler(void);

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

__attribute__((naked, noreturn)) void Reset_Handler(void) {
    /* CP10 and CP11 full access; no stack or data is touched before this. A core without an
     * FPU (Cortex-M3, soft-float builds: __ARM_FP undefined) has no CPACR to write. */
    __asm volatile(
#if defined(__ARM_FP)
        "ldr r0, =0xE000ED88\n"
        "ldr r1, [r0]\n"
        "orr r1, r1, #(0xF << 20)\n"
        "str r1, [r0]\n"
        "dsb\n"
        "isb\n"
#endif
        "b reset_c\n");
}

/* The application runs on the process stack (PSP, the .stack region); exceptions use a small
 * separate main stack (MSP). Its lowest STACK_GUARD bytes trap: an MPU no-access region on
 * v7-M (M4/M7), the PSPLIM stack-limit register on v8-M (M55). An overflow is then a HardFault
 * that can still report over the UART, instead of silent corruption. */
static void stack_guard(void) {
    uint32_t base = (uint32_t)&__stack_base__;
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
    __asm volatile("msr psplim, %0" ::"r"(base + STACK_GUARD));
#else
    volatile uint32_t *mpu = (volatile uint32_t *)0xE000ED94u; /* CTRL, RNR, RBAR, RASR */
    mpu[1] = 0;                                   /* region 0 */
    mpu[2] = base;                                /* 32-byte aligned by the linker script */
    mpu[3] = (1u << 28) | (4u << 1) | 1u;         /* XN, AP = no access, 2^(4+1) = 32 B, on */
    mpu[0] = (1u << 2) | 1u;                      /* PRIVDEFENA: default map elsewhere; enable */
#endif
    __asm volatile("dsb\nisb" ::: "memory");
}

__attribute__((noreturn, used)) void reset_c(void) {
    uint32_t *src = &__data_load__, *dst = &__data_start__;
    while (dst < &__data_end__) *dst++ = *src++;
    for (dst = &__bss_start__; dst < &__bss_end__; ) *dst++ = 0;
    /* Paint the application stack: the high-water mark is the lowest word changed. */
    for (volatile uint32_t *p = &__stack_base__; p < &__stack_top__; ) *p++ = STACK_PAINT;
    stack_guard();
    /* Switch thread mode to the PSP at the top of .stack, then run the app on it. */
    __asm volatile(
        "msr psp, %0\n"
        "movs r0, #2\n"
        "msr control, r0\n"
        "isb\n"
        "bl main\n"
        "movs r0, #0\n"
        "bl board_exit\n" ::"r"(&__stack_top__) : "r0", "memory");
    for (;;) { }
}

void Default_Handler(void) {
    board_fault("unexpected exception", 0);
}

__attribute__((section(".vectors"), used)) void (*const vector_table[16])(void) = {
    (void (*)(void))(&__hstack_top__), /* initial MSP: the exception stack */
    Reset_Handler,
    Default_Handler,      /* NMI */
    HardFault_Handler,
    HardFault_Handler,    /* MemManage */
    HardFault_Handler,    /* BusFault */
    HardFault_Handler,    /* UsageFault */
    HardFault_Handler,    /* SecureFault (v8-M) */
    0, 0, 0,
    Default_Handler,      /* SVC */
    Default_Handler,      /* DebugMon */
    0,
    Default_Handler,      /* PendSV */
    SysTick_Handler,
};
