/* EL1 exception vectors (VBAR_EL1): sixteen 128-byte slots (current EL with SP_EL0, current EL
 * with SP_ELx, lower EL AArch64, lower EL AArch32; each sync, IRQ, FIQ, SError). Each slot saves
 * x0/x1 and branches to the common code with its slot number, which saves the rest as a
 * TrapFrame (traps.rs) and calls trap_dispatch. The kernel runs on SP_EL1.
 *
 * A synchronous exception whose fault address lies just below the stack pointer is a stack
 * overflow into a guard page: saving a frame there would fault again forever, so that case
 * moves to this CPU's emergency stack (PerCpu.emergency_stack_top) first. */

.set FRAME_SIZE, 304
.set FRAME_SP, 248
.set FRAME_ELR, 256
.set FRAME_ESR, 272
.set FRAME_KIND, 288
.set GUARD_WINDOW, 0x4000
/* offset_of!(PerCpu, emergency_stack_top), checked in percpu.rs */
.set PERCPU_EMERGENCY_STACK, 8

.macro SLOT kind
.balign 0x80
    sub sp, sp, #FRAME_SIZE
    stp x0, x1, [sp, #0]
    mov x0, #\kind
    b trap_common
.endm

.section .text.vectors, "ax"
.balign 2048
.global exception_vectors
exception_vectors:
    SLOT 0
    SLOT 1
    SLOT 2
    SLOT 3
.balign 0x80
    b el1_sync_entry
    SLOT 5
    SLOT 6
    SLOT 7
    SLOT 8
    SLOT 9
    SLOT 10
    SLOT 11
    SLOT 12
    SLOT 13
    SLOT 14
    SLOT 15

el1_sync_entry:
    msr sp_el0, x0                       /* SP_EL0 is unused while the kernel runs on SP_EL1 */
    mrs x0, far_el1
    sub x0, sp, x0
    cmp x0, #GUARD_WINDOW
    b.hs 1f
    mrs x0, tpidr_el1
    cbz x0, 1f
    ldr x0, [x0, #PERCPU_EMERGENCY_STACK]
    cbz x0, 1f
    /* Swap sp and x0 without a spare register: sp = emergency stack, x0 = the faulting sp. */
    add sp, sp, x0
    sub x0, sp, x0
    sub sp, sp, x0
    sub sp, sp, #FRAME_SIZE
    str x0, [sp, #FRAME_SP]
    mrs x0, sp_el0
    stp x0, x1, [sp, #0]
    mov x0, #4
    b trap_common_sp_saved
1:  mrs x0, sp_el0
    sub sp, sp, #FRAME_SIZE
    stp x0, x1, [sp, #0]
    mov x0, #4

trap_common:
    add x1, sp, #FRAME_SIZE
    str x1, [sp, #FRAME_SP]
trap_common_sp_saved:
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x19, [sp, #144]
    stp x20, x21, [sp, #160]
    stp x22, x23, [sp, #176]
    stp x24, x25, [sp, #192]
    stp x26, x27, [sp, #208]
    stp x28, x29, [sp, #224]
    str x30, [sp, #240]
    mrs x1, elr_el1
    mrs x2, spsr_el1
    stp x1, x2, [sp, #FRAME_ELR]
    mrs x1, esr_el1
    mrs x2, far_el1
    stp x1, x2, [sp, #FRAME_ESR]
    str x0, [sp, #FRAME_KIND]
    mov x0, sp
    bl trap_dispatch
    ldp x1, x2, [sp, #FRAME_ELR]
    msr elr_el1, x1
    msr spsr_el1, x2
    ldp x2, x3, [sp, #16]
    ldp x4, x5, [sp, #32]
    ldp x6, x7, [sp, #48]
    ldp x8, x9, [sp, #64]
    ldp x10, x11, [sp, #80]
    ldp x12, x13, [sp, #96]
    ldp x14, x15, [sp, #112]
    ldp x16, x17, [sp, #128]
    ldp x18, x19, [sp, #144]
    ldp x20, x21, [sp, #160]
    ldp x22, x23, [sp, #176]
    ldp x24, x25, [sp, #192]
    ldp x26, x27, [sp, #208]
    ldp x28, x29, [sp, #224]
    ldr x30, [sp, #240]
    ldp x0, x1, [sp, #0]
    add sp, sp, #FRAME_SIZE
    eret
