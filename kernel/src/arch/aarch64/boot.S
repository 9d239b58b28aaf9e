/* aarch64 entry, in the Linux arm64 "Image" format so that QEMU's -kernel (and any loader that
 * boots arm64 Linux) loads it at RAM base + text_offset, passes the device tree's physical
 * address in x0, loads -initrd and names it in the device tree, and keeps the other CPUs off
 * until PSCI CPU_ON. The MMU is off and we run at EL1 or EL2.
 *
 * We drop to EL1, zero the BSS, build boot page tables (identity map of the first 2 GiB in
 * TTBR0 for the switch-over; in TTBR1 the direct map of the first 2 GiB and the kernel image
 * block), turn the MMU on and jump to Rust at the kernel's upper-half address. */

.set KERNEL_VMA, 0xffffffff80000000
/* Block descriptors: normal write-back memory (attribute 0), inner shareable, accessed. */
.set NORMAL_BLOCK, 0x701
/* Device-nGnRE (attribute 2), accessed, never executable at EL0 or EL1. */
.set DEVICE_BLOCK, 0x0060000000000409
.set MAIR_VALUE, 0x440400ff
.set TCR_VALUE, 0xb5103510
.set SCTLR_VALUE, 0x30d0180d

.section .text.boot, "ax"
.global _start
_start:
    b primary_entry                      /* code0 */
    .long 0                              /* code1 */
    .quad 0x200000                       /* text_offset: loaded 2 MiB above the RAM base */
    .quad __image_size                   /* image_size, BSS included */
    .quad 0xa                            /* little endian, 4 KiB pages, 2 MiB-aligned placement */
    .quad 0, 0, 0
    .long 0x644d5241                     /* "ARM\x64" */
    .long 0

primary_entry:
    mov x19, x0                          /* device tree, physical */
    bl drop_to_el1
    msr daifset, #0xf

    adrp x1, __bss_start
    add x1, x1, :lo12:__bss_start
    adrp x2, __bss_end
    add x2, x2, :lo12:__bss_end
1:  cmp x1, x2
    b.hs 2f
    stp xzr, xzr, [x1], #16
    b 1b
2:
    /* x3 = physical base of the gigabyte the kernel sits in (the RAM base on QEMU's virt). */
    adrp x3, _start
    and x3, x3, #~((1 << 30) - 1)

    /* TTBR0: L0[0] -> L1; L1[0] = devices (first GiB), L1[1] = the kernel's gigabyte. */
    adrp x0, boot_l0_low
    adrp x1, boot_l1_low
    orr x2, x1, #3
    str x2, [x0]
    ldr x2, =DEVICE_BLOCK
    str x2, [x1]
    mov x4, #NORMAL_BLOCK
    orr x2, x3, x4
    lsr x5, x3, #30
    str x2, [x1, x5, lsl #3]

    /* TTBR1: L0[256] -> direct map (devices, then the kernel's gigabyte); L0[511] -> image. */
    adrp x0, boot_l0_high
    adrp x1, boot_l1_direct
    orr x2, x1, #3
    str x2, [x0, #256 * 8]
    ldr x2, =DEVICE_BLOCK
    str x2, [x1]
    orr x2, x3, x4
    str x2, [x1, x5, lsl #3]
    adrp x1, boot_l1_kernel
    orr x2, x1, #3
    str x2, [x0, #511 * 8]
    orr x2, x3, x4
    /* KERNEL_VMA + x3 lies in L1 slot (2 + x3 / 1 GiB) of the last 512 GiB. */
    add x5, x5, #510
    str x2, [x1, x5, lsl #3]

    adrp x0, boot_l0_low
    adrp x1, boot_l0_high
    bl enable_mmu

    ldr x0, =primary_high
    br x0

primary_high:
    ldr x0, =boot_stack_top
    mov sp, x0
    mov x29, #0
    mov x30, #0
    mov x0, x19
    bl kernel_entry
3:  wfi
    b 3b

/* Secondary CPUs arrive here from PSCI CPU_ON with the MMU off and x0 = context: the physical
 * address of a SecondaryStart block (smp.rs): kernel root table, stack top, CPU index. */
.global secondary_entry
secondary_entry:
    mov x19, x0
    bl drop_to_el1
    msr daifset, #0xf
    adrp x0, boot_l0_low
    ldr x1, [x19]
    bl enable_mmu
    ldr x0, =secondary_high
    br x0
secondary_high:
    ldr x1, [x19, #8]                    /* still readable: TTBR0 identity-maps low RAM */
    mov sp, x1
    mov x29, #0
    mov x30, #0
    ldr x0, [x19, #16]
    bl secondary_kernel_entry
4:  wfi
    b 4b

/* Leaves EL2 (when a loader started us there) for EL1 with the timers and FP usable. */
drop_to_el1:
    mrs x9, CurrentEL
    lsr x9, x9, #2
    cmp x9, #2
    b.ne 1f
    mov x9, #(1 << 31)                   /* HCR_EL2.RW: EL1 is AArch64 */
    msr hcr_el2, x9
    mov x9, #3                           /* EL1 may use the physical counter and timer */
    msr cnthctl_el2, x9
    msr cntvoff_el2, xzr
    mov x9, #0x33ff                      /* CPTR_EL2: no FP/SIMD traps */
    msr cptr_el2, x9
    mov x9, #0x3c5                       /* EL1h, DAIF masked */
    msr spsr_el2, x9
    msr elr_el2, x30
    eret
1:  ret

/* x0 = TTBR0 root, x1 = TTBR1 root (physical); returns with the MMU and caches on. */
enable_mmu:
    ldr x9, =MAIR_VALUE
    msr mair_el1, x9
    ldr x9, =TCR_VALUE
    mrs x10, id_aa64mmfr0_el1
    and x10, x10, #0x7                   /* PARange -> TCR_EL1.IPS */
    orr x9, x9, x10, lsl #32
    msr tcr_el1, x9
    msr ttbr0_el1, x0
    msr ttbr1_el1, x1
    isb
    tlbi vmalle1
    dsb nsh
    isb
    mov x9, #(3 << 20)                   /* CPACR_EL1.FPEN: FP/SIMD for threads that use it */
    msr cpacr_el1, x9
    ldr x9, =SCTLR_VALUE
    msr sctlr_el1, x9
    isb
    ret

.section .bss.boot_page_tables, "aw", @nobits
.balign 4096
.global boot_l0_low
boot_l0_low:
    .skip 4096
boot_l1_low:
    .skip 4096
boot_l0_high:
    .skip 4096
boot_l1_direct:
    .skip 4096
boot_l1_kernel:
    .skip 4096

.section .bss.boot_stack, "aw", @nobits
.balign 4096
.global boot_stack_guard
boot_stack_guard:
    .skip 4096
boot_stack:
    .skip 65536
.global boot_stack_top
boot_stack_top:
