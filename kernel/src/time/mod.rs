//! Time: the TSC calibrated against the HPET (or the PIT) gives a nanosecond monotonic clock that
//! advances even with interrupts off; the CMOS RTC read at boot anchors the wall clock. On
//! aarch64 the generic counter (its frequency in CNTFRQ_EL0) is the clock and the PL031 the RTC.
//!
//! May import: `arch`, `mm`.

pub mod calendar;
#[cfg(target_arch = "aarch64")]
pub mod counter;
#[cfg(target_arch = "x86_64")]
pub mod hpet;
#[cfg(target_arch = "aarch64")]
pub mod pl031;
#[cfg(target_arch = "x86_64")]
pub mod rtc;
#[cfg(target_arch = "x86_64")]
pub mod tsc;

#[cfg(target_arch = "aarch64")]
/// The cycle clock under the name the x86_64 code uses.
pub use counter as tsc;
#[cfg(target_arch = "aarch64")]
pub use counter::monotonic_nanos;
#[cfg(target_arch = "aarch64")]
/// The real-time clock under the name the x86_64 code uses.
pub use pl031 as rtc;

use core::sync::atomic::{AtomicU64, Ordering};

#[cfg(target_arch = "x86_64")]
pub use tsc::monotonic_nanos;

static BOOT_UNIX_SECONDS: AtomicU64 = AtomicU64::new(0);
static BOOT_MONOTONIC_NANOS: AtomicU64 = AtomicU64::new(0);

/// Reads the RTC and remembers it as the wall-clock anchor.
pub fn init_wall_clock() {
    match rtc::read_unix_seconds() {
        Ok(seconds) => {
            BOOT_MONOTONIC_NANOS.store(monotonic_nanos(), Ordering::Relaxed);
            BOOT_UNIX_SECONDS.store(seconds, Ordering::Relaxed);
        }
        Err(error) => log::warn!("wall clock unavailable: {error}"),
    }
}

/// Wall-clock time as (seconds, nanoseconds) since the Unix epoch.
pub fn wall_clock() -> (u64, u32) {
    let since = monotonic_nanos().saturating_sub(BOOT_MONOTONIC_NANOS.load(Ordering::Relaxed));
    let seconds = BOOT_UNIX_SECONDS.load(Ordering::Relaxed) + since / 1_000_000_000;
    (seconds, (since % 1_000_000_000) as u32)
}

/// Spins for at least `nanos` nanoseconds.
pub fn busy_wait_nanos(nanos: u64) {
    let end = monotonic_nanos() + nanos;
    while monotonic_nanos() < end {
        core::hint::spin_loop();
    }
}
