//! ACPI tables through the `acpi` crate: CPUs, I/O APICs and overrides (MADT), HPET, PCI ECAM
//! windows (MCFG) and the FADT's power-management and reset registers.

use alloc::vec::Vec;
use core::ptr::NonNull;

use acpi::madt::{Madt, MadtEntry};
use acpi::mcfg::Mcfg;
use acpi::{AcpiHandler, AcpiTables, HpetInfo, PhysicalMapping};

use crate::mm::mmio::MmioRegion;
use crate::mm::{paging, phys_to_virt};

/// Maps ACPI tables: through the direct map when they are in RAM, else an uncached window.
#[derive(Clone, Copy, Debug)]
pub struct KernelAcpiHandler;

impl AcpiHandler for KernelAcpiHandler {
    unsafe fn map_physical_region<T>(
        &self,
        physical: usize,
        size: usize,
    ) -> PhysicalMapping<Self, T> {
        let first = phys_to_virt(physical as u64);
        let last = phys_to_virt((physical + size.max(1) - 1) as u64);
        let virt = if paging::translate(first).is_some() && paging::translate(last).is_some() {
            first as usize
        } else {
            match MmioRegion::map(physical as u64, size) {
                Ok(region) => {
                    let address = region.virtual_address();
                    core::mem::forget(region); // firmware tables stay mapped
                    address
                }
                Err(error) => panic!("cannot map ACPI table at {physical:#x}: {error}"),
            }
        };
        let pointer =
            NonNull::new(virt as *mut T).expect("mapped ACPI tables are never at address 0");
        // SAFETY: `pointer` maps `size` bytes of the physical region the caller named.
        unsafe { PhysicalMapping::new(physical, pointer, size, size, *self) }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// A CPU listed (enabled or online-capable) in the MADT.
#[derive(Debug, Clone, Copy)]
pub struct CpuEntry {
    pub apic_id: u32,
    pub processor_uid: u32,
}

/// An I/O APIC from the MADT.
#[derive(Debug, Clone, Copy)]
pub struct IoApicEntry {
    pub id: u8,
    pub address: u64,
    pub gsi_base: u32,
}

/// An ISA IRQ remapped by the firmware.
#[derive(Debug, Clone, Copy)]
pub struct Override {
    pub isa_irq: u8,
    pub gsi: u32,
    /// MPS INTI flags: polarity bits 0-1, trigger bits 2-3.
    pub flags: u16,
}

/// A PCI ECAM window from the MCFG.
#[derive(Debug, Clone, Copy)]
pub struct EcamWindow {
    pub base: u64,
    pub segment: u16,
    pub bus_start: u8,
    pub bus_end: u8,
}

/// What the kernel needs from ACPI.
#[derive(Debug, Default)]
pub struct Platform {
    pub local_apic_address: u64,
    pub cpus: Vec<CpuEntry>,
    pub ioapics: Vec<IoApicEntry>,
    pub overrides: Vec<Override>,
    pub hpet_address: Option<u64>,
    pub ecam: Vec<EcamWindow>,
    pub pm1a_control_port: Option<u16>,
    pub reset_port: Option<(u16, u8)>,
    pub oem_id: [u8; 6],
}

/// Why ACPI could not be used.
#[derive(Debug)]
pub enum AcpiError {
    /// No RSDP in the boot information nor in the BIOS area.
    NoRsdp,
    /// The tables are invalid.
    Invalid(acpi::AcpiError),
    /// There is no MADT, so no way to find CPUs and interrupt controllers.
    NoMadt,
}

impl core::fmt::Display for AcpiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AcpiError::NoRsdp => write!(
                f,
                "no ACPI RSDP found (boot information and BIOS area searched)"
            ),
            AcpiError::Invalid(e) => write!(f, "ACPI tables are invalid: {e:?}"),
            AcpiError::NoMadt => write!(
                f,
                "ACPI has no MADT: CPUs and interrupt controllers unknown"
            ),
        }
    }
}

