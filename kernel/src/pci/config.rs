//! PCI configuration space: ECAM windows from the ACPI MCFG (on aarch64 the device tree), or the
//! legacy 0xCF8/0xCFC ports (x86_64 only).
//!
//! ECAM gives each bus 1 MiB (32 devices × 8 functions × 4 KiB); a bus is mapped uncached the
//! first time it is touched and stays mapped, so the 256 MiB of a full window are never mapped at
//! once. Without an MCFG the port mechanism reaches the first 256 bytes of each function, under a
//! lock because the address and data ports form one transaction. Accesses are 32-bit and aligned;
//! narrower reads and writes are built on them here (writes to the command register zero the
//! status half so its write-one-to-clear bits are left alone).
//!
//! Lock order: `ECAM_BUSES` and `LEGACY_PORTS` are leaves; no other lock is taken while holding
//! them.

use alloc::collections::BTreeMap;
use core::fmt;

use spin::Once;

#[cfg(target_arch = "x86_64")]
use crate::arch::port;
#[cfg(target_arch = "x86_64")]
pub use crate::firmware::acpi::EcamWindow;
use crate::mm::mmio::MmioRegion;
use crate::sync::spin::IrqSpinLock;

/// A PCI ECAM window (on aarch64 from the device tree's `pci-host-ecam-generic` node; the same
/// fields as the ACPI MCFG entry x86_64 uses).
#[cfg(target_arch = "aarch64")]
#[derive(Debug, Clone, Copy)]
pub struct EcamWindow {
    pub base: u64,
    pub segment: u16,
    pub bus_start: u8,
    pub bus_end: u8,
}

/// The place of one PCI function: bus, device (0..32), function (0..8), in segment 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

impl Address {
    /// A function's address; `None` when the device or function number is out of range.
    pub fn new(bus: u8, device: u8, function: u8) -> Option<Self> {
        (device < 32 && function < 8).then_some(Self {
            bus,
            device,
            function,
        })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus, self.device, self.function)
    }
}

/// Errors of configuration-space access and of the PCI layer built on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PciError {
    /// Device number ≥ 32 or function number ≥ 8.
    BadAddress { device: u8, function: u8 },
    /// Offset unaligned for the access width or beyond the reachable space.
    BadOffset { offset: u16, limit: u16 },
    /// `init` has not run yet.
    NotInitialised,
    /// No function answers at this address.
    NoDevice(Address),
    /// An ECAM bus could not be mapped.
    MappingFailed(Address),
    /// The BAR the operation needs is absent, unassigned or of the wrong kind.
    UnusableBar { address: Address, index: u8 },
    /// The device lacks the capability the operation needs.
    MissingCapability {
        address: Address,
        capability: &'static str,
    },
    /// No interrupt vector left.
    NoVector,
    /// The device has no INTx pin, or its interrupt line is unassigned (0xff).
    NoInterruptLine(Address),
    /// The I/O APIC has no pin for the line's GSI.
    NoGsi(u32),
}

impl fmt::Display for PciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PciError::BadAddress { device, function } => write!(
                f,
                "PCI device {device} function {function} out of range (device < 32, function < 8)"
            ),
            PciError::BadOffset { offset, limit } => write!(
                f,
                "configuration offset {offset:#x} unaligned or beyond {limit:#x}"
            ),
            PciError::NotInitialised => write!(f, "PCI is not initialised yet"),
            PciError::NoDevice(a) => write!(f, "no PCI function at {a}"),
            PciError::MappingFailed(a) => write!(f, "cannot map the ECAM bus of {a}"),
            PciError::UnusableBar { address, index } => {
                write!(f, "{address}: BAR {index} is absent or unassigned")
            }
            PciError::MissingCapability {
                address,
                capability,
            } => write!(f, "{address} has no {capability} capability"),
            PciError::NoVector => write!(f, "no interrupt vector left"),
            PciError::NoInterruptLine(a) => write!(f, "{a} has no usable INTx line"),
            PciError::NoGsi(gsi) => write!(f, "no I/O APIC pin for GSI {gsi}"),
        }
    }
}

/// Which mechanism reaches configuration space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// Memory-mapped, 4 KiB per function (PCI Express ECAM).
    Ecam,
    /// I/O ports 0xCF8/0xCFC, 256 bytes per function.
    Legacy,
}

struct Access {
    mechanism: Mechanism,
    windows: alloc::vec::Vec<EcamWindow>,
}

static ACCESS: Once<Access> = Once::new();
/// Mapped ECAM buses, by bus number; mappings are never dropped.
static ECAM_BUSES: IrqSpinLock<BTreeMap<u8, &'static MmioRegion>> =
    IrqSpinLock::new("pci-ecam", BTreeMap::new());
#[cfg(target_arch = "x86_64")]
static LEGACY_PORTS: IrqSpinLock<()> = IrqSpinLock::new("pci-cf8", ());

#[cfg(target_arch = "x86_64")]
const LEGACY_ADDRESS_PORT: u16 = 0xcf8;
#[cfg(target_arch = "x86_64")]
const LEGACY_DATA_PORT: u16 = 0xcfc;
const ECAM_BUS_BYTES: usize = 1 << 20;

/// Chooses the mechanism: ECAM when the MCFG lists a window for segment 0, else the ports.
pub fn init(windows: &[EcamWindow]) -> Mechanism {
    let windows: alloc::vec::Vec<EcamWindow> =
        windows.iter().filter(|w| w.segment == 0).copied().collect();
    let mechanism = if windows.is_empty() {
        Mechanism::Legacy
    } else {
        Mechanism::Ecam
    };
    ACCESS.call_once(|| Access { mechanism, windows }).mechanism
}

/// The mechanism in use, once initialised.
pub fn mechanism() -> Option<Mechanism> {
    ACCESS.get().map(|a| a.mechanism)
}

/// Size of each function's configuration space under the current mechanism.
pub fn space_size() -> u16 {
    match mechanism() {
        Some(Mechanism::Ecam) => 4096,
        _ => 256,
    }
}

fn ecam_bus(bus: u8, address: Address) -> Result<Option<&'static MmioRegion>, PciError> {
    let access = ACCESS.get().ok_or(PciError::NotInitialised)?;
    let Some(window) = access
        .windows
        .iter()
        .find(|w| (w.bus_start..=w.bus_end).contains(&bus))
    else {
        return Ok(None);
    };
    let mut buses = ECAM_BUSES.lock();
    if let Some(region) = buses.get(&bus) {
        return Ok(Some(region));
    }
    let physical = window.base + ((bus - window.bus_start) as u64) * ECAM_BUS_BYTES as u64;
    let region =
        MmioRegion::map(physical, ECAM_BUS_BYTES).map_err(|_| PciError::MappingFailed(address))?;
    let region: &'static MmioRegion = alloc::boxed::Box::leak(alloc::boxed::Box::new(region));
    buses.insert(bus, region);
    Ok(Some(region))
}

fn check(address: Address, offset: u16, width: u16) -> Result<(), PciError> {
    if address.device >= 32 || address.function >= 8 {
        return Err(PciError::BadAddress {
            device: address.device,
            function: address.function,
        });
    }
    let limit = space_size();
    if !offset.is_multiple_of(width) || offset + width > limit {
        return Err(PciError::BadOffset { offset, limit });
    }
    Ok(())
}

/// The port mechanism (x86_64 only; elsewhere there is no I/O port space and nothing answers).
#[cfg(target_arch = "x86_64")]
fn legacy_read(address: Address, offset: u16) -> u32 {
    let _ports = LEGACY_PORTS.lock();
    port::write_u32(LEGACY_ADDRESS_PORT, legacy_address(address, offset));
    port::read_u32(LEGACY_DATA_PORT)
}

#[cfg(target_arch = "x86_64")]
fn legacy_write(address: Address, offset: u16, value: u32) {
    let _ports = LEGACY_PORTS.lock();
    port::write_u32(LEGACY_ADDRESS_PORT, legacy_address(address, offset));
    port::write_u32(LEGACY_DATA_PORT, value);
}

#[cfg(not(target_arch = "x86_64"))]
fn legacy_read(_address: Address, _offset: u16) -> u32 {
    u32::MAX
}

#[cfg(not(target_arch = "x86_64"))]
fn legacy_write(_address: Address, _offset: u16, _value: u32) {}

#[cfg_attr(
    not(target_arch = "x86_64"),
    expect(dead_code, reason = "the port mechanism is x86's")
)]
fn legacy_address(address: Address, offset: u16) -> u32 {
    0x8000_0000
        | (address.bus as u32) << 16
        | (address.device as u32) << 11
        | (address.function as u32) << 8
        | (offset as u32 & 0xfc)
}

fn ecam_offset(address: Address, offset: u16) -> usize {
    ((address.device as usize) << 15) | ((address.function as usize) << 12) | offset as usize
}

/// Reads a 32-bit register (offset 4-aligned, below [`space_size`]). Absent functions and buses
/// outside every ECAM window read as all ones, as on real hardware.
pub fn read_u32(address: Address, offset: u16) -> Result<u32, PciError> {
    check(address, offset, 4)?;
    match mechanism().ok_or(PciError::NotInitialised)? {
        Mechanism::Ecam => Ok(match ecam_bus(address.bus, address)? {
            Some(region) => region.read_u32(ecam_offset(address, offset)),
            None => u32::MAX,
        }),
        Mechanism::Legacy => Ok(legacy_read(address, offset)),
    }
}

/// Writes a 32-bit register (offset 4-aligned, below [`space_size`]).
pub fn write_u32(address: Address, offset: u16, value: u32) -> Result<(), PciError> {
    check(address, offset, 4)?;
    match mechanism().ok_or(PciError::NotInitialised)? {
        Mechanism::Ecam => {
            if let Some(region) = ecam_bus(address.bus, address)? {
                region.write_u32(ecam_offset(address, offset), value);
            }
            Ok(())
        }
        Mechanism::Legacy => {
            legacy_write(address, offset, value);
            Ok(())
        }
    }
}

fn numbers(bus: u32, device: u32, function: u32) -> Result<Address, PciError> {
    let bad = PciError::BadAddress {
        device: device.min(255) as u8,
        function: function.min(255) as u8,
    };
    let bus = u8::try_from(bus).map_err(|_| bad)?;
    Address::new(bus, device.min(255) as u8, function.min(255) as u8)
        .filter(|_| device < 32 && function < 8)
        .ok_or(bad)
}

/// [`read_u32`] by plain numbers, as `rumpcomp_pci_conf_read` receives them.
pub fn read_u32_at(bus: u32, device: u32, function: u32, offset: u32) -> Result<u32, PciError> {
    let offset = u16::try_from(offset).map_err(|_| PciError::BadOffset {
        offset: u16::MAX,
        limit: space_size(),
    })?;
    read_u32(numbers(bus, device, function)?, offset)
}

/// [`write_u32`] by plain numbers, as `rumpcomp_pci_conf_write` receives them.
pub fn write_u32_at(
    bus: u32,
    device: u32,
    function: u32,
    offset: u32,
    value: u32,
) -> Result<(), PciError> {
    let offset = u16::try_from(offset).map_err(|_| PciError::BadOffset {
        offset: u16::MAX,
        limit: space_size(),
    })?;
    write_u32(numbers(bus, device, function)?, offset, value)
}

/// Reads a 16-bit register (offset 2-aligned).
pub fn read_u16(address: Address, offset: u16) -> Result<u16, PciError> {
    check(address, offset, 2)?;
    Ok((read_u32(address, offset & !3)? >> ((offset & 2) * 8)) as u16)
}

/// Reads an 8-bit register.
pub fn read_u8(address: Address, offset: u16) -> Result<u8, PciError> {
    check(address, offset, 1)?;
    Ok((read_u32(address, offset & !3)? >> ((offset & 3) * 8)) as u8)
}

/// Writes a 16-bit register by read-modify-write of its 32-bit word. In the word holding the
/// command register (offset 4) the status half is written as zero: its error bits are
/// write-one-to-clear and must not be cleared by accident.
pub fn write_u16(address: Address, offset: u16, value: u16) -> Result<(), PciError> {
    check(address, offset, 2)?;
    let aligned = offset & !3;
    let shift = (offset & 2) * 8;
    let mut word = read_u32(address, aligned)?;
    if aligned == COMMAND {
        word &= 0xffff;
    }
    word = (word & !(0xffff << shift)) | ((value as u32) << shift);
    write_u32(address, aligned, word)
}

/// Writes an 8-bit register by read-modify-write of its 32-bit word (not for the status word).
pub fn write_u8(address: Address, offset: u16, value: u8) -> Result<(), PciError> {
    check(address, offset, 1)?;
    let aligned = offset & !3;
    let shift = (offset & 3) * 8;
    let mut word = read_u32(address, aligned)?;
    if aligned == COMMAND {
        word &= 0xffff;
    }
    word = (word & !(0xff << shift)) | ((value as u32) << shift);
    write_u32(address, aligned, word)
}

/// Offsets of the common header (PCI Local Bus 3.0 section 6.1).
pub const VENDOR_ID: u16 = 0x00;
pub const COMMAND: u16 = 0x04;
pub const STATUS: u16 = 0x06;
pub const CLASS_REVISION: u16 = 0x08;
pub const HEADER_TYPE: u16 = 0x0e;
pub const BAR0: u16 = 0x10;
pub const SECONDARY_BUS: u16 = 0x19;
pub const CAPABILITIES_POINTER: u16 = 0x34;
pub const INTERRUPT_LINE: u16 = 0x3c;
pub const INTERRUPT_PIN: u16 = 0x3d;

/// Command-register bits.
pub const COMMAND_IO: u16 = 1 << 0;
pub const COMMAND_MEMORY: u16 = 1 << 1;
pub const COMMAND_BUS_MASTER: u16 = 1 << 2;
pub const COMMAND_INTX_DISABLE: u16 = 1 << 10;
/// Status bit: a capability list is present.
pub const STATUS_CAPABILITIES: u16 = 1 << 4;
