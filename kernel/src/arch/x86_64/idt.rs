//! The interrupt descriptor table: built once, shared by every CPU, never modified after load.
//! Every vector points at its entry stub in `traps.S`; dispatch happens in `traps`.

use spin::Once;

use super::gdt::{IST_DOUBLE_FAULT, IST_MACHINE_CHECK, IST_NMI, KERNEL_CODE};

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attributes: u8,
    offset_middle: u16,
    offset_high: u32,
    reserved: u32,
}

#[repr(C, align(16))]
struct Idt([Gate; 256]);

const _: () = assert!(core::mem::size_of::<Gate>() == 16);

static IDT: Once<Idt> = Once::new();

extern "C" {
    static trap_stub_table: [u64; 256];
}

/// Vector of the NMI.
pub const VECTOR_NMI: u8 = 2;
/// Vector of the double fault.
pub const VECTOR_DOUBLE_FAULT: u8 = 8;
/// Vector of the machine check.
pub const VECTOR_MACHINE_CHECK: u8 = 18;

fn build() -> Idt {
    let mut idt = Idt([Gate::default(); 256]);
    for (vector, gate) in idt.0.iter_mut().enumerate() {
        // SAFETY: `trap_stub_table` is an immutable table of 256 code addresses in .rodata.
        let handler = unsafe { trap_stub_table[vector] };
        let ist = match vector as u8 {
            VECTOR_DOUBLE_FAULT => IST_DOUBLE_FAULT + 1,
            VECTOR_NMI => IST_NMI + 1,
            VECTOR_MACHINE_CHECK => IST_MACHINE_CHECK + 1,
            _ => 0,
        };
        *gate = Gate {
            offset_low: handler as u16,
            selector: KERNEL_CODE.0,
            ist: ist as u8,
            // Present 64-bit interrupt gate (IF cleared on entry); DPL 0, except that user code
            // may raise the breakpoint (`int3` becomes SIGTRAP, as on Linux).
            type_attributes: if vector == 3 { 0xee } else { 0x8e },
            offset_middle: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        };
    }
    idt
}

/// Loads the IDT on the calling CPU (building it on first use).
pub fn load_this_cpu() {
    let idt = IDT.call_once(build);
    let pointer = x86_64::structures::DescriptorTablePointer {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: x86_64::VirtAddr::from_ptr(idt as *const Idt),
    };
    // SAFETY: the table is 'static, fully initialised, and every gate points at a valid stub.
    unsafe { x86_64::instructions::tables::lidt(&pointer) };
}