/// Reads the tables. `rsdp` comes from the boot loader when it knows it.
pub fn discover(rsdp: Option<u64>) -> Result<Platform, AcpiError> {
    // SAFETY: the handler maps whatever physical range the crate asks for; the RSDP address is
    // the loader's, and the BIOS-area search only reads firmware memory below 1 MiB.
    let tables = unsafe {
        match rsdp {
            Some(address) => AcpiTables::from_rsdp(KernelAcpiHandler, address as usize),
            None => AcpiTables::search_for_rsdp_bios(KernelAcpiHandler),
        }
    }
    .map_err(|error| match error {
        acpi::AcpiError::NoValidRsdp => AcpiError::NoRsdp,
        other => AcpiError::Invalid(other),
    })?;

    let mut platform = Platform::default();
    let madt = tables.find_table::<Madt>().map_err(|_| AcpiError::NoMadt)?;
    platform.local_apic_address = madt.get().local_apic_address as u64;
    platform.oem_id = madt.get().header.oem_id;
    for entry in madt.get().entries() {
        match entry {
            MadtEntry::LocalApic(cpu) if cpu.flags & 0b11 != 0 => platform.cpus.push(CpuEntry {
                apic_id: cpu.apic_id as u32,
                processor_uid: cpu.processor_id as u32,
            }),
            MadtEntry::LocalX2Apic(cpu) if cpu.flags & 0b11 != 0 => platform.cpus.push(CpuEntry {
                apic_id: cpu.x2apic_id,
                processor_uid: cpu.processor_uid,
            }),
            MadtEntry::IoApic(io) => platform.ioapics.push(IoApicEntry {
                id: io.io_apic_id,
                address: io.io_apic_address as u64,
                gsi_base: io.global_system_interrupt_base,
            }),
            MadtEntry::InterruptSourceOverride(o) if o.bus == 0 => {
                platform.overrides.push(Override {
                    isa_irq: o.irq,
                    gsi: o.global_system_interrupt,
                    flags: o.flags,
                })
            }
            MadtEntry::LocalApicAddressOverride(o) => {
                platform.local_apic_address = o.local_apic_address
            }
            _ => {}
        }
    }
    drop(madt);
    platform.hpet_address = HpetInfo::new(&tables).ok().map(|h| h.base_address as u64);
    if let Ok(mcfg) = tables.find_table::<Mcfg>() {
        for entry in mcfg.get().entries() {
            platform.ecam.push(EcamWindow {
                base: entry.base_address,
                segment: entry.pci_segment_group,
                bus_start: entry.bus_number_start,
                bus_end: entry.bus_number_end,
            });
        }
    }
    if let Ok(fadt) = tables.find_table::<acpi::fadt::Fadt>() {
        if let Ok(block) = fadt.pm1a_control_block() {
            if block.address_space == acpi::address::AddressSpace::SystemIo {
                platform.pm1a_control_port = Some(block.address as u16);
            }
        }
        if let Ok(reset) = fadt.reset_register() {
            if reset.address_space == acpi::address::AddressSpace::SystemIo && reset.address != 0 {
                platform.reset_port = Some((reset.address as u16, fadt.reset_value));
            }
        }
    }
    Ok(platform)
}

impl Platform {
    /// GSI and polarity for an ISA IRQ, honouring the firmware's overrides.
    pub fn isa_irq_route(&self, irq: u8) -> (u32, crate::arch::ioapic::Polarity) {
        use crate::arch::ioapic::{Polarity, ISA_DEFAULT};
        match self.overrides.iter().find(|o| o.isa_irq == irq) {
            None => (irq as u32, ISA_DEFAULT),
            Some(o) => {
                let active_low = o.flags & 0b11 == 0b11;
                let level_triggered = (o.flags >> 2) & 0b11 == 0b11;
                (
                    o.gsi,
                    Polarity {
                        level_triggered,
                        active_low,
                    },
                )
            }
        }
    }
}
