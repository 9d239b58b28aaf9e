//! The PL031 real-time clock (Arm DDI 0224): its data register counts seconds since the Unix
//! epoch on QEMU's virt. Read once at boot for the wall clock.

use core::sync::atomic::{AtomicU64, Ordering};

pub use super::calendar::days_from_civil;
use crate::mm::mmio::MmioRegion;

/// Physical address of the PL031, from the device tree (0 = none).
static ADDRESS: AtomicU64 = AtomicU64::new(0);

/// Why the RTC could not be read.
#[derive(Debug, Clone, Copy)]
pub enum RtcError {
    /// The device tree names no PL031.
    Absent,
    /// Its registers could not be mapped.
    Unmapped,
}

impl core::fmt::Display for RtcError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            RtcError::Absent => "no PL031 real-time clock",
            RtcError::Unmapped => "the PL031's registers cannot be mapped",
        })
    }
}

/// Records where the PL031 is.
pub fn set_address(physical: u64) {
    ADDRESS.store(physical, Ordering::Release);
}

/// Seconds since the Unix epoch, from the RTC.
pub fn read_unix_seconds() -> Result<u64, RtcError> {
    let address = ADDRESS.load(Ordering::Acquire);
    if address == 0 {
        return Err(RtcError::Absent);
    }
    let registers = MmioRegion::map(address, 4096).map_err(|_| RtcError::Unmapped)?;
    Ok(u64::from(registers.read_u32(0)))
}
