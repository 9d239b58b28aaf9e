//! PCI hypercalls for rump drivers: configuration space, uncached MMIO, threaded interrupts
//! (the top half masks the line and wakes rump's dispatcher thread; `irq_done` unmasks) and
//! physically contiguous DMA memory.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::Arc;
use core::ffi::c_void;
use core::ptr::NonNull;

use rumpuser::host::IrqLine;
use rumpuser::Errno;

use crate::mm::dma::{DmaBuffer, DmaLimit};
use crate::mm::mmio::MmioRegion;
use crate::pci::config::{self, Address};
use crate::sync::spin::IrqSpinLock;

/// An interrupt cookie of the rump kernel: its device, and its line once attached.
#[derive(Clone)]
struct Cookie {
    address: Address,
    attached: Option<(u32, crate::pci::irq::Handler)>,
}

impl Cookie {
    fn gsi(&self) -> Option<u32> {
        self.attached.as_ref().map(|(gsi, _)| *gsi)
    }
}

/// cookie → its device and line.
static COOKIES: IrqSpinLock<BTreeMap<u32, Cookie>> =
    IrqSpinLock::new("rump-pci-cookies", BTreeMap::new());
/// Devices a rump driver has taken: it turned on their bus mastering (NetBSD's bus probe writes
/// the configuration space of every function, so a write alone says nothing).
static DRIVEN: IrqSpinLock<BTreeSet<Address>> =
    IrqSpinLock::new("rump-pci-driven", BTreeSet::new());
/// DMA allocations by virtual address: (physical, frames).
static DMA: IrqSpinLock<BTreeMap<usize, (u64, u64)>> =
    IrqSpinLock::new("rump-dma", BTreeMap::new());

fn errno(error: config::PciError) -> Errno {
    log::debug!("rump PCI: {error}");
    Errno::EINVAL
}

pub fn config_read(bus: u32, device: u32, function: u32, register: u32) -> Result<u32, Errno> {
    match config::read_u32_at(bus, device, function, register) {
        Ok(value) => Ok(value),
        Err(config::PciError::NoDevice(_)) => Ok(0xffff_ffff),
        Err(error) => Err(errno(error)),
    }
}

pub fn config_write(
    bus: u32,
    device: u32,
    function: u32,
    register: u32,
    value: u32,
) -> Result<(), Errno> {
    let enables_bus_mastering = register == u32::from(config::COMMAND)
        && value & u32::from(config::COMMAND_BUS_MASTER) != 0;
    if enables_bus_mastering {
        if let Some(address) = Address::new(bus as u8, device as u8, function as u8) {
            DRIVEN.lock().insert(address);
        }
    }
    config::write_u32_at(bus, device, function, register, value).map_err(errno)
}

/// Silences every device the halted rump kernel drove: turns off bus mastering (no more DMA)
/// and INTx in their command registers, and masks their interrupt lines at the I/O APIC unless
/// a native driver shares the line (the rump handler is inert once halted, and the device no
/// longer asserts it). Returns (lines masked, devices stopped).
pub fn quiesce() -> (usize, usize) {
    let mut devices: BTreeSet<Address> = DRIVEN.lock().clone();
    devices.extend(COOKIES.lock().values().map(|c| c.address));
    for &address in &devices {
        let stopped = config::read_u16(address, config::COMMAND).and_then(|command| {
            let quiet = (command & !config::COMMAND_BUS_MASTER) | config::COMMAND_INTX_DISABLE;
            config::write_u16(address, config::COMMAND, quiet)
        });
        if let Err(error) = stopped {
            log::error!("rump halt: cannot stop {address}: {error}");
        }
    }
    let lines: BTreeSet<u32> = COOKIES.lock().values().filter_map(Cookie::gsi).collect();
    let rump_handlers = |gsi: u32| {
        COOKIES
            .lock()
            .values()
            .filter(|c| c.gsi() == Some(gsi))
            .count()
    };
    let mut masked = 0;
    for gsi in lines {
        if crate::pci::irq::intx_handlers(gsi) > rump_handlers(gsi) {
            // Shared with a native driver: masking would starve it.
            let _ = crate::pci::irq::set_intx_masked(gsi, false);
            continue;
        }
        match crate::pci::irq::set_intx_masked(gsi, true) {
            Ok(()) => masked += 1,
            Err(error) => log::error!("rump halt: cannot mask GSI {gsi}: {error}"),
        }
    }
    (masked, devices.len())
}

