/* User-mode entry and exit, and the copies between kernel and user memory.
 *
 * `syscall` arrives here with interrupts masked (FMASK), the user rsp still loaded and the user
 * GS base active. The frame built is a TrapFrame, as for interrupts, so that one exit path
 * (`trap_return`, with `iretq`) serves both and a signal can rewrite any register. The
 * general registers are saved by the same code as for traps (traps.S), whose dispatcher hands
 * frames with the system-call "vector" to `syscall_dispatch`. */

.section .text, "ax"
.code64

.global syscall_entry
syscall_entry:
    swapgs
    mov %rsp, %gs:16            /* PerCpu.user_stack_scratch */
    mov %gs:8, %rsp             /* PerCpu.kernel_stack_top */
    push $0x1b                  /* ss: user data */
    push %gs:16                 /* rsp */
    push %r11                   /* rflags */
    push $0x23                  /* cs: user code */
    push %rcx                   /* rip */
    push $0                     /* error code */
    push $0x100                 /* "vector" of a system call */
    jmp trap_save_registers     /* the general registers, then trap_dispatch */

/* user_enter(frame: *const TrapFrame) -> !: copies the frame below the current stack pointer
 * (so it never overlaps the source, which lies in a caller's frame) and leaves through
 * `trap_return`. */
.global user_enter
user_enter:
    cli
    sub $176, %rsp
    mov %rdi, %rsi
    mov %rsp, %rdi
    mov $22, %ecx
    cld
    rep movsq
    jmp trap_return

/* user_copy(destination, source, length) -> bytes not copied. The caller has checked that the
 * user side lies below the user limit; a fault there that cannot be resolved resumes at
 * user_copy_fixup with rcx = bytes left. */
.global user_copy
user_copy:
    mov %rdx, %rcx
    testb $1, user_access_uses_stac(%rip)
    jz .Lcopy
    stac
.Lcopy:
.global user_copy_instruction
user_copy_instruction:
    rep movsb
.global user_copy_fixup
user_copy_fixup:
    testb $1, user_access_uses_stac(%rip)
    jz .Lcopied
    clac
.Lcopied:
    mov %rcx, %rax
    ret
