//! Resource assignment on aarch64: QEMU's `virt` board boots `-kernel` without firmware that
//! programs PCI, so the kernel gives each function's BARs addresses from the host bridge's
//! windows (device tree `ranges`), turns decoding on, and writes the GIC interrupt ID of its
//! INTx pin into the interrupt-line register, where the rest of the PCI layer expects the
//! firmware's routing (PCI Local Bus 3.0 section 6.2.5.1 for sizing, section 2.2.6 for the pin
//! swizzle).
//!
//! Only the root bus is assigned; devices behind bridges keep what they have.

use super::config::{self, Address};
use crate::boot::devicetree::PciHost;

/// First I/O port handed out (below it legacy ISA devices would decode).
const FIRST_IO_PORT: u64 = 0x1000;

/// A bump allocator over one bridge window.
struct Window {
    next: u64,
    end: u64,
}

impl Window {
    fn new(window: Option<(u64, u64)>) -> Option<Self> {
        window.map(|(base, size)| Window {
            next: base,
            end: base + size,
        })
    }

    /// `size` bytes aligned to `size` (BARs are naturally aligned).
    fn take(&mut self, size: u64) -> Option<u64> {
        let base = self.next.checked_next_multiple_of(size)?;
        let end = base.checked_add(size)?;
        (end <= self.end).then(|| {
            self.next = end;
            base
        })
    }
}

/// Assigns the BARs and INTx lines of every function on `bus`.
pub fn assign_bus(host: &PciHost, bus: u8) {
    let mut memory32 = Window::new(host.memory32);
    let mut memory64 = Window::new(host.memory64);
    // Port numbers are bus addresses: they start at 0 in the window, whatever its CPU address.
    let mut io = Window::new(host.io.map(|(_, size)| (FIRST_IO_PORT, size)));
    for device in 0..32u8 {
        for function in 0..8u8 {
            let Some(address) = Address::new(bus, device, function) else {
                continue;
            };
            let Ok(ids) = config::read_u32(address, config::VENDOR_ID) else {
                continue;
            };
            if ids & 0xffff == 0xffff {
                if function == 0 {
                    break;
                }
                continue;
            }
            let header = config::read_u8(address, config::HEADER_TYPE).unwrap_or(0);
            if header & 0x7f == 0 {
                assign_function(address, &mut memory32, &mut memory64, &mut io);
                let pin = config::read_u8(address, config::INTERRUPT_PIN).unwrap_or(0);
                if (1..=4).contains(&pin) {
                    let intid = host.intx[(usize::from(device) + usize::from(pin) - 1) % 4];
                    let _ = config::write_u8(address, config::INTERRUPT_LINE, intid as u8);
                }
            }
            if function == 0 && header & 0x80 == 0 {
                break; // single-function device
            }
        }
    }
}

fn assign_function(
    address: Address,
    memory32: &mut Option<Window>,
    memory64: &mut Option<Window>,
    io: &mut Option<Window>,
) {
    let Ok(command) = config::read_u16(address, config::COMMAND) else {
        return;
    };
    let decoding = config::COMMAND_IO | config::COMMAND_MEMORY;
    let _ = config::write_u16(address, config::COMMAND, command & !decoding);
    let mut index = 0u16;
    while index < 6 {
        let offset = config::BAR0 + 4 * index;
        let Ok(original) = config::read_u32(address, offset) else {
            break;
        };
        let _ = config::write_u32(address, offset, u32::MAX);
        let mask = config::read_u32(address, offset).unwrap_or(0);
        if original & 1 == 1 {
            let size = u64::from((!((mask & !0x3) | 0xffff_0000)).wrapping_add(1) & 0xffff);
            let port = (mask & !0x3 != 0)
                .then(|| io.as_mut().and_then(|w| w.take(size.max(4))))
                .flatten();
            let _ = config::write_u32(address, offset, port.map_or(0, |p| p as u32 | 1));
            index += 1;
            continue;
        }
        let is_64bit = (original >> 1) & 0x3 == 0x2 && index < 5;
        let mut full_mask = u64::from(mask & !0xf);
        if is_64bit {
            let _ = config::write_u32(address, offset + 4, u32::MAX);
            let high = config::read_u32(address, offset + 4).unwrap_or(0);
            full_mask |= u64::from(high) << 32;
        } else {
            full_mask |= 0xffff_ffff_0000_0000;
        }
        let base = if mask & !0xf == 0 && !is_64bit {
            None
        } else {
            let size = (!full_mask).wrapping_add(1).max(4096);
            // A 64-bit BAR prefers the high window; a 32-bit one must stay below 4 GiB.
            let high = is_64bit
                .then(|| memory64.as_mut().and_then(|w| w.take(size)))
                .flatten();
            high.or_else(|| memory32.as_mut().and_then(|w| w.take(size)))
        };
        let base = base.unwrap_or(0);
        let _ = config::write_u32(address, offset, base as u32 | (original & 0xf));
        if is_64bit {
            let _ = config::write_u32(address, offset + 4, (base >> 32) as u32);
            index += 2;
        } else {
            index += 1;
        }
    }
    let _ = config::write_u16(address, config::COMMAND, command | decoding);
}
