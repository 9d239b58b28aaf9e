//! PCI: configuration space, bus enumeration, BARs, capabilities and device interrupts.
//!
//! [`init`] picks the configuration mechanism (ECAM from the MCFG, else ports 0xCF8/0xCFC), scans
//! every bus reachable from bus 0 through bridges, and records each function with its decoded
//! BARs, INTx pin and line, and capability list. The list never changes after boot (no hot-plug)
//! and is read through [`devices`] and [`find`]. Drivers then use [`irq`] for interrupts and
//! [`bar::BarRegion`] for registers. This module assigns no resources: it uses what the firmware
//! (SeaBIOS under QEMU) programmed, and adds only what PC firmware does and SeaBIOS does not
//! (`handoff.rs`: HD Audio controllers leave reset).
//!
//! On aarch64 nothing programs the BARs before the kernel, so `assign` gives them addresses from
//! the host bridge's windows first.
//!
//! May import: `arch`, `boot`, `console`, `firmware`, `mm`, `sync`, `time`.

#[cfg(target_arch = "aarch64")]
#[deny(unsafe_code)]
mod assign;
pub mod bar;
#[deny(unsafe_code)]
pub mod capability;
#[deny(unsafe_code)]
pub mod config;
#[deny(unsafe_code)]
mod handoff;
#[deny(unsafe_code)]
pub mod irq;
#[deny(unsafe_code)]
pub mod names;

use alloc::vec::Vec;

use spin::Once;

pub use bar::Bar;
pub use capability::Capability;
pub use config::{Address, Mechanism, PciError};

/// One PCI function as found at boot.
#[derive(Debug, Clone)]
pub struct Device {
    pub address: Address,
    pub vendor_id: u16,
    pub device_id: u16,
    pub class: u8,
    pub subclass: u8,
    pub prog_if: u8,
    pub revision: u8,
    /// Header layout: 0 device, 1 PCI-PCI bridge, 2 CardBus bridge.
    pub header_type: u8,
    /// Decoded BARs (a 64-bit BAR leaves the following slot `None`).
    pub bars: [Option<Bar>; 6],
    /// INTx pin: 0 none, 1..=4 INTA#..INTD#.
    pub interrupt_pin: u8,
    /// Interrupt line the firmware wrote (0xff: none).
    pub interrupt_line: u8,
    pub capabilities: Vec<Capability>,
    /// For bridges: the bus behind it.
    pub secondary_bus: Option<u8>,
}

impl Device {
    /// The first capability with `id`.
    pub fn capability(&self, id: u8) -> Option<Capability> {
        self.capabilities.iter().find(|c| c.id == id).copied()
    }

    /// All capabilities with `id` (virtio has several vendor-specific ones).
    pub fn capabilities_with(&self, id: u8) -> impl Iterator<Item = &Capability> {
        self.capabilities.iter().filter(move |c| c.id == id)
    }

    /// Device name from the table, or the class name.
    pub fn name(&self) -> &'static str {
        names::device(self.vendor_id, self.device_id)
            .unwrap_or_else(|| names::class(self.class, self.subclass))
    }
}

static DEVICES: Once<Vec<Device>> = Once::new();

/// Every function found at boot, in bus/device/function order (empty before [`init`]).
pub fn devices() -> &'static [Device] {
    DEVICES.get().map(Vec::as_slice).unwrap_or(&[])
}

/// The functions matching a vendor and one of several device IDs.
pub fn find(vendor_id: u16, device_ids: &[u16]) -> impl Iterator<Item = &'static Device> + '_ {
    devices()
        .iter()
        .filter(move |d| d.vendor_id == vendor_id && device_ids.contains(&d.device_id))
}

/// The function at `address`, if one was found.
pub fn device_at(address: Address) -> Option<&'static Device> {
    devices().iter().find(|d| d.address == address)
}

