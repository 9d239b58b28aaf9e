//! Per-CPU GDT and TSS, with separate IST stacks (each behind a guard page) for the double-fault,
//! NMI and machine-check handlers so that they run even when the current stack is broken.

use alloc::boxed::Box;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

/// IST slot (1-based in the IDT, 0-based here) used by the double-fault handler.
pub const IST_DOUBLE_FAULT: u16 = 0;
/// IST slot used by the NMI handler.
pub const IST_NMI: u16 = 1;
/// IST slot used by the machine-check handler.
pub const IST_MACHINE_CHECK: u16 = 2;

/// Pages each IST stack should have.
pub const IST_STACK_PAGES: usize = 4;
/// Names of the IST stacks, in slot order (for stack-guard reports).
pub const IST_STACK_NAMES: [&str; 3] = ["double-fault", "nmi", "machine-check"];

/// Kernel code segment selector (same on every CPU).
pub const KERNEL_CODE: SegmentSelector = SegmentSelector(0x08);
/// Kernel data segment selector.
pub const KERNEL_DATA: SegmentSelector = SegmentSelector(0x10);
/// User data (and stack) segment selector, RPL 3. `sysret` derives both user selectors from
/// one base (bits 63..48 of STAR = 0x10): SS = base + 8, CS = base + 16, hence this order.
pub const USER_DATA: SegmentSelector = SegmentSelector(0x18 | 3);
/// User 64-bit code segment selector, RPL 3.
pub const USER_CODE: SegmentSelector = SegmentSelector(0x20 | 3);

/// Builds and loads this CPU's GDT and TSS with the given IST stack tops (slot order as in
/// [`IST_STACK_NAMES`]). They live for the rest of the CPU's life, and so must the stacks.
/// Returns the TSS's address, for [`super::user::init_this_cpu`] (the ring-0 stack of user
/// threads is written there on every switch).
pub fn init_this_cpu(ist_stack_tops: [u64; 3]) -> u64 {
    let mut tss = Box::new(TaskStateSegment::new());
    for (slot, top) in ist_stack_tops.into_iter().enumerate() {
        tss.interrupt_stack_table[slot] = VirtAddr::new(top);
    }
    let tss: &'static TaskStateSegment = Box::leak(tss);
    let mut gdt = Box::new(GlobalDescriptorTable::new());
    let code = gdt.append(Descriptor::kernel_code_segment());
    let data = gdt.append(Descriptor::kernel_data_segment());
    let user_data = gdt.append(Descriptor::user_data_segment());
    let user_code = gdt.append(Descriptor::user_code_segment());
    let tss_selector = gdt.append(Descriptor::tss_segment(tss));
    debug_assert_eq!(code, KERNEL_CODE);
    debug_assert_eq!(data, KERNEL_DATA);
    debug_assert_eq!(user_data, USER_DATA);
    debug_assert_eq!(user_code, USER_CODE);
    let gdt: &'static GlobalDescriptorTable = Box::leak(gdt);
    gdt.load();
    // SAFETY: the selectors index the GDT just loaded, whose descriptors are a flat 64-bit
    // code segment, a flat data segment and this CPU's TSS (which lives forever).
    unsafe {
        CS::set_reg(code);
        DS::set_reg(data);
        ES::set_reg(data);
        SS::set_reg(data);
        load_tss(tss_selector);
    }
    tss as *const TaskStateSegment as u64
}
