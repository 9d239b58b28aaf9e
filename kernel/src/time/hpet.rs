//! High Precision Event Timer: used as the reference clock for TSC calibration and tests.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::mm::mmio::MmioRegion;
use crate::mm::MemoryError;

const CAPABILITIES: usize = 0x00;
const CONFIGURATION: usize = 0x10;
const MAIN_COUNTER: usize = 0xf0;

static REGISTERS: spin::Once<MmioRegion> = spin::Once::new();
static PERIOD_FEMTOSECONDS: AtomicU64 = AtomicU64::new(0);

fn registers() -> Option<&'static MmioRegion> {
    REGISTERS.get()
}

/// Maps the HPET and starts its main counter.
pub fn init(physical: u64) -> Result<(), MemoryError> {
    let region = MmioRegion::map(physical, 1024)?;
    let period = region.read_u64(CAPABILITIES) >> 32;
    if period == 0 || period > 100_000_000 {
        log::warn!("HPET reports an impossible period of {period} fs; ignoring it");
        return Ok(());
    }
    region.write_u64(CONFIGURATION, region.read_u64(CONFIGURATION) | 1);
    PERIOD_FEMTOSECONDS.store(period, Ordering::Relaxed);
    REGISTERS.call_once(|| region);
    Ok(())
}

/// Whether the HPET is running.
pub fn available() -> bool {
    registers().is_some()
}

/// Counter period in femtoseconds.
pub fn period_femtoseconds() -> u64 {
    PERIOD_FEMTOSECONDS.load(Ordering::Relaxed)
}

/// Main counter value.
pub fn counter() -> u64 {
    registers().map(|r| r.read_u64(MAIN_COUNTER)).unwrap_or(0)
}

/// Nanoseconds since the counter started.
pub fn nanos() -> u64 {
    ((counter() as u128 * period_femtoseconds() as u128) / 1_000_000) as u64
}
