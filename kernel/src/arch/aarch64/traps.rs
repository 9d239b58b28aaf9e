//! Trap dispatch: synchronous exceptions at EL1 become a clear fatal report (the ESR decoded);
//! IRQs are acknowledged at the GIC, go to the handler registered for their kernel vector, and
//! get their end-of-interrupt before any preemption.
//!
//! Kernel vectors are the same 8-bit numbers as on x86_64, mapped onto GIC interrupt IDs:
//! `VECTOR_TIMER` is the generic timer's private interrupt, `0xe1..=0xef` are software-generated
//! interrupts 1..15 (IPIs), and device vectors are given out for shared peripheral interrupts.

use core::sync::atomic::{AtomicU16, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use super::{cpu, gic};

/// Registers saved by `vectors.S`, lowest address first.
#[derive(Debug)]
#[repr(C)]
pub struct TrapFrame {
    /// x0..x30 (x29 is the frame pointer, x30 the link register).
    pub x: [u64; 31],
    /// The stack pointer when the exception was taken.
    pub sp: u64,
    /// ELR_EL1: where the exception was taken (or returns to).
    pub elr: u64,
    /// SPSR_EL1: the interrupted PSTATE.
    pub spsr: u64,
    /// ESR_EL1: the syndrome of a synchronous exception.
    pub esr: u64,
    /// FAR_EL1: the faulting address of an abort.
    pub far: u64,
    /// Which of the sixteen vector slots was taken (4 = synchronous from EL1, 5 = IRQ from EL1).
    pub kind: u64,
    padding: u64,
}

const _: () = assert!(core::mem::size_of::<TrapFrame>() == 304);
const _: () = assert!(core::mem::offset_of!(TrapFrame, elr) == 256);
const _: () = assert!(core::mem::offset_of!(TrapFrame, kind) == 288);

impl TrapFrame {
    /// The frame pointer at the exception, for backtraces.
    pub fn frame_pointer(&self) -> u64 {
        self.x[29]
    }

    /// The exception class (ESR_EL1.EC).
    pub fn exception_class(&self) -> u8 {
        ((self.esr >> 26) & 0x3f) as u8
    }
}

/// Interrupt handler for a kernel vector; runs with interrupts disabled and must not block.
pub type IrqHandler = fn(vector: u8);

/// First vector handed out to devices.
pub const FIRST_DEVICE_VECTOR: u8 = 0x30;
/// Last vector handed out to devices; above are the kernel's own (timer, IPIs, spurious).
pub const LAST_DEVICE_VECTOR: u8 = 0xdf;
/// The generic timer's interrupt.
pub const VECTOR_TIMER: u8 = 0xe0;
/// Spurious interrupts (never delivered to a handler).
pub const VECTOR_SPURIOUS: u8 = 0xff;
const FIRST_SGI_VECTOR: u8 = 0xe1;
const LAST_SGI_VECTOR: u8 = 0xef;

/// GIC interrupt IDs the kernel handles (SGIs, PPIs and the SPIs QEMU's virt uses).
const MAX_INTID: usize = 1020;
static HANDLERS: [AtomicUsize; 256] = [const { AtomicUsize::new(0) }; 256];
static NEXT_VECTOR: AtomicU8 = AtomicU8::new(FIRST_DEVICE_VECTOR);
/// Kernel vector of each GIC interrupt ID (0 = none).
static VECTOR_OF_INTID: [AtomicU8; MAX_INTID] = [const { AtomicU8::new(0) }; MAX_INTID];
/// GIC interrupt ID of each kernel vector (for masking and routing).
static INTID_OF_VECTOR: [AtomicU16; 256] = [const { AtomicU16::new(u16::MAX) }; 256];

/// Installs `handler` for `vector`. Vectors are data: the vector table never changes.
pub fn set_handler(vector: u8, handler: IrqHandler) {
    HANDLERS[vector as usize].store(handler as usize, Ordering::Release);
    // SGIs are banked per CPU: each CPU installs its IPI handlers for itself (the scheduler
    // does on every CPU), which enables that SGI on the calling CPU.
    if let Some(sgi) = sgi_of_vector(vector) {
        bind(vector, u32::from(sgi));
        gic::set_enabled(u32::from(sgi), true);
    }
}

/// Hands out a fresh device vector, or `None` when all are used.
pub fn allocate_vector() -> Option<u8> {
    NEXT_VECTOR
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
            (v <= LAST_DEVICE_VECTOR).then(|| v + 1)
        })
        .ok()
}

/// Kernel vector of each LPI the ITS hands out (0 = none).
static VECTOR_OF_LPI: [AtomicU8; super::its::LPI_COUNT as usize] =
    [const { AtomicU8::new(0) }; super::its::LPI_COUNT as usize];

fn vector_slot(intid: u32) -> Option<&'static AtomicU8> {
    match intid.checked_sub(super::its::FIRST_LPI) {
        Some(lpi) => VECTOR_OF_LPI.get(lpi as usize),
        None => VECTOR_OF_INTID.get(intid as usize),
    }
}

/// Delivers GIC interrupt `intid` (an SGI, PPI, SPI or LPI) to kernel `vector`.
pub fn bind(vector: u8, intid: u32) {
    if let Some(slot) = vector_slot(intid) {
        slot.store(vector, Ordering::Release);
        INTID_OF_VECTOR[vector as usize].store(intid as u16, Ordering::Release);
    }
}

/// The GIC interrupt ID bound to `vector`.
pub fn intid_of_vector(vector: u8) -> Option<u32> {
    let intid = INTID_OF_VECTOR[vector as usize].load(Ordering::Acquire);
    (intid != u16::MAX).then_some(u32::from(intid))
}

/// The software-generated interrupt behind an IPI vector.
pub fn sgi_of_vector(vector: u8) -> Option<u8> {
    (FIRST_SGI_VECTOR..=LAST_SGI_VECTOR)
        .contains(&vector)
        .then(|| vector - FIRST_SGI_VECTOR + 1)
}

/// Human name of an exception class (ESR_EL1.EC, Arm ARM D17.2.37).
pub fn exception_class_name(class: u8) -> &'static str {
    match class {
        0x00 => "unknown reason",
        0x01 => "WFI/WFE trapped",
        0x07 => "FP/SIMD access trapped",
        0x0e => "illegal execution state",
        0x15 => "SVC from AArch64",
        0x18 => "system register access trapped",
        0x20 => "instruction abort from a lower level",
        0x21 => "instruction abort",
        0x22 => "PC alignment fault",
        0x24 => "data abort from a lower level",
        0x25 => "data abort",
        0x26 => "SP alignment fault",
        0x2c => "floating-point exception",
        0x2f => "SError interrupt",
        0x30 | 0x31 => "breakpoint",
        0x32 | 0x33 => "software step",
        0x34 | 0x35 => "watchpoint",
        0x3c => "BRK instruction",
        _ => "reserved exception class",
    }
}

/// The name the fault report prints for a frame: the slot kind and, for synchronous exceptions,
/// the exception class.
pub fn exception_name(frame: &TrapFrame) -> &'static str {
    match frame.kind & 3 {
        0 => exception_class_name(frame.exception_class()),
        1 => "IRQ",
        2 => "FIQ",
        _ => "SError interrupt",
    }
}

/// What an abort's status code (ESR_EL1.ISS.DFSC/IFSC) says.
pub fn fault_status_name(status: u8) -> &'static str {
    match status & 0x3f {
        0x00..=0x03 => "address size fault",
        0x04..=0x07 => "translation fault (page not mapped)",
        0x08..=0x0b => "access flag fault",
        0x0c..=0x0f => "permission fault",
        0x10 => "synchronous external abort",
        0x21 => "alignment fault",
        0x30 => "TLB conflict abort",
        _ => "other fault",
    }
}

