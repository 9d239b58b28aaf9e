//! The two calls NetBSD's rump PCI glue leaves unimplemented, so that a driver whose attach
//! fails does not panic the rump kernel.
//!
//! `librumpdev_pci` answers `pci_intr_disestablish` and `bus_space_unmap` (of memory space)
//! with `panic("unimplemented")`. A PCI driver calls both when its attach fails after it
//! established its interrupt — NetBSD's `hdaudio` does on a controller without codecs — so
//! one missing codec would stop every rump driver. The kernel links the components with
//! `--wrap` for both (kernel/build.rs, when the set defines them) and implements them here:
//!
//! - `pci_intr_disestablish(pc, handle)`: `handle` is what `rumpcomp_pci_irq_establish`
//!   returned; `rumpuser::pci::irq_disestablish` retires that line (waits out a running
//!   handler, never calls it again) and the host takes it off the interrupt chain.
//! - `bus_space_unmap(tag, handle, size)`: I/O space needs nothing; a memory mapping is kept,
//!   as every `rumpcomp_pci_map` mapping is (docs/contract.md §9.5), so a stray access after the
//!   unmap reads the device instead of faulting the kernel.

use core::ffi::{c_ulong, c_void};

/// `void pci_intr_disestablish(pci_chipset_tag_t pc, void *ih)`, as NetBSD's drivers see it.
///
/// # Safety
/// Called by the rump kernel in state S, with the handle `pci_intr_establish` returned.
#[no_mangle]
pub unsafe extern "C" fn __wrap_rumpns_pci_intr_disestablish(
    _chipset: *mut c_void,
    handle: *mut c_void,
) {
    // SAFETY: state S, per the caller's contract; the handle is checked against the lines
    // rumpuser established.
    if let Err(error) = unsafe { rumpuser::pci::irq_disestablish(handle) } {
        log::error!("rump PCI: pci_intr_disestablish({handle:p}): {error:?}; nothing done");
    }
}

/// `void bus_space_unmap(bus_space_tag_t tag, bus_space_handle_t handle, bus_size_t size)`;
/// in rump all three are `unsigned long`, and tag 0 is I/O space.
#[no_mangle]
pub extern "C" fn __wrap_rumpns_bus_space_unmap(tag: c_ulong, handle: c_ulong, size: c_ulong) {
    if tag != 0 {
        log::debug!("rump PCI: bus_space_unmap({handle:#x}, {size:#x}): mapping kept");
    }
}
