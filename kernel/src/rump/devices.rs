//! `rump devices`: what NetBSD's autoconf attached, each device with its parent (`usb0 at
//! ehci0`), in attach order. Read straight from autoconf's device list with its iterator
//! (`deviter_*`, librumpdev) on a rump CPU, as the rump kernel's own code would: the sets this
//! kernel is verified with carry no drvctl(4), the user-space interface to the same list.
//! Only built with components that include librumpdev.

use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::{c_void, CStr};

use crate::println;

use rump_api::*;

/// A device's name (`sd0`).
///
/// # Safety
/// `device` is a live `device_t` and the caller holds a rump CPU.
unsafe fn name(device: *mut c_void) -> String {
    // SAFETY: per the caller, `device` is live; device_xname returns its NUL-terminated name,
    // which lives as long as the device.
    unsafe { CStr::from_ptr(rumpns_device_xname(device)) }
        .to_string_lossy()
        .into_owned()
}

/// Every attached device and its parent's name (None for a root).
pub fn attached() -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    let mut iterator = DevIter::default();
    // SAFETY: rump_schedule gives this thread a rump CPU (and an implicit lwp) until
    // rump_unschedule; the iterator is NetBSD's own, lent for the walk and released after it,
    // and it keeps every device it returns on the list (detaches wait for readers) until
    // released; nothing in between blocks on a native lock a rump thread could hold.
    unsafe {
        rump_schedule();
        let mut device = rumpns_deviter_first(&mut iterator, 0);
        while !device.is_null() {
            let parent = rumpns_device_parent(device);
            let parent = (!parent.is_null()).then(|| name(parent));
            found.push((name(device), parent));
            device = rumpns_deviter_next(&mut iterator);
        }
        rumpns_deviter_release(&mut iterator);
        rump_unschedule();
    }
    found
}

/// `rump devices`: `NAME at PARENT` a line, roots as `NAME (root)`.
pub fn list() -> Result<(), String> {
    for (device, parent) in attached() {
        match parent {
            Some(parent) => println!("{device} at {parent}"),
            None => println!("{device} (root)"),
        }
    }
    Ok(())
}
