//! I/O APIC: routes global system interrupts (GSIs) to local-APIC vectors; all pins start masked.

use alloc::vec::Vec;

use crate::mm::mmio::MmioRegion;
use crate::mm::MemoryError;
use crate::sync::spin::IrqSpinLock;

const REG_VERSION: u32 = 0x01;
const REG_REDIRECTION_BASE: u32 = 0x10;
const ENTRY_MASKED: u64 = 1 << 16;
const ENTRY_LEVEL: u64 = 1 << 15;
const ENTRY_ACTIVE_LOW: u64 = 1 << 13;

/// Electrical properties of an interrupt line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Polarity {
    /// Level-triggered (true) or edge-triggered.
    pub level_triggered: bool,
    /// Active low (true) or active high.
    pub active_low: bool,
}

/// ISA defaults: edge-triggered, active high.
pub const ISA_DEFAULT: Polarity = Polarity {
    level_triggered: false,
    active_low: false,
};
/// PCI defaults: level-triggered, active low.
pub const PCI_DEFAULT: Polarity = Polarity {
    level_triggered: true,
    active_low: true,
};

struct IoApic {
    registers: MmioRegion,
    gsi_base: u32,
    pins: u32,
}

impl IoApic {
    fn read(&self, register: u32) -> u32 {
        self.registers.write_u32(0, register);
        self.registers.read_u32(0x10)
    }

    fn write(&self, register: u32, value: u32) {
        self.registers.write_u32(0, register);
        self.registers.write_u32(0x10, value);
    }

    fn write_entry(&self, pin: u32, entry: u64) {
        self.write(REG_REDIRECTION_BASE + 2 * pin + 1, (entry >> 32) as u32);
        self.write(REG_REDIRECTION_BASE + 2 * pin, entry as u32);
    }

    fn read_entry(&self, pin: u32) -> u64 {
        let low = self.read(REG_REDIRECTION_BASE + 2 * pin) as u64;
        let high = self.read(REG_REDIRECTION_BASE + 2 * pin + 1) as u64;
        low | (high << 32)
    }
}

static IOAPICS: IrqSpinLock<Vec<IoApic>> = IrqSpinLock::new("ioapic", Vec::new());

/// Errors from routing requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteError {
    /// No IOAPIC serves this GSI.
    NoSuchGsi(u32),
}

impl core::fmt::Display for RouteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RouteError::NoSuchGsi(gsi) => write!(f, "no I/O APIC serves GSI {gsi}"),
        }
    }
}

/// Maps an IOAPIC and masks all of its pins.
pub fn add(physical_base: u64, gsi_base: u32) -> Result<u32, MemoryError> {
    let registers = MmioRegion::map(physical_base, 4096)?;
    let mut apic = IoApic {
        registers,
        gsi_base,
        pins: 0,
    };
    apic.pins = ((apic.read(REG_VERSION) >> 16) & 0xff) + 1;
    for pin in 0..apic.pins {
        apic.write_entry(pin, ENTRY_MASKED);
    }
    let pins = apic.pins;
    IOAPICS.lock().push(apic);
    Ok(pins)
}

fn with_pin<R>(gsi: u32, f: impl FnOnce(&IoApic, u32) -> R) -> Result<R, RouteError> {
    let apics = IOAPICS.lock();
    let apic = apics
        .iter()
        .find(|a| gsi >= a.gsi_base && gsi < a.gsi_base + a.pins)
        .ok_or(RouteError::NoSuchGsi(gsi))?;
    Ok(f(apic, gsi - apic.gsi_base))
}

/// Routes `gsi` to `vector` on the CPU with `apic_id`, left masked.
pub fn route(gsi: u32, vector: u8, apic_id: u32, polarity: Polarity) -> Result<(), RouteError> {
    let mut entry = vector as u64 | ENTRY_MASKED | ((apic_id as u64) << 56);
    if polarity.level_triggered {
        entry |= ENTRY_LEVEL;
    }
    if polarity.active_low {
        entry |= ENTRY_ACTIVE_LOW;
    }
    with_pin(gsi, |apic, pin| apic.write_entry(pin, entry))
}

/// Masks or unmasks `gsi`.
pub fn set_masked(gsi: u32, masked: bool) -> Result<(), RouteError> {
    with_pin(gsi, |apic, pin| {
        let entry = apic.read_entry(pin);
        let entry = if masked {
            entry | ENTRY_MASKED
        } else {
            entry & !ENTRY_MASKED
        };
        apic.write_entry(pin, entry);
    })
}

/// Total number of pins over all IOAPICs.
pub fn pin_count() -> u32 {
    IOAPICS.lock().iter().map(|a| a.pins).sum()
}
