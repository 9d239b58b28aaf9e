//! I/O APIC: routes global system interrupts (GSIs) to local-APIC vectors; all pins start masked.

use alloc::vec::Vec;

use super::cpu;

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
    /// Virtual address of the register-select register; the window register is 0x10 above.
    registers: usize,
    gsi_base: u32,
    pins: u32,
}

impl IoApic {
    fn select(&self, register: u32) {
        // SAFETY: `registers` is an uncached, permanent mapping of this IOAPIC (see `add`).
        unsafe { core::ptr::write_volatile(self.registers as *mut u32, register) }
    }

    fn read(&self, register: u32) -> u32 {
        self.select(register);
        // SAFETY: as in `select`; the window register is at offset 0x10.
        unsafe { core::ptr::read_volatile((self.registers + 0x10) as *const u32) }
    }

    fn write(&self, register: u32, value: u32) {
        self.select(register);
        // SAFETY: as in `select`.
        unsafe { core::ptr::write_volatile((self.registers + 0x10) as *mut u32, value) }
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

/// The IOAPICs; the select/window pair makes every access two steps, so one lock covers all.
/// Taken only with interrupts disabled (see `locked`).
static IOAPICS: spin::Mutex<Vec<IoApic>> = spin::Mutex::new(Vec::new());

fn locked<R>(f: impl FnOnce(&mut Vec<IoApic>) -> R) -> R {
    let were_enabled = cpu::disable_interrupts();
    let result = f(&mut IOAPICS.lock());
    cpu::restore_interrupts(were_enabled);
    result
}

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

/// Adds the IOAPIC whose registers are mapped at `virtual_base` and masks all of its pins;
/// returns its pin count.
///
/// # Safety
/// `virtual_base` must be an uncached mapping of the IOAPIC's register page that stays mapped
/// for the kernel's life and is used by nothing else.
pub unsafe fn add(virtual_base: usize, gsi_base: u32) -> u32 {
    let mut apic = IoApic {
        registers: virtual_base,
        gsi_base,
        pins: 0,
    };
    apic.pins = ((apic.read(REG_VERSION) >> 16) & 0xff) + 1;
    for pin in 0..apic.pins {
        apic.write_entry(pin, ENTRY_MASKED);
    }
    let pins = apic.pins;
    locked(|apics| apics.push(apic));
    pins
}

fn with_pin<R>(gsi: u32, f: impl FnOnce(&IoApic, u32) -> R) -> Result<R, RouteError> {
    locked(|apics| {
        let apic = apics
            .iter()
            .find(|a| gsi >= a.gsi_base && gsi < a.gsi_base + a.pins)
            .ok_or(RouteError::NoSuchGsi(gsi))?;
        Ok(f(apic, gsi - apic.gsi_base))
    })
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

/// Whether `gsi` is masked.
pub fn is_masked(gsi: u32) -> Result<bool, RouteError> {
    with_pin(gsi, |apic, pin| apic.read_entry(pin) & ENTRY_MASKED != 0)
}

/// Total number of pins over all IOAPICs.
pub fn pin_count() -> u32 {
    locked(|apics| apics.iter().map(|a| a.pins).sum())
}
