//! A host-side mend that lets NetBSD's `hdaudio` talk to QEMU's emulated HD Audio controller.
//!
//! The HDA specification (1.0a, section 3.3.27) reads a response interrupt count (RINTCNT) of 0
//! as 256 responses and never stops the command ring (CORB) for it. QEMU's `intel-hda` takes 0
//! literally and stops sending commands whenever its response counter equals RINTCNT, until the
//! driver acknowledges the response interrupt flag (RIRBSTS.RINTFL). NetBSD's `hdaudio` (the
//! 2016 driver in the components) never writes RINTCNT and, while it attaches, polls the
//! response ring with controller interrupts off, so nobody acknowledges the flag: its first
//! command already gets no answer ("RIRB timeout") and no codec attaches.
//!
//! The kernel links the components with `--wrap=rumpns_bus_space_write_2` (kernel/build.rs,
//! only when the set contains `hdaudio`), so the driver's 16-bit register writes reach
//! [`__wrap_rumpns_bus_space_write_2`]. For the register mappings of QEMU's controller only
//! (Red Hat's subsystem vendor, [`is_qemu_hda`]), before a new command is posted (a CORBWP
//! write) it gives QEMU what a spec-following driver would have: RINTCNT = 255 (QEMU's largest)
//! when the driver left it at 0, and, while controller interrupts are off, an acknowledged
//! RINTFL. With interrupts on, NetBSD's interrupt handler acknowledges it itself. Every other
//! write, and every write to other devices, goes straight through.

use core::ffi::c_ulong;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::pci::Device;

/// Interrupt control (HDA 1.0a section 3.3.14): global and controller interrupt enables.
const INTCTL: usize = 0x20;
const INTCTL_GIE: u32 = 1 << 31;
const INTCTL_CIE: u32 = 1 << 30;
/// CORB write pointer (section 3.3.19): a write posts new commands.
const CORBWP: c_ulong = 0x48;
/// Response interrupt count (section 3.3.27).
const RINTCNT: usize = 0x5a;
/// RIRB status (section 3.3.29): response interrupt flag, write 1 to clear.
const RIRBSTS: usize = 0x5d;
const RIRBSTS_RINTFL: u8 = 1 << 0;

/// Red Hat / Qumranet: the subsystem vendor of QEMU's emulated PCI devices.
const QEMU_SUBSYSTEM_VENDOR: u16 = 0x1af4;
const SUBSYSTEM_VENDOR_ID: u16 = 0x2c;

/// Register mappings (virtual addresses) of QEMU HDA controllers; 0 is a free slot.
static MAPPINGS: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

/// Whether `device` is QEMU's emulated HD Audio controller.
pub fn is_qemu_hda(device: &Device) -> bool {
    device.class == 0x04
        && device.subclass == 0x03
        && crate::pci::config::read_u16(device.address, SUBSYSTEM_VENDOR_ID)
            .is_ok_and(|vendor| vendor == QEMU_SUBSYSTEM_VENDOR)
}

/// Records the mapping of such a controller's registers (from `rumpcomp_pci_map`).
pub fn register(virtual_address: usize) {
    for slot in &MAPPINGS {
        if slot
            .compare_exchange(0, virtual_address, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return;
        }
    }
    log::warn!("rump PCI: more than 4 QEMU HD Audio controllers; the extra ones are not mended");
}

fn is_registered(handle: usize) -> bool {
    MAPPINGS
        .iter()
        .any(|slot| slot.load(Ordering::Acquire) == handle)
}

extern "C" {
    /// NetBSD's `bus_space_write_2(bus_space_tag_t, bus_space_handle_t, bus_size_t, uint16_t)`
    /// of the rump PCI glue (the name `--wrap` gives it); in rump all three are `unsigned long`.
    fn __real_rumpns_bus_space_write_2(tag: c_ulong, handle: c_ulong, offset: c_ulong, value: u16);
}

/// `void bus_space_write_2(bus_space_tag_t, bus_space_handle_t, bus_size_t, uint16_t)`, as the
/// rump kernel's drivers see it.
///
/// # Safety
/// As NetBSD's: `handle + offset` is a register the caller mapped with `bus_space_map`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_rumpns_bus_space_write_2(
    tag: c_ulong,
    handle: c_ulong,
    offset: c_ulong,
    value: u16,
) {
    // Tag 0 is I/O space; memory handles are the addresses `rumpcomp_pci_map` returned.
    if tag != 0 && offset == CORBWP && is_registered(handle as usize) {
        // SAFETY: `handle` is a live register mapping of a QEMU HDA controller (registered
        // from `rumpcomp_pci_map`, never unmapped), at least 0x80 bytes long.
        unsafe { before_command(handle as usize) };
    }
    // SAFETY: the caller's own write, forwarded unchanged.
    unsafe { __real_rumpns_bus_space_write_2(tag, handle, offset, value) }
}

/// # Safety
/// `registers` is the mapped register block of an HDA controller.
unsafe fn before_command(registers: usize) {
    // SAFETY: (for each access) aligned registers inside the controller's mapping; volatile
    // because they are device registers.
    unsafe {
        let count = (registers + RINTCNT) as *mut u16;
        if count.read_volatile() & 0xff == 0 {
            count.write_volatile(0xff);
        }
        let control = ((registers + INTCTL) as *const u32).read_volatile();
        let interrupts_on = control & (INTCTL_GIE | INTCTL_CIE) == INTCTL_GIE | INTCTL_CIE;
        let status = (registers + RIRBSTS) as *mut u8;
        if !interrupts_on && status.read_volatile() & RIRBSTS_RINTFL != 0 {
            status.write_volatile(RIRBSTS_RINTFL);
        }
    }
}
