/* Context switch between kernel threads.
 * switch_context(save_sp: *mut u64 /x0/, load_sp: u64 /x1/)
 * Saves the callee-saved registers (x19-x30) on the current stack, stores the stack pointer
 * through x0, loads x1 as the new stack pointer and restores the registers saved there. */
.section .text, "ax"
.global switch_context
switch_context:
    sub sp, sp, #96
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    mov x9, sp
    str x9, [x0]
    mov sp, x1
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    add sp, sp, #96
    ret

/* First code of every new thread: the initial frame holds x19 = argument, x20 = entry. */
.global thread_trampoline
thread_trampoline:
    mov x0, x19
    mov x29, #0
    blr x20
    brk #0