pub fn map_mmio(physical: u64, length: u64) -> Option<NonNull<c_void>> {
    match MmioRegion::map(physical, length as usize) {
        Ok(region) => {
            let address = region.virtual_address();
            core::mem::forget(region); // rump never unmaps (docs/contract.md §9.5)
            #[cfg(rump_wrap_bus_space_write_2)]
            if registers_of_qemu_hda(physical) {
                super::qemu_hda::register(address);
            }
            NonNull::new(address as *mut c_void)
        }
        Err(error) => {
            log::error!("rump PCI: cannot map BAR at {physical:#x} (+{length:#x}): {error}");
            None
        }
    }
}

/// Whether `physical` is the register BAR of QEMU's HD Audio controller.
#[cfg(rump_wrap_bus_space_write_2)]
fn registers_of_qemu_hda(physical: u64) -> bool {
    crate::pci::devices().iter().any(|device| {
        matches!(device.bars[0], Some(crate::pci::Bar::Memory { address, .. }) if address == physical)
            && super::qemu_hda::is_qemu_hda(device)
    })
}

pub fn irq_map(bus: u32, device: u32, function: u32, _line: i32, cookie: u32) -> Result<(), Errno> {
    let address = Address::new(bus as u8, device as u8, function as u8).ok_or(Errno::EINVAL)?;
    if bus > 255 || device > 31 || function > 7 {
        return Err(Errno::EINVAL);
    }
    COOKIES.lock().insert(
        cookie,
        Cookie {
            address,
            attached: None,
        },
    );
    Ok(())
}

pub fn irq_attach(cookie: u32, line: &'static IrqLine) -> Result<(), Errno> {
    let address = COOKIES
        .lock()
        .get(&cookie)
        .map(|c| c.address)
        .ok_or(Errno::ENXIO)?;
    let device = crate::pci::device_at(address).ok_or(Errno::ENXIO)?;
    let route = crate::pci::irq::intx_route(device).map_err(|_| Errno::ENXIO)?;
    let gsi = route.gsi;
    let handler: crate::pci::irq::Handler = Arc::new(move || {
        // A halted rump kernel has silenced its device: the line fired for a native one.
        if super::halt::is_halted() {
            return;
        }
        // Top half: mask the level-triggered line (the device keeps asserting it until rump's
        // handler acknowledges it), then let the dispatcher thread run the handlers.
        let _ = crate::pci::irq::set_intx_masked(gsi, true);
        line.raise();
    });
    crate::pci::irq::attach_intx(device, Arc::clone(&handler)).map_err(|_| Errno::ENXIO)?;
    if let Some(entry) = COOKIES.lock().get_mut(&cookie) {
        entry.attached = Some((gsi, handler));
    }
    Ok(())
}

pub fn irq_done(cookie: u32) {
    if super::halt::is_halted() {
        return; // the line stays masked
    }
    if let Some(gsi) = COOKIES.lock().get(&cookie).and_then(Cookie::gsi) {
        let _ = crate::pci::irq::set_intx_masked(gsi, false);
    }
}

/// The rump driver gave its interrupt up: the top half leaves the chain. The line is
/// unmasked again unless no handler is left on it (the top half may have masked it just
/// before), so a native driver sharing it keeps its interrupts.
pub fn irq_detach(cookie: u32) {
    let Some(entry) = COOKIES.lock().remove(&cookie) else {
        return;
    };
    if let Some((gsi, handler)) = entry.attached {
        crate::pci::irq::detach_intx(gsi, &handler);
        if crate::pci::irq::intx_handlers(gsi) > 0 {
            let _ = crate::pci::irq::set_intx_masked(gsi, false);
        }
    }
}

pub fn dma_alloc(size: usize, align: usize) -> Result<(u64, NonNull<u8>), Errno> {
    let buffer = DmaBuffer::allocate(size, align.max(4096), DmaLimit::Below4GiB)
        .map_err(|_| Errno::ENOMEM)?;
    let virt = buffer.virtual_address();
    let (physical, frames) = buffer.into_raw();
    DMA.lock().insert(virt as usize, (physical, frames));
    Ok((physical, NonNull::new(virt).ok_or(Errno::ENOMEM)?))
}

pub fn dma_free(virt: NonNull<u8>, _size: usize) {
    match DMA.lock().remove(&(virt.as_ptr() as usize)) {
        Some((physical, frames)) => crate::mm::frames::free(physical, frames),
        None => log::error!("rump PCI: dmafree of {virt:p}, which dmalloc did not hand out"),
    }
}
