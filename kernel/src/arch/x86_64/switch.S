/* Context switch between kernel threads.
 * switch_context(save_rsp: *mut u64 /rdi/, load_rsp: u64 /rsi/)
 * Saves the callee-saved registers on the current stack, stores the stack pointer through rdi,
 * loads rsi as the new stack pointer and restores the registers saved there. */
.section .text, "ax"
.code64
.global switch_context
switch_context:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

/* First code of every new thread: the initial frame holds r12 = argument, r13 = entry. */
.global thread_trampoline
thread_trampoline:
    mov %r12, %rdi
    xor %ebp, %ebp
    call *%r13
    ud2
