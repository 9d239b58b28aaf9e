//! Local APIC (xAPIC, memory-mapped): enable, EOI, timer, inter-processor interrupts.

use core::sync::atomic::{AtomicU64, Ordering};

const REG_ID: usize = 0x20;
const REG_TASK_PRIORITY: usize = 0x80;
const REG_EOI: usize = 0xb0;
const REG_SPURIOUS: usize = 0xf0;
const REG_ICR_LOW: usize = 0x300;
const REG_ICR_HIGH: usize = 0x310;
const REG_LVT_TIMER: usize = 0x320;
const REG_LVT_LINT0: usize = 0x350;
const REG_LVT_LINT1: usize = 0x360;
const REG_LVT_ERROR: usize = 0x370;
const REG_TIMER_INITIAL: usize = 0x380;
const REG_TIMER_CURRENT: usize = 0x390;
const REG_TIMER_DIVIDE: usize = 0x3e0;

const LVT_MASKED: u32 = 1 << 16;
const TIMER_PERIODIC: u32 = 1 << 17;

/// Virtual address of the LAPIC registers (same physical page on every CPU).
static BASE: AtomicU64 = AtomicU64::new(0);

fn read(register: usize) -> u32 {
    let base = BASE.load(Ordering::Relaxed);
    debug_assert!(base != 0, "local APIC used before it was mapped");
    // SAFETY: BASE is an uncached mapping of the 4 KiB LAPIC page and `register` is one of the
    // architectural, 16-byte aligned register offsets above.
    unsafe { core::ptr::read_volatile((base as usize + register) as *const u32) }
}

fn write(register: usize, value: u32) {
    let base = BASE.load(Ordering::Relaxed);
    debug_assert!(base != 0, "local APIC used before it was mapped");
    // SAFETY: as for `read`.
    unsafe { core::ptr::write_volatile((base as usize + register) as *mut u32, value) }
}

/// Uses the LAPIC registers at `virtual_base` (once, from the BSP).
///
/// # Safety
/// `virtual_base` must be an uncached mapping of the 4 KiB LAPIC page that stays mapped for the
/// kernel's life.
pub unsafe fn set_registers(virtual_base: usize) {
    BASE.store(virtual_base as u64, Ordering::Release);
}

/// Returns whether the LAPIC has been mapped.
pub fn is_mapped() -> bool {
    BASE.load(Ordering::Acquire) != 0
}

/// Enables this CPU's LAPIC: spurious vector, all priorities accepted, LINT pins masked.
pub fn init_this_cpu(spurious_vector: u8) {
    write(REG_TASK_PRIORITY, 0);
    write(REG_LVT_LINT0, LVT_MASKED);
    write(REG_LVT_LINT1, LVT_MASKED);
    write(REG_LVT_ERROR, LVT_MASKED);
    write(REG_SPURIOUS, 0x100 | spurious_vector as u32);
}

/// This CPU's APIC ID.
pub fn id() -> u32 {
    read(REG_ID) >> 24
}

/// Signals end of interrupt.
pub fn end_of_interrupt() {
    write(REG_EOI, 0);
}

/// Starts the timer counting down from `initial` at bus clock / 16, without raising interrupts;
/// used to calibrate it.
pub fn timer_start_free_running(initial: u32) {
    write(REG_TIMER_DIVIDE, 0x3);
    write(REG_LVT_TIMER, LVT_MASKED);
    write(REG_TIMER_INITIAL, initial);
}

/// Current count of the timer.
pub fn timer_current() -> u32 {
    read(REG_TIMER_CURRENT)
}

/// Programs a periodic timer interrupt every `count` ticks (bus clock / 16).
pub fn timer_periodic(vector: u8, count: u32) {
    write(REG_TIMER_DIVIDE, 0x3);
    write(REG_LVT_TIMER, vector as u32 | TIMER_PERIODIC);
    write(REG_TIMER_INITIAL, count);
}

const TIMER_TSC_DEADLINE: u32 = 0b10 << 17;
const IA32_TSC_DEADLINE: u32 = 0x6e0;

/// Switches the timer to TSC-deadline mode on `vector` (the CPU must support it).
pub fn timer_tsc_deadline(vector: u8) {
    write(REG_LVT_TIMER, vector as u32 | TIMER_TSC_DEADLINE);
    // The SDM asks for a serialising step between the LVT write and the first deadline write.
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
}

/// Arms the TSC-deadline timer to fire when the TSC reaches `deadline`.
pub fn set_tsc_deadline(deadline: u64) {
    // SAFETY: IA32_TSC_DEADLINE exists when CPUID reports TSC-deadline support, which callers
    // check before choosing this mode; writing it only arms the local timer.
    unsafe { super::cpu::write_msr(IA32_TSC_DEADLINE, deadline) };
}

/// Delivery modes of the interrupt command register used here.
#[derive(Debug, Clone, Copy)]
pub enum IpiKind {
    /// A fixed-vector interrupt.
    Fixed(u8),
    /// INIT (assert, level).
    Init,
    /// Start-up with the trampoline at `page * 4096`.
    Startup(u8),
}

/// Sends an inter-processor interrupt to the CPU with `apic_id` and waits until it is accepted.
pub fn send_ipi(apic_id: u32, kind: IpiKind) {
    let low = match kind {
        IpiKind::Fixed(vector) => vector as u32,
        IpiKind::Init => 0x0000_4500,
        IpiKind::Startup(page) => 0x0000_4600 | page as u32,
    };
    write(REG_ICR_HIGH, apic_id << 24);
    write(REG_ICR_LOW, low);
    while read(REG_ICR_LOW) & (1 << 12) != 0 {
        core::hint::spin_loop();
    }
}
