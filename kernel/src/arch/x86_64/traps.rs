//! Trap dispatch: CPU exceptions become a clear fatal report; device interrupts go to the handler
//! registered for their vector, then the local APIC gets its EOI.

use core::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};

use super::{cpu, lapic};

/// Registers pushed by the entry stubs, lowest address first (matches `traps.S`).
#[derive(Debug)]
#[repr(C)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// Interrupt handler for a device vector; runs with interrupts disabled and must not block.
pub type IrqHandler = fn(vector: u8);

/// First vector handed out to devices; below are exceptions (0..32) and the legacy PIC range.
pub const FIRST_DEVICE_VECTOR: u8 = 0x30;
/// Last vector handed out to devices; above are the kernel's own (timer, IPIs, spurious).
pub const LAST_DEVICE_VECTOR: u8 = 0xdf;
/// The local APIC timer.
pub const VECTOR_TIMER: u8 = 0xe0;
/// Spurious-interrupt vector of the local APIC (no EOI).
pub const VECTOR_SPURIOUS: u8 = 0xff;

static HANDLERS: [AtomicUsize; 256] = [const { AtomicUsize::new(0) }; 256];
static NEXT_VECTOR: AtomicU8 = AtomicU8::new(FIRST_DEVICE_VECTOR);

/// Installs `handler` for `vector`. Vectors are data, not IDT edits: the IDT never changes.
pub fn set_handler(vector: u8, handler: IrqHandler) {
    HANDLERS[vector as usize].store(handler as usize, Ordering::Release);
}

/// Hands out a fresh device vector, or `None` when all are used.
pub fn allocate_vector() -> Option<u8> {
    NEXT_VECTOR
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
            (v <= LAST_DEVICE_VECTOR).then(|| v + 1)
        })
        .ok()
}

const EXCEPTION_NAMES: [&str; 32] = [
    "divide error (#DE)",
    "debug (#DB)",
    "non-maskable interrupt (NMI)",
    "breakpoint (#BP)",
    "overflow (#OF)",
    "bound range exceeded (#BR)",
    "invalid opcode (#UD)",
    "device not available (#NM)",
    "double fault (#DF)",
    "coprocessor segment overrun",
    "invalid TSS (#TS)",
    "segment not present (#NP)",
    "stack-segment fault (#SS)",
    "general protection fault (#GP)",
    "page fault (#PF)",
    "reserved (15)",
    "x87 floating-point error (#MF)",
    "alignment check (#AC)",
    "machine check (#MC)",
    "SIMD floating-point error (#XM)",
    "virtualization exception (#VE)",
    "control protection (#CP)",
    "reserved (22)",
    "reserved (23)",
    "reserved (24)",
    "reserved (25)",
    "reserved (26)",
    "reserved (27)",
    "hypervisor injection (#HV)",
    "VMM communication (#VC)",
    "security exception (#SX)",
    "reserved (31)",
];

/// Human name of an exception vector.
pub fn exception_name(vector: u8) -> &'static str {
    EXCEPTION_NAMES
        .get(vector as usize)
        .copied()
        .unwrap_or("device interrupt")
}

#[no_mangle]
extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    if frame.vector == super::user::SYSCALL_VECTOR {
        super::user::syscall_dispatch(frame);
        return;
    }
    let vector = frame.vector as u8;
    if vector < 32 {
        if vector == 3 && frame.cs & 3 == 0 {
            log::warn!("breakpoint at {:#x}", frame.rip);
            return;
        }
        // A double fault is usually a page fault that could not be delivered (an overflowing stack),
        // so CR2 still names the address that started it.
        let cr2 = if vector == 14 || vector == 8 {
            Some(cpu::read_cr2())
        } else {
            None
        };
        // User faults (and user copies that fault) belong to the process layer, not to the
        // fatal report.
        if vector != 8
            && vector != 2
            && vector != 18
            && super::user::handle_exception(frame, vector, cr2)
        {
            return;
        }
        let report = FATAL_EXCEPTION.load(Ordering::Acquire);
        if report != 0 {
            // SAFETY: only `set_fatal_exception_handler` stores here, always a `FatalHandler`.
            let report = unsafe { core::mem::transmute::<usize, FatalHandler>(report) };
            report(frame, cr2);
        }
        cpu::halt_forever();
    }
    if vector == VECTOR_SPURIOUS {
        return;
    }
    let handler = HANDLERS[vector as usize].load(Ordering::Acquire);
    if handler != 0 {
        // SAFETY: only `set_handler` stores into HANDLERS, always a valid `IrqHandler`.
        let handler: IrqHandler = unsafe { core::mem::transmute::<usize, IrqHandler>(handler) };
        handler(vector);
    } else {
        UNEXPECTED_INTERRUPTS.fetch_add(1, Ordering::Relaxed);
    }
    lapic::end_of_interrupt();
    // The EOI is out: switching threads now never holds back other interrupts.
    let preempt = PREEMPT.load(Ordering::Acquire);
    if preempt != 0 {
        // SAFETY: only `enable_preemption` stores here, always a `fn()`.
        let preempt = unsafe { core::mem::transmute::<usize, fn()>(preempt) };
        preempt();
    }
    if frame.cs & 3 == 3 {
        super::user::returning_to_user(frame);
    }
}

/// Reports a fatal CPU exception (with CR2 for page and double faults) and never returns.
pub type FatalHandler = fn(frame: &TrapFrame, cr2: Option<u64>) -> !;

static FATAL_EXCEPTION: AtomicUsize = AtomicUsize::new(0);
static PREEMPT: AtomicUsize = AtomicUsize::new(0);
static UNEXPECTED_INTERRUPTS: AtomicU64 = AtomicU64::new(0);

/// Sets who reports CPU exceptions; until then an exception halts the CPU silently.
pub fn set_fatal_exception_handler(handler: FatalHandler) {
    FATAL_EXCEPTION.store(handler as usize, Ordering::Release);
}

/// Lets interrupt returns call `preempt` (once the scheduler runs on every CPU).
pub fn enable_preemption(preempt: fn()) {
    PREEMPT.store(preempt as usize, Ordering::Release);
}

/// Interrupts that arrived on a vector with no handler.
pub fn unexpected_interrupts() -> u64 {
    UNEXPECTED_INTERRUPTS.load(Ordering::Relaxed)
}
