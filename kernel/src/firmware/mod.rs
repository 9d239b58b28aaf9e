//! Firmware tables: ACPI discovery of CPUs, interrupt controllers, timers and PCI windows.
//!
//! May import: `arch`, `mm`, `boot`.

pub mod acpi;

use spin::Once;

static PLATFORM: Once<acpi::Platform> = Once::new();

/// Records the platform description read at start-up (once) and returns it.
pub fn record(platform: acpi::Platform) -> &'static acpi::Platform {
    PLATFORM.call_once(|| platform)
}

/// The firmware's platform description (after start-up).
pub fn platform() -> &'static acpi::Platform {
    PLATFORM.get().expect("ACPI is read during start-up")
}
