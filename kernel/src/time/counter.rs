//! The monotonic clock on aarch64: the generic counter, whose frequency the firmware stores in
//! CNTFRQ_EL0 (no calibration needed), counted from boot.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::cpu;

static COUNTER_AT_BOOT: AtomicU64 = AtomicU64::new(0);
static COUNTER_HZ: AtomicU64 = AtomicU64::new(0);

/// Starts the clock: reads the counter frequency and notes the boot count.
pub fn init() -> u64 {
    let hz = cpu::counter_frequency().max(1);
    COUNTER_AT_BOOT.store(cpu::read_counter(), Ordering::Relaxed);
    COUNTER_HZ.store(hz, Ordering::Release);
    hz
}

/// Counter ticks per second (0 before `init`).
pub fn frequency() -> u64 {
    COUNTER_HZ.load(Ordering::Acquire)
}

/// Nanoseconds since `init`.
pub fn monotonic_nanos() -> u64 {
    let hz = COUNTER_HZ.load(Ordering::Acquire);
    if hz == 0 {
        return 0;
    }
    ticks_to_nanos(cpu::read_counter().saturating_sub(COUNTER_AT_BOOT.load(Ordering::Relaxed)))
}

/// Converts counter ticks to nanoseconds.
pub fn ticks_to_nanos(ticks: u64) -> u64 {
    let hz = COUNTER_HZ.load(Ordering::Acquire).max(1);
    (ticks as u128 * 1_000_000_000 / hz as u128) as u64
}

/// Converts nanoseconds to counter ticks.
pub fn nanos_to_ticks(nanos: u64) -> u64 {
    let hz = COUNTER_HZ.load(Ordering::Acquire).max(1);
    (nanos as u128 * hz as u128 / 1_000_000_000) as u64
}