/// Decodes an abort's ESR: (status name, translation level, write, instruction fetch).
pub fn decode_abort(esr: u64) -> (&'static str, u8, bool, bool) {
    let class = ((esr >> 26) & 0x3f) as u8;
    let status = (esr & 0x3f) as u8;
    let instruction = class == 0x20 || class == 0x21;
    let write = !instruction && esr & (1 << 6) != 0;
    (fault_status_name(status), status & 3, write, instruction)
}

#[no_mangle]
extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    match frame.kind {
        // IRQ from EL1 (SP_EL1) or, before the switch to SP_EL1 matters, SP_EL0.
        1 | 5 => handle_irq(),
        _ => {
            if frame.kind == 4 && frame.exception_class() == 0x3c && frame.esr & 0xffff == 0 {
                log::warn!("breakpoint at {:#x}", frame.elr);
                frame.elr += 4;
                return;
            }
            let report = FATAL_EXCEPTION.load(Ordering::Acquire);
            if report != 0 {
                // SAFETY: only `set_fatal_exception_handler` stores here, always a `FatalHandler`.
                let report = unsafe { core::mem::transmute::<usize, FatalHandler>(report) };
                let far = frame.far;
                report(frame, Some(far));
            }
            cpu::halt_forever();
        }
    }
}

fn handle_irq() {
    let Some(interrupt) = gic::acknowledge() else {
        return;
    };
    let intid = interrupt.intid;
    let vector = vector_slot(intid).map_or(0, |v| v.load(Ordering::Acquire));
    let handler = if vector != 0 {
        HANDLERS[vector as usize].load(Ordering::Acquire)
    } else {
        0
    };
    if handler != 0 {
        // SAFETY: only `set_handler` stores into HANDLERS, always a valid `IrqHandler`.
        let handler: IrqHandler = unsafe { core::mem::transmute::<usize, IrqHandler>(handler) };
        handler(vector);
    } else {
        UNEXPECTED_INTERRUPTS.fetch_add(1, Ordering::Relaxed);
    }
    gic::end_of_interrupt(interrupt);
    // The end-of-interrupt is out: switching threads now never holds back other interrupts.
    let preempt = PREEMPT.load(Ordering::Acquire);
    if preempt != 0 {
        // SAFETY: only `enable_preemption` stores here, always a `fn()`.
        let preempt = unsafe { core::mem::transmute::<usize, fn()>(preempt) };
        preempt();
    }
}

/// Reports a fatal exception (with FAR_EL1) and never returns.
pub type FatalHandler = fn(frame: &TrapFrame, fault_address: Option<u64>) -> !;

static FATAL_EXCEPTION: AtomicUsize = AtomicUsize::new(0);
static PREEMPT: AtomicUsize = AtomicUsize::new(0);
static UNEXPECTED_INTERRUPTS: AtomicU64 = AtomicU64::new(0);

/// Sets who reports exceptions; until then an exception halts the CPU silently.
pub fn set_fatal_exception_handler(handler: FatalHandler) {
    FATAL_EXCEPTION.store(handler as usize, Ordering::Release);
}

/// Lets interrupt returns call `preempt` (once the scheduler runs on every CPU).
pub fn enable_preemption(preempt: fn()) {
    PREEMPT.store(preempt as usize, Ordering::Release);
}

/// Interrupts that arrived with no handler.
pub fn unexpected_interrupts() -> u64 {
    UNEXPECTED_INTERRUPTS.load(Ordering::Relaxed)
}

extern "C" {
    static exception_vectors: u8;
}

/// Points VBAR_EL1 at the vector table (every CPU, first thing).
pub fn load_vectors_this_cpu() {
    // SAFETY: only the address of the 2 KiB-aligned table in `vectors.S` is taken; installing it
    // makes exceptions go to code that saves and restores the full register state.
    unsafe {
        core::arch::asm!(
            "msr vbar_el1, {}",
            "isb",
            in(reg) &exception_vectors as *const u8 as u64,
            options(nostack, preserves_flags)
        )
    };
}
