/* Validation loops for the cycle model (pipeline/timing/microbench.py), one function per instruction
 * class, each run once from reset. Every function is 100 iterations of a body whose Cortex-M4 cycle
 * count follows from the TRM (DDI 0439B table 3-1, 3.3.2); microbench.py has each count worked out.
 * Plain Thumb-2 for armv7e-m (M4/M7). r8 keeps nothing; no C runtime, no stack frame needed except
 * in bench_call and bench_pushpop. Ends with semihosting SYS_EXIT_EXTENDED so QEMU exits cleanly
 * (the plugin writes its counts only then). */
    .syntax unified
    .thumb
    .section .vectors, "a"
    .word __stack_top
    .word reset + 1

    .text
    .balign 4
    .thumb_func
    .global reset
reset:
    bl bench_alu
    bl bench_mac
    bl bench_load_pipelined
    bl bench_load_interleaved
    bl bench_load_chase
    bl bench_store
    bl bench_ldm_stm
    bl bench_push_pop
    bl bench_branch
    bl bench_call
    bl bench_dot
    movs r0, #0x20          /* SYS_EXIT_EXTENDED */
    ldr r1, =exit_block
    bkpt 0xab
1:  b 1b

    .macro BENCH name
    .balign 4
    .thumb_func
    .global \name
\name:
    .endm

BENCH bench_alu
    movs r0, #100
1:  adds r1, r1, #1
    eors r2, r1
    lsls r3, r2, #2
    orrs r3, r1
    adds r2, r3
    ands r1, r2
    subs r3, r2
    mvns r1, r3
    subs r0, #1
    bne 1b
    bx lr

BENCH bench_mac
    movs r0, #100
1:  smlad r1, r2, r3, r1
    smlad r4, r2, r3, r4
    smlad r5, r2, r3, r5
    smlad r6, r2, r3, r6
    smlabb r1, r2, r3, r1
    smlal r4, r5, r2, r3
    mla r6, r2, r3, r6
    mul r7, r2, r3
    subs r0, #1
    bne 1b
    bx lr

BENCH bench_load_pipelined
    movs r0, #100
    ldr r4, =buffer
1:  ldr r1, [r4]
    ldr r2, [r4, #4]
    ldr r3, [r4, #8]
    ldr r5, [r4, #12]
    subs r0, #1
    bne 1b
    bx lr

BENCH bench_load_interleaved
    movs r0, #100
    ldr r4, =buffer
1:  ldr r1, [r4]
    adds r1, #1
    ldr r2, [r4, #4]
    adds r2, #1
    subs r0, #1
    bne 1b
    bx lr

BENCH bench_load_chase
    movs r0, #100
    ldr r4, =buffer
    str r4, [r4]
1:  ldr r1, [r4]
    ldr r2, [r1]
    subs r0, #1
    bne 1b
    bx lr

BENCH bench_store
    movs r0, #100
    ldr r4, =buffer
1:  str r1, [r4]
    str r2, [r4, #4]
    strb r3, [r4, #8]
    strh r5, [r4, #12]
    subs r0, #1
    bne 1b
    bx lr

BENCH bench_ldm_stm
    movs r0, #100
    ldr r4, =buffer
    adds r6, r4, #16
1:  ldmia r4, {r1, r2, r3, r5}
    stmia r6, {r1, r2, r3, r5}
    subs r0, #1
    bne 1b
    bx lr

BENCH bench_push_pop
    movs r0, #100
1:  push {r1, r2, r3, r5}
    pop {r1, r2, r3, r5}
    subs r0, #1
    bne 1b
    bx lr

BENCH bench_branch
    movs r0, #100
1:  b 2f
    nop
2:  adds r1, #1
    subs r0, #1
    bne 1b
    bx lr

BENCH bench_call
    push {r7, lr}
    movs r0, #100
1:  bl leaf
    subs r0, #1
    bne 1b
    pop {r7, pc}

    .balign 4
    .thumb_func
leaf:
    adds r1, #1
    bx lr

BENCH bench_dot
    movs r0, #100
    ldr r4, =buffer
    adds r6, r4, #16
1:  ldr r1, [r4]
    ldr r2, [r6]
    sxtb16 r3, r1
    sxtb16 r5, r2
    smlad r7, r3, r5, r7
    sxtb16 r1, r1, ror #8
    sxtb16 r2, r2, ror #8
    smlad r7, r1, r2, r7
    subs r0, #1
    bne 1b
    bx lr

    .balign 4
exit_block:
    .word 0x20026, 0
    .ltorg

    .bss
    .balign 8
buffer:
    .space 64
