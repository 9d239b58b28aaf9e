//! The capability list, and MSI / MSI-X programming (PCI Local Bus 3.0 sections 6.7 and 6.8).
//!
//! MSI messages target one local APIC: address `0xFEE0_0000 | apic_id << 12`, data = vector,
//! fixed delivery, edge-triggered (Intel SDM vol. 3 section 11.11). The MSI-X table lives in a
//! memory BAR and is mapped for as long as the returned [`MsixTable`] lives.

use alloc::vec::Vec;

use super::bar::BarRegion;
use super::config::{self, Address, PciError};
use super::Device;

/// Capability IDs the kernel knows by name.
pub const ID_POWER_MANAGEMENT: u8 = 0x01;
pub const ID_MSI: u8 = 0x05;
pub const ID_VENDOR: u8 = 0x09;
pub const ID_PCI_EXPRESS: u8 = 0x10;
pub const ID_MSIX: u8 = 0x11;

/// One entry of the capability list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    /// Capability ID.
    pub id: u8,
    /// Offset of the entry in configuration space.
    pub offset: u16,
}

/// Short name of a capability ID, for `lspci`.
pub fn name(id: u8) -> &'static str {
    match id {
        ID_POWER_MANAGEMENT => "power-management",
        ID_MSI => "MSI",
        ID_VENDOR => "vendor",
        ID_PCI_EXPRESS => "PCIe",
        ID_MSIX => "MSI-X",
        0x0d => "bridge-subsystem",
        0x12 => "SATA",
        0x13 => "advanced-features",
        _ => "other",
    }
}

/// Walks the capability list. Stops at a pointer into the header, a pointer seen before (a
/// loop), or after 48 entries (the most that fit in 192 bytes).
pub fn walk(address: Address) -> Result<Vec<Capability>, PciError> {
    let mut found = Vec::new();
    if config::read_u16(address, config::STATUS)? & config::STATUS_CAPABILITIES == 0 {
        return Ok(found);
    }
    let mut seen = [false; 64];
    let mut pointer = config::read_u8(address, config::CAPABILITIES_POINTER)? & 0xfc;
    while pointer >= 0x40 && found.len() < 48 {
        let slot = pointer as usize / 4;
        if seen[slot] {
            log::warn!("{address}: capability list loops at {pointer:#x}; stopped there");
            break;
        }
        seen[slot] = true;
        let header = config::read_u16(address, pointer as u16)?;
        found.push(Capability {
            id: header as u8,
            offset: pointer as u16,
        });
        pointer = (header >> 8) as u8 & 0xfc;
    }
    Ok(found)
}

/// The requester ID of a function (bus, device, function packed as on the bus).
fn requester_id(address: Address) -> u16 {
    (u16::from(address.bus) << 8) | (u16::from(address.device) << 3) | u16::from(address.function)
}

/// The architecture's MSI message for `vector` on `apic_id` from the function at `address`.
fn message(address: Address, vector: u8, apic_id: u32) -> Result<(u64, u32), PciError> {
    crate::arch::msi::message(requester_id(address), vector, apic_id).ok_or(PciError::NoVector)
}

/// Programs and enables single-vector MSI; INTx is disabled in the command register.
pub fn enable_msi(device: &Device, vector: u8, apic_id: u32) -> Result<(), PciError> {
    let address = device.address;
    let capability = device
        .capability(ID_MSI)
        .ok_or(PciError::MissingCapability {
            address,
            capability: "MSI",
        })?;
    let base = capability.offset;
    let control = config::read_u16(address, base + 2)?;
    let is_64bit = control & (1 << 7) != 0;
    let (message_address, data) = message(address, vector, apic_id)?;
    config::write_u32(address, base + 4, message_address as u32)?;
    let data_offset = if is_64bit {
        config::write_u32(address, base + 8, (message_address >> 32) as u32)?;
        base + 12
    } else {
        base + 8
    };
    config::write_u16(address, data_offset, data as u16)?;
    // One message (multiple-message enable = 0), enabled.
    config::write_u16(address, base + 2, (control & !(0x7 << 4)) | 1)?;
    set_intx_disabled(address, true)
}

/// Sets or clears the command register's interrupt-disable bit.
pub fn set_intx_disabled(address: Address, disabled: bool) -> Result<(), PciError> {
    let command = config::read_u16(address, config::COMMAND)?;
    let command = if disabled {
        command | config::COMMAND_INTX_DISABLE
    } else {
        command & !config::COMMAND_INTX_DISABLE
    };
    config::write_u16(address, config::COMMAND, command)
}

/// A function's MSI-X table, mapped through its BAR.
#[derive(Debug)]
pub struct MsixTable {
    address: Address,
    capability: u16,
    table: BarRegion,
    size: u16,
}

const MSIX_ENABLE: u16 = 1 << 15;
const MSIX_FUNCTION_MASK: u16 = 1 << 14;
const MSIX_ENTRY_BYTES: usize = 16;

impl MsixTable {
    /// Finds the MSI-X capability and maps the table; every entry starts masked.
    pub fn map(device: &Device) -> Result<Self, PciError> {
        let address = device.address;
        let capability = device
            .capability(ID_MSIX)
            .ok_or(PciError::MissingCapability {
                address,
                capability: "MSI-X",
            })?
            .offset;
        let control = config::read_u16(address, capability + 2)?;
        let size = (control & 0x7ff) + 1;
        let table_word = config::read_u32(address, capability + 4)?;
        let index = (table_word & 0x7) as u8;
        let bar = device
            .bars
            .get(index as usize)
            .copied()
            .flatten()
            .ok_or(PciError::UnusableBar { address, index })?;
        let table = BarRegion::map(
            address,
            &bar,
            index,
            (table_word & !0x7) as u64,
            size as usize * MSIX_ENTRY_BYTES,
        )?;
        let msix = Self {
            address,
            capability,
            table,
            size,
        };
        for entry in 0..size {
            msix.set_masked(entry, true);
        }
        Ok(msix)
    }

    /// Number of table entries.
    pub fn size(&self) -> u16 {
        self.size
    }

    /// Points `entry` at `vector` on the CPU with `apic_id` and unmasks it.
    pub fn set_entry(&self, entry: u16, vector: u8, apic_id: u32) -> Result<(), PciError> {
        assert!(entry < self.size, "MSI-X entry {entry} beyond the table");
        let base = entry as usize * MSIX_ENTRY_BYTES;
        let (message_address, data) = message(self.address, vector, apic_id)?;
        self.table.write_u32(base, message_address as u32);
        self.table
            .write_u32(base + 4, (message_address >> 32) as u32);
        self.table.write_u32(base + 8, data);
        self.set_masked(entry, false);
        Ok(())
    }

    /// Masks or unmasks one entry.
    pub fn set_masked(&self, entry: u16, masked: bool) {
        let offset = entry as usize * MSIX_ENTRY_BYTES + 12;
        let control = self.table.read_u32(offset);
        self.table
            .write_u32(offset, if masked { control | 1 } else { control & !1 });
    }

    /// Enables MSI-X for the function (and disables its INTx).
    pub fn enable(&self) -> Result<(), PciError> {
        let control = config::read_u16(self.address, self.capability + 2)?;
        config::write_u16(
            self.address,
            self.capability + 2,
            (control | MSIX_ENABLE) & !MSIX_FUNCTION_MASK,
        )?;
        set_intx_disabled(self.address, true)
    }

    /// Disables MSI-X for the function.
    pub fn disable(&self) -> Result<(), PciError> {
        let control = config::read_u16(self.address, self.capability + 2)?;
        config::write_u16(self.address, self.capability + 2, control & !MSIX_ENABLE)
    }
}
