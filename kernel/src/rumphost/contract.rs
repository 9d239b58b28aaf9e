//! The rumpuser contract suite (the same C sources `cargo test` runs on the host) inside the
//! kernel, on kernel threads and CPUs: `test=rump_contract`. This file supplies the suite's
//! platform interface (`contract_platform.h`).

use alloc::string::String;
use core::ffi::{c_char, c_int, c_void};

use crate::{check, kernel_test};

const SCRATCH: &core::ffi::CStr = c"/tmp/contract";

extern "C" {
    fn contract_main() -> c_int;
}

#[no_mangle]
extern "C" fn cp_write(text: *const c_char, length: usize) {
    // SAFETY: the suite passes a buffer of `length` bytes.
    let bytes = unsafe { core::slice::from_raw_parts(text.cast::<u8>(), length) };
    crate::print!("{}", String::from_utf8_lossy(bytes));
}

#[no_mangle]
extern "C" fn cp_scratch_dir() -> *const c_char {
    let _ = super::files::make_ram_directory("/tmp/contract");
    SCRATCH.as_ptr()
}

#[no_mangle]
extern "C" fn cp_cleanup() {
    super::files::remove_ram_tree("/tmp/contract");
}

/// Mirrors `struct cp_status`.
#[repr(C)]
pub struct Status {
    exited: c_int,
    code: c_int,
    signaled: c_int,
    signal: c_int,
}

#[no_mangle]
extern "C" fn cp_run_isolated(
    _function: Option<extern "C" fn(*mut c_void)>,
    _argument: *mut c_void,
    _status: *mut Status,
) -> c_int {
    -1 // one address space: the exit/kill checks report themselves as skipped
}

fn run_contract_suite() -> Result<(), String> {
    if rumpuser::installed().is_none() {
        super::install();
    }
    // SAFETY: the suite's entry point takes no arguments and only calls hypercalls and the
    // platform functions above.
    let failed = unsafe { contract_main() };
    check!(failed == 0, "{failed} contract checks failed");
    Ok(())
}
kernel_test!(rump_contract, run_contract_suite);
