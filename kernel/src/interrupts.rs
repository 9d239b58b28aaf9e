//! Interrupt wiring: the timer tick (the local APIC timer on x86_64, the generic timer on
//! aarch64) and the serial console's receive line.
//!
//! May import: `arch`, `boot`, `console`, `firmware`, `sched`, `time`.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::traps;
#[cfg(target_arch = "aarch64")]
use crate::arch::{gic, timer};
#[cfg(target_arch = "x86_64")]
use crate::arch::{ioapic, lapic, serial};
#[cfg(target_arch = "x86_64")]
use crate::firmware::acpi::Platform;

static TIMER_TICKS: AtomicU64 = AtomicU64::new(0);
static SERIAL_INTERRUPTS: AtomicU64 = AtomicU64::new(0);

/// Timer frequency.
pub const TIMER_HZ: u64 = crate::sched::TICK_HZ;

fn on_timer(_vector: u8) {
    TIMER_TICKS.fetch_add(1, Ordering::Relaxed);
    #[cfg(target_arch = "aarch64")]
    timer::set_countdown(COUNTER_PERIOD.load(Ordering::Relaxed));
    #[cfg(target_arch = "x86_64")]
    if USE_TSC_DEADLINE.load(Ordering::Relaxed) {
        // One-shot mode: arm the next tick a period after now (a late tick does not pile up).
        lapic::set_tsc_deadline(crate::arch::cpu::rdtsc() + TSC_PERIOD.load(Ordering::Relaxed));
    }
    if crate::arch::percpu::is_initialised() && crate::sched::is_running() {
        crate::sched::tick();
    }
}

fn on_serial(_vector: u8) {
    // Readers sleep on this queue and read the UART themselves once woken.
    SERIAL_INTERRUPTS.fetch_add(1, Ordering::Relaxed);
    SERIAL_WAITERS.wake_all();
}

static SERIAL_WAITERS: crate::sched::wait::WaitQueue =
    crate::sched::wait::WaitQueue::new("serial-input");

/// Waits for console input: sleeps until the receive interrupt (re-checking every 10 ms in
/// case the line could not be routed); before threads exist it halts instead.
pub fn wait_for_serial_input() {
    // The PL011's receive line is level-triggered: its handler masks it, and the reader
    // re-arms it before each wait.
    #[cfg(target_arch = "aarch64")]
    crate::console::enable_receive_interrupt();
    if crate::sched::is_running() {
        let deadline = crate::time::monotonic_nanos() + 10_000_000;
        SERIAL_WAITERS.wait_once(Some(deadline), crate::console::input_pending);
    } else {
        crate::arch::cpu::enable_interrupts_and_halt();
    }
}

/// Timer interrupts taken since boot (all CPUs).
pub fn timer_ticks() -> u64 {
    TIMER_TICKS.load(Ordering::Relaxed)
}

/// Serial receive interrupts taken since boot.
pub fn serial_interrupts() -> u64 {
    SERIAL_INTERRUPTS.load(Ordering::Relaxed)
}

#[cfg(target_arch = "x86_64")]
static USE_TSC_DEADLINE: core::sync::atomic::AtomicBool =
    core::sync::atomic::AtomicBool::new(false);
#[cfg(target_arch = "x86_64")]
static TSC_PERIOD: AtomicU64 = AtomicU64::new(0);

#[cfg(target_arch = "x86_64")]
/// How the local APIC timer is driven.
pub fn timer_mode() -> &'static str {
    if USE_TSC_DEADLINE.load(Ordering::Relaxed) {
        "TSC-deadline"
    } else {
        "periodic (bus clock)"
    }
}

#[cfg(target_arch = "x86_64")]
static LAPIC_TIMER_COUNT: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

#[cfg(target_arch = "x86_64")]
/// Calibrates the LAPIC timer against the TSC (once; all CPUs share the bus clock) and starts
/// it periodically at `TIMER_HZ`.
pub fn start_timer_this_cpu() -> u32 {
    // TSC-deadline where the CPU has it: no calibration of the bus clock, exact deadlines.
    let tsc_hz = crate::time::tsc::frequency();
    if crate::arch::cpu::features().tsc_deadline
        && tsc_hz != 0
        && crate::boot::info().option("timer") != Some("periodic")
    {
        let period = tsc_hz / TIMER_HZ;
        TSC_PERIOD.store(period, Ordering::Relaxed);
        USE_TSC_DEADLINE.store(true, Ordering::Relaxed);
        traps::set_handler(traps::VECTOR_TIMER, on_timer);
        lapic::timer_tsc_deadline(traps::VECTOR_TIMER);
        lapic::set_tsc_deadline(crate::arch::cpu::rdtsc() + period);
        return period.min(u32::MAX as u64) as u32;
    }
    let known = LAPIC_TIMER_COUNT.load(Ordering::Relaxed);
    if known != 0 {
        lapic::timer_periodic(traps::VECTOR_TIMER, known);
        return known;
    }
    lapic::timer_start_free_running(u32::MAX);
    crate::time::busy_wait_nanos(10_000_000);
    let per_10ms = u32::MAX - lapic::timer_current();
    let count = ((per_10ms as u64 * 100) / TIMER_HZ).max(1) as u32;
    LAPIC_TIMER_COUNT.store(count, Ordering::Relaxed);
    traps::set_handler(traps::VECTOR_TIMER, on_timer);
    lapic::timer_periodic(traps::VECTOR_TIMER, count);
    count
}

#[cfg(target_arch = "x86_64")]
/// Routes COM1's IRQ to the boot CPU so the shell can sleep between keystrokes.
pub fn route_serial(platform: &Platform, bsp_apic_id: u32) -> Result<(), ioapic::RouteError> {
    let (gsi, polarity) = platform.isa_irq_route(serial::COM1_IRQ);
    let vector = traps::allocate_vector().expect("vectors available at boot");
    traps::set_handler(vector, on_serial);
    ioapic::route(gsi, vector, bsp_apic_id, polarity)?;
    ioapic::set_masked(gsi, false)?;
    crate::console::enable_receive_interrupt();
    Ok(())
}

/// Counter ticks between two timer interrupts.
#[cfg(target_arch = "aarch64")]
static COUNTER_PERIOD: AtomicU64 = AtomicU64::new(0);
/// The GIC interrupt ID of the EL1 virtual timer.
#[cfg(target_arch = "aarch64")]
static TIMER_INTID: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(27);

/// How the timer is driven.
#[cfg(target_arch = "aarch64")]
pub fn timer_mode() -> &'static str {
    "generic timer (EL1 virtual), one-shot"
}

/// Records the timer's GIC interrupt ID (from the device tree) before any CPU starts it.
#[cfg(target_arch = "aarch64")]
pub fn set_timer_interrupt(intid: u32) {
    TIMER_INTID.store(intid, Ordering::Relaxed);
}

/// Starts the generic timer's tick at `TIMER_HZ` on this CPU; returns counter ticks per period.
#[cfg(target_arch = "aarch64")]
pub fn start_timer_this_cpu() -> u32 {
    let period = (crate::time::counter::frequency() / TIMER_HZ).max(1);
    COUNTER_PERIOD.store(period, Ordering::Relaxed);
    let intid = TIMER_INTID.load(Ordering::Relaxed);
    traps::bind(traps::VECTOR_TIMER, intid);
    traps::set_handler(traps::VECTOR_TIMER, on_timer);
    gic::set_enabled(intid, true);
    timer::set_countdown(period);
    period.min(u64::from(u32::MAX)) as u32
}

/// The PL011 keeps its receive line raised while bytes wait: mask it at the UART until the
/// reader has read them and waits again.
#[cfg(target_arch = "aarch64")]
fn on_serial_level(vector: u8) {
    crate::arch::serial::Uart::com1().mask_receive_interrupt();
    on_serial(vector);
}

/// Routes the PL011's interrupt (GIC `intid`) to the boot CPU so the shell can sleep between
/// keystrokes.
#[cfg(target_arch = "aarch64")]
pub fn route_serial(intid: u32) -> Result<(), &'static str> {
    let vector = traps::allocate_vector().ok_or("no free vector")?;
    traps::bind(vector, intid);
    traps::set_handler(vector, on_serial_level);
    gic::set_enabled(intid, true);
    crate::console::enable_receive_interrupt();
    Ok(())
}
