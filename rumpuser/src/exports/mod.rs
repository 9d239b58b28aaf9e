//! The exported C functions: one short shim per hypercall of `include/rumpuser.h`.
//!
//! Each shim has the C prototype in its doc comment, turns raw pointers into references or
//! slices at once, calls safe logic returning `Result<T, Errno>`, and converts with
//! `errno::c_return`. The signatures are asserted against the header in `abi_table`.

pub mod file;
pub mod pci;
pub mod stubs;
pub mod sync;
pub mod system;
pub mod thread;

use core::ffi::{c_char, CStr};
use core::time::Duration;

/// Borrows a C string argument; NULL becomes `None`.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn c_str<'a>(ptr: *const c_char) -> Option<&'a CStr> {
    if ptr.is_null() {
        None
    } else {
        // SAFETY: non-null and NUL-terminated per the caller's contract.
        Some(unsafe { CStr::from_ptr(ptr) })
    }
}

/// A (sec, nsec) pair as a duration; negative parts count as zero, excess nsec carries.
pub(crate) fn duration(sec: i64, nsec: i64) -> Duration {
    let sec = u64::try_from(sec).unwrap_or(0);
    let nsec = u64::try_from(nsec).unwrap_or(0);
    Duration::from_secs(sec).saturating_add(Duration::from_nanos(nsec))
}
