/* Application-processor start-up code. It is copied to physical 0x8000 and entered in real mode
 * by the start-up IPI; it climbs to long mode with the kernel's page tables (which identity-map
 * this page while APs start) and jumps to the address in `entry` with `argument` in %rdi on the
 * stack in `stack`. The boot CPU fills the four parameters before each start-up. */
.set TRAMPOLINE_BASE, 0x8000

.section .rodata.ap_trampoline, "a"
.global ap_trampoline_start
.global ap_trampoline_end
.code16
ap_trampoline_start:
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    lgdtl (ap_gdt_pointer - ap_trampoline_start + TRAMPOLINE_BASE)
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $0x18, $(ap_protected - ap_trampoline_start + TRAMPOLINE_BASE)

.code32
ap_protected:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %cr4, %eax
    or $((1 << 5) | (1 << 7)), %eax          /* PAE, PGE */
    mov %eax, %cr4
    mov (ap_cr3 - ap_trampoline_start + TRAMPOLINE_BASE), %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx
    rdmsr
    or $((1 << 8) | (1 << 11)), %eax         /* LME, NXE */
    wrmsr
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16)), %eax        /* PG, WP */
    mov %eax, %cr0
    ljmp $0x08, $(ap_long - ap_trampoline_start + TRAMPOLINE_BASE)

.code64
ap_long:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov (ap_stack - ap_trampoline_start + TRAMPOLINE_BASE), %rsp
    mov (ap_argument - ap_trampoline_start + TRAMPOLINE_BASE), %rdi
    mov (ap_entry - ap_trampoline_start + TRAMPOLINE_BASE), %rax
    xor %ebp, %ebp
    jmp *%rax

.balign 8
ap_gdt:
/* Descriptors carry their "accessed" bit already: once paging is on, the CPU would otherwise
 * write it into this page, which is mapped read-only (a write there faults with no IDT yet,
 * i.e. a triple fault; KVM enforces it, TCG does not). */
    .quad 0
    .quad 0x00af9b000000ffff                /* 0x08: 64-bit code (= the kernel's, so the IDT */
                                            /*       works before the per-CPU GDT is loaded) */
    .quad 0x00cf93000000ffff                /* 0x10: data */
    .quad 0x00cf9b000000ffff                /* 0x18: 32-bit code, for the protected-mode step */
ap_gdt_pointer:
    .word 31
    .long ap_gdt - ap_trampoline_start + TRAMPOLINE_BASE
.balign 8
.global ap_cr3
ap_cr3:
    .quad 0
.global ap_stack
ap_stack:
    .quad 0
.global ap_entry
ap_entry:
    .quad 0
.global ap_argument
ap_argument:
    .quad 0
ap_trampoline_end:
