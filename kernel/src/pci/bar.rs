//! Base address registers: decoding, sizing, and uncached mappings of memory BARs.
//!
//! Sizing follows PCI Local Bus 3.0 section 6.2.5.1: with I/O and memory decoding turned off in the
//! command register, write all ones, read back the size mask, restore the original value, then
//! restore the command register. It runs once per function during enumeration, before any driver
//! owns the device.

use core::fmt;

use super::config::{self, Address, PciError};
use crate::mm::mmio::MmioRegion;

/// One decoded BAR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bar {
    /// Memory space: bus address, size in bytes, 64-bit (takes two BAR slots), prefetchable.
    Memory {
        address: u64,
        size: u64,
        is_64bit: bool,
        prefetchable: bool,
    },
    /// I/O space: port base and size.
    Io { port: u32, size: u32 },
}

impl Bar {
    /// Whether the firmware assigned an address (0 means unassigned).
    pub fn is_assigned(&self) -> bool {
        match *self {
            Bar::Memory { address, .. } => address != 0,
            Bar::Io { port, .. } => port != 0,
        }
    }
}

impl fmt::Display for Bar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Bar::Memory {
                address,
                size,
                is_64bit,
                prefetchable,
            } => write!(
                f,
                "memory at {address:#x} ({}, {}-bit{})",
                Size(size),
                if is_64bit { 64 } else { 32 },
                if prefetchable { ", prefetchable" } else { "" }
            ),
            Bar::Io { port, size } => write!(f, "I/O ports at {port:#x} ({} bytes)", size),
        }
    }
}

/// A byte count printed with a binary unit.
struct Size(u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (value, unit) = match self.0 {
            s if s >= 1 << 30 && s.is_multiple_of(1 << 30) => (s >> 30, "GiB"),
            s if s >= 1 << 20 && s.is_multiple_of(1 << 20) => (s >> 20, "MiB"),
            s if s >= 1 << 10 && s.is_multiple_of(1 << 10) => (s >> 10, "KiB"),
            s => (s, "bytes"),
        };
        write!(f, "{value} {unit}")
    }
}

/// Decodes and sizes the `count` BARs of a function (6 for devices, 2 for bridges). A 64-bit BAR
/// fills its slot and leaves the next one `None`.
pub fn probe_all(address: Address, count: usize) -> Result<[Option<Bar>; 6], PciError> {
    let mut bars = [None; 6];
    let command = config::read_u16(address, config::COMMAND)?;
    config::write_u16(
        address,
        config::COMMAND,
        command & !(config::COMMAND_IO | config::COMMAND_MEMORY),
    )?;
    let mut index = 0;
    let mut result = Ok(());
    while index < count {
        match probe_one(address, index) {
            Ok((bar, slots)) => {
                bars[index] = bar;
                index += slots;
            }
            Err(error) => {
                result = Err(error);
                break;
            }
        }
    }
    config::write_u16(address, config::COMMAND, command)?;
    result.map(|()| bars)
}

/// Sizes BAR `index` (decoding must be off); returns it and how many slots it takes.
fn probe_one(address: Address, index: usize) -> Result<(Option<Bar>, usize), PciError> {
    let offset = config::BAR0 + 4 * index as u16;
    let original = config::read_u32(address, offset)?;
    config::write_u32(address, offset, u32::MAX)?;
    let mask = config::read_u32(address, offset)?;
    config::write_u32(address, offset, original)?;
    if original & 1 == 1 {
        let size_mask = mask & !0x3;
        if size_mask == 0 {
            return Ok((None, 1));
        }
        // I/O BARs may implement only 16 address bits; the upper bits read back as zero.
        let size = (!(size_mask | 0xffff_0000)).wrapping_add(1) & 0xffff;
        return Ok((
            Some(Bar::Io {
                port: original & !0x3,
                size,
            }),
            1,
        ));
    }
    let kind = (original >> 1) & 0x3;
    let prefetchable = original & 0x8 != 0;
    if kind == 0x2 && index < 5 {
        let high_offset = offset + 4;
        let original_high = config::read_u32(address, high_offset)?;
        config::write_u32(address, high_offset, u32::MAX)?;
        let mask_high = config::read_u32(address, high_offset)?;
        config::write_u32(address, high_offset, original_high)?;
        let full_mask = ((mask_high as u64) << 32) | (mask & !0xf) as u64;
        if full_mask == 0 {
            return Ok((None, 2));
        }
        let size = (!full_mask).wrapping_add(1);
        let base = ((original_high as u64) << 32) | (original & !0xf) as u64;
        return Ok((
            Some(Bar::Memory {
                address: base,
                size,
                is_64bit: true,
                prefetchable,
            }),
            2,
        ));
    }
    let size_mask = mask & !0xf;
    if size_mask == 0 {
        return Ok((None, 1));
    }
    Ok((
        Some(Bar::Memory {
            address: (original & !0xf) as u64,
            size: (!size_mask).wrapping_add(1) as u64,
            is_64bit: false,
            prefetchable,
        }),
        1,
    ))
}

/// An uncached mapping of part of a memory BAR with bounds-checked 8- to 64-bit accessors.
///
/// Virtio's common configuration and MSI-X tables have 8- and 16-bit fields that must be
/// accessed at their natural width, which [`MmioRegion`] does not offer; this adds them.
#[derive(Debug)]
pub struct BarRegion {
    region: MmioRegion,
}

impl BarRegion {
    /// Maps `[offset, offset + length)` of memory BAR `bar`.
    pub fn map(
        address: Address,
        bar: &Bar,
        index: u8,
        offset: u64,
        length: usize,
    ) -> Result<Self, PciError> {
        let unusable = PciError::UnusableBar { address, index };
        let Bar::Memory {
            address: base,
            size,
            ..
        } = *bar
        else {
            return Err(unusable);
        };
        if base == 0 || length == 0 || offset.saturating_add(length as u64) > size {
            return Err(unusable);
        }
        let region = MmioRegion::map(base + offset, length).map_err(|_| unusable)?;
        Ok(Self { region })
    }

    /// Length of the mapping.
    pub fn len(&self) -> usize {
        self.region.len()
    }

    /// Whether the mapping is empty (never).
    pub fn is_empty(&self) -> bool {
        self.region.is_empty()
    }

    fn pointer(&self, offset: usize, width: usize) -> usize {
        assert!(
            offset.is_multiple_of(width) && offset + width <= self.region.len(),
            "BAR access at {offset:#x} (width {width}) outside a mapping of {:#x} bytes",
            self.region.len()
        );
        self.region.virtual_address() + offset
    }

    /// Reads an 8-bit register.
    pub fn read_u8(&self, offset: usize) -> u8 {
        let pointer = self.pointer(offset, 1);
        // SAFETY: `pointer` checked inside this uncached device mapping, which lives as long as
        // `self`; device registers have no Rust-visible aliasing.
        unsafe { core::ptr::read_volatile(pointer as *const u8) }
    }

    /// Writes an 8-bit register.
    pub fn write_u8(&self, offset: usize, value: u8) {
        let pointer = self.pointer(offset, 1);
        // SAFETY: as for `read_u8`.
        unsafe { core::ptr::write_volatile(pointer as *mut u8, value) }
    }

    /// Reads a 16-bit register.
    pub fn read_u16(&self, offset: usize) -> u16 {
        let pointer = self.pointer(offset, 2);
        // SAFETY: as for `read_u8`; alignment checked.
        unsafe { core::ptr::read_volatile(pointer as *const u16) }
    }

    /// Writes a 16-bit register.
    pub fn write_u16(&self, offset: usize, value: u16) {
        let pointer = self.pointer(offset, 2);
        // SAFETY: as for `read_u8`; alignment checked.
        unsafe { core::ptr::write_volatile(pointer as *mut u16, value) }
    }

    /// Reads a 32-bit register.
    pub fn read_u32(&self, offset: usize) -> u32 {
        self.region.read_u32(offset)
    }

    /// Writes a 32-bit register.
    pub fn write_u32(&self, offset: usize, value: u32) {
        self.region.write_u32(offset, value)
    }

    /// Writes a 64-bit register as two 32-bit halves, low first (virtio 1.x section 4.1.3.1
    /// allows it).
    pub fn write_u64_split(&self, offset: usize, value: u64) {
        self.region.write_u32(offset, value as u32);
        self.region.write_u32(offset + 4, (value >> 32) as u32);
    }
}
