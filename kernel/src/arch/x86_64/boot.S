/* 32-bit entry for both boot protocols, in protected mode with paging off:
 * - PVH (QEMU -kernel, Xen): %ebx = physical address of struct hvm_start_info;
 * - Multiboot2 (GRUB): %eax = 0x36d76289, %ebx = physical address of the boot information.
 * The Rust side tells them apart by the magic passed as the second argument.
 * We build a tiny set of page tables (identity + direct map + higher half of the first GiB),
 * enter long mode and jump to Rust at its higher-half address. */

.set KERNEL_VMA, 0xffffffff80000000
.set PTE_PRESENT, 0x1
.set PTE_WRITE, 0x2
.set PTE_HUGE, 0x80

/* ELF note that tells the loader where the 32-bit PVH entry is (XEN_ELFNOTE_PHYS32_ENTRY = 18). */
.section .note.pvh, "a", @note
    .balign 4
    .long 4
    .long 4
    .long 18
    .asciz "Xen"
    .long pvh_start32 - KERNEL_VMA
    .balign 4

/* Multiboot2 header (must lie in the first 32 KiB of the file, 8-byte aligned): the
 * entry-address tag sends GRUB to the same 32-bit entry as PVH. */
.section .text.multiboot2, "a"
.balign 8
multiboot2_header:
    .long 0xe85250d6                     /* magic */
    .long 0                              /* architecture: i386 protected mode */
    .long multiboot2_header_end - multiboot2_header
    .long -(0xe85250d6 + 0 + (multiboot2_header_end - multiboot2_header))
    .balign 8
    .word 3, 0                           /* entry address tag */
    .long 12
    .long pvh_start32 - KERNEL_VMA
    .balign 8
    .word 0, 0                           /* end tag */
    .long 8
multiboot2_header_end:

.section .text.boot, "ax"
.code32
.global pvh_start32
pvh_start32:
    cli
    cld
    mov %ebx, %edi                       /* keep the boot information across cpuid */
    mov %eax, %ebp                       /* and the Multiboot2 magic, if any */

    /* Long mode is required; say so on the serial port instead of faulting. */
    mov $0x80000000, %eax
    cpuid
    cmp $0x80000001, %eax
    jb .Lno_long_mode
    mov $0x80000001, %eax
    cpuid
    test $(1 << 29), %edx
    jz .Lno_long_mode

    /* CR4.PAE */
    mov %cr4, %eax
    or $(1 << 5), %eax
    mov %eax, %cr4

    mov $(boot_pml4 - KERNEL_VMA), %eax
    mov %eax, %cr3

    /* EFER.LME | EFER.NXE (NX is checked by the Rust side; set it only when present). */
    mov $0x80000001, %eax
    cpuid
    mov %edx, %esi                       /* rdmsr clobbers %edx */
    mov $0xC0000080, %ecx
    rdmsr
    or $(1 << 8), %eax
    test $(1 << 20), %esi
    jz 1f
    or $(1 << 11), %eax
1:  mov $0xC0000080, %ecx
    wrmsr

    /* CR0.PG | CR0.WP */
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16)), %eax
    mov %eax, %cr0

    lgdt (boot_gdt_pointer - KERNEL_VMA)
    ljmp $0x08, $(long_mode_low - KERNEL_VMA)

.Lno_long_mode:
    mov $(no_long_mode_message - KERNEL_VMA), %esi
2:  movb (%esi), %al
    test %al, %al
    jz 3f
    mov $0x3f8, %dx
    outb %al, %dx
    inc %esi
    jmp 2b
3:  mov $0x12, %al                        /* isa-debug-exit: failure */
    mov $0xf4, %dx
    outb %al, %dx
4:  hlt
    jmp 4b

.code64
long_mode_low:
    movabs $long_mode_high, %rax
    jmp *%rax

.section .text, "ax"
long_mode_high:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    movabs $boot_stack_top, %rsp
    mov %edi, %edi                       /* zero-extend the boot information address */
    mov %ebp, %esi                       /* protocol magic (zero-extended) */
    xor %ebp, %ebp
    call kernel_entry
5:  hlt
    jmp 5b

.section .rodata
no_long_mode_message:
    .asciz "fatal: this CPU has no 64-bit long mode; the kernel needs an x86_64 CPU\r\n"

.section .data.boot, "aw"
.balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff             /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff             /* 0x10: data */
boot_gdt_end:
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt - KERNEL_VMA

/* Boot page tables: the first GiB identity-mapped, at the direct-map base (PML4 slot 256) and at
 * KERNEL_VMA (PML4 slot 511, PDPT slot 510), with 2 MiB pages. The Rust side replaces them. */
.section .data.boot_page_tables, "aw"
.balign 4096
.global boot_pml4
boot_pml4:
    .quad boot_pdpt_low - KERNEL_VMA + (PTE_PRESENT | PTE_WRITE)
    .fill 255, 8, 0
    .quad boot_pdpt_low - KERNEL_VMA + (PTE_PRESENT | PTE_WRITE)
    .fill 254, 8, 0
    .quad boot_pdpt_high - KERNEL_VMA + (PTE_PRESENT | PTE_WRITE)
boot_pdpt_low:
    .quad boot_pd - KERNEL_VMA + (PTE_PRESENT | PTE_WRITE)
    .fill 511, 8, 0
boot_pdpt_high:
    .fill 510, 8, 0
    .quad boot_pd - KERNEL_VMA + (PTE_PRESENT | PTE_WRITE)
    .quad 0
boot_pd:
    .set page, 0
    .rept 512
    .quad (page << 21) + (PTE_PRESENT | PTE_WRITE | PTE_HUGE)
    .set page, page + 1
    .endr

/* The boot stack, with a guard page below it that the final page tables leave unmapped. */
.section .bss.boot_stack, "aw", @nobits
.balign 4096
.global boot_stack_guard
boot_stack_guard:
    .skip 4096
.global boot_stack_bottom
boot_stack_bottom:
    .skip 65536
.global boot_stack_top
boot_stack_top:
