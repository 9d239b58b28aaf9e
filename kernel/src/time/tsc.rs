//! TSC calibration and the monotonic clock built on it.

use core::sync::atomic::{AtomicU64, Ordering};

use super::hpet;
use crate::arch::{cpu, port};

static TSC_AT_BOOT: AtomicU64 = AtomicU64::new(0);
static TSC_HZ: AtomicU64 = AtomicU64::new(0);

/// How the TSC frequency was measured.
#[derive(Debug, Clone, Copy)]
pub enum Reference {
    Hpet,
    Pit,
}

/// Measures the TSC frequency over 10 ms of HPET time, or of PIT channel 2 without an HPET.
pub fn calibrate() -> (u64, Reference) {
    let (hz, reference) = if hpet::available() {
        (measure_with_hpet(), Reference::Hpet)
    } else {
        (measure_with_pit(), Reference::Pit)
    };
    TSC_AT_BOOT.store(cpu::rdtsc(), Ordering::Relaxed);
    TSC_HZ.store(hz, Ordering::Release);
    (hz, reference)
}

fn measure_with_hpet() -> u64 {
    let period = hpet::period_femtoseconds() as u128;
    let ticks = (10_000_000_000_000u128 / period) as u64; // 10 ms
    let start_counter = hpet::counter();
    let start_tsc = cpu::rdtsc();
    while hpet::counter().wrapping_sub(start_counter) < ticks {
        core::hint::spin_loop();
    }
    let end_tsc = cpu::rdtsc();
    let elapsed_fs = hpet::counter().wrapping_sub(start_counter) as u128 * period;
    ((end_tsc - start_tsc) as u128 * 1_000_000_000_000_000 / elapsed_fs) as u64
}

fn measure_with_pit() -> u64 {
    const PIT_HZ: u64 = 1_193_182;
    let count = (PIT_HZ / 100) as u16; // 10 ms
                                       // Gate channel 2 on, speaker off; mode 0 one-shot.
    port::write_u8(0x61, (port::read_u8(0x61) & !0x02) | 0x01);
    port::write_u8(0x43, 0b1011_0000);
    port::write_u8(0x42, count as u8);
    port::write_u8(0x42, (count >> 8) as u8);
    let start = cpu::rdtsc();
    let mut spins = 0u64;
    while port::read_u8(0x61) & 0x20 == 0 && spins < 100_000_000 {
        spins += 1;
        core::hint::spin_loop();
    }
    (cpu::rdtsc() - start) * 100
}

/// TSC ticks per second (0 before calibration).
pub fn frequency() -> u64 {
    TSC_HZ.load(Ordering::Acquire)
}

/// Nanoseconds since calibration; monotonic, never blocks, works with interrupts off.
pub fn monotonic_nanos() -> u64 {
    let hz = TSC_HZ.load(Ordering::Acquire);
    if hz == 0 {
        return 0;
    }
    let delta = cpu::rdtsc().saturating_sub(TSC_AT_BOOT.load(Ordering::Relaxed));
    ((delta as u128 * 1_000_000_000) / hz as u128) as u64
}

/// Converts TSC ticks to nanoseconds.
pub fn ticks_to_nanos(ticks: u64) -> u64 {
    let hz = frequency().max(1);
    ((ticks as u128 * 1_000_000_000) / hz as u128) as u64
}