/// Chooses the configuration mechanism and enumerates all buses. Call once, after the I/O APIC
/// is set up (drivers attach interrupts right after) and before any driver.
#[cfg(target_arch = "x86_64")]
pub fn init(platform: &crate::firmware::acpi::Platform) {
    let mechanism = config::init(&platform.ecam);
    let roots: Vec<u8> = match mechanism {
        Mechanism::Ecam => platform
            .ecam
            .iter()
            .filter(|w| w.segment == 0)
            .map(|w| w.bus_start)
            .collect(),
        Mechanism::Legacy => alloc::vec![0],
    };
    enumerate(mechanism, roots);
}

/// Reaches configuration space through the ECAM window the device tree names, assigns BARs
/// and INTx lines (no firmware did: QEMU's `-kernel` boot leaves that to the kernel), then
/// enumerates. Call once, after the GIC is up and before any driver.
#[cfg(target_arch = "aarch64")]
pub fn init(host: Option<&crate::boot::devicetree::PciHost>) {
    let Some(host) = host else {
        log::info!("no PCI host bridge in the device tree");
        DEVICES.call_once(Vec::new);
        return;
    };
    let mechanism = config::init(&[config::EcamWindow {
        base: host.ecam.0,
        segment: 0,
        bus_start: host.buses.0,
        bus_end: host.buses.1,
    }]);
    assign::assign_bus(host, host.buses.0);
    enumerate(mechanism, alloc::vec![host.buses.0]);
}

fn enumerate(mechanism: Mechanism, roots: Vec<u8>) {
    let mut found = Vec::new();
    let mut visited = [false; 256];
    for root in roots {
        scan_bus(root, &mut visited, &mut found);
    }
    found.sort_by_key(|d| d.address);
    log::info!(
        "{} functions on {} buses through {}",
        found.len(),
        visited.iter().filter(|v| **v).count(),
        match mechanism {
            Mechanism::Ecam => "ECAM",
            Mechanism::Legacy => "ports 0xCF8/0xCFC",
        }
    );
    handoff::run(&found);
    DEVICES.call_once(|| found);
}

fn scan_bus(bus: u8, visited: &mut [bool; 256], found: &mut Vec<Device>) {
    if core::mem::replace(&mut visited[bus as usize], true) {
        log::warn!("bus {bus:#x} reached twice; bridge numbering is inconsistent");
        return;
    }
    for device in 0..32 {
        let Some(first) = Address::new(bus, device, 0) else {
            continue;
        };
        if !present(first) {
            continue;
        }
        let multifunction = config::read_u8(first, config::HEADER_TYPE).unwrap_or(0) & 0x80 != 0;
        for function in 0..if multifunction { 8 } else { 1 } {
            let Some(address) = Address::new(bus, device, function) else {
                continue;
            };
            if !present(address) {
                continue;
            }
            match probe(address) {
                Ok(entry) => {
                    let behind = entry.secondary_bus;
                    found.push(entry);
                    if let Some(secondary) = behind.filter(|s| *s > bus) {
                        scan_bus(secondary, visited, found);
                    }
                }
                Err(error) => log::warn!("{address} skipped: {error}"),
            }
        }
    }
}

fn present(address: Address) -> bool {
    matches!(config::read_u16(address, config::VENDOR_ID), Ok(v) if v != 0xffff)
}

fn probe(address: Address) -> Result<Device, PciError> {
    let ids = config::read_u32(address, config::VENDOR_ID)?;
    let class = config::read_u32(address, config::CLASS_REVISION)?;
    let header_type = config::read_u8(address, config::HEADER_TYPE)? & 0x7f;
    let bar_count = match header_type {
        0 => 6,
        1 => 2,
        _ => 0,
    };
    let bars = bar::probe_all(address, bar_count)?;
    let secondary_bus = if header_type == 1 {
        Some(config::read_u8(address, config::SECONDARY_BUS)?)
    } else {
        None
    };
    Ok(Device {
        address,
        vendor_id: ids as u16,
        device_id: (ids >> 16) as u16,
        class: (class >> 24) as u8,
        subclass: (class >> 16) as u8,
        prog_if: (class >> 8) as u8,
        revision: class as u8,
        header_type,
        bars,
        interrupt_pin: config::read_u8(address, config::INTERRUPT_PIN)?,
        interrupt_line: config::read_u8(address, config::INTERRUPT_LINE)?,
        capabilities: capability::walk(address)?,
        secondary_bus,
    })
}
