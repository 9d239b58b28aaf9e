//! Rump test support: runs the C contract suite against the hosted rumpuser backend.
//!
//! The suite in `contract/` plays the rump kernel (docs/contract.md §2, §3, §5 ...) and prints
//! one `ok NAME` / `FAIL NAME: WHY` line per check. [`run_contract`] runs it in this process;
//! `tests/contract.rs` turns failures into a failing `cargo test`.

use core::ffi::c_int;

// The hypercall exports live in `rumpuser`; this keeps its rlib (and symbols) in the link.
pub use rumpuser;

extern "C" {
    fn contract_main() -> c_int;
}

/// Runs every contract check once; returns the number of failed checks.
pub fn run_contract() -> u32 {
    // The suite calls `rumpuser_init` itself; make sure the hosted host is the one in use.
    let _ = rumpuser::install(rumpuser::hosted::HostedHost::global());
    // SAFETY: `contract_main` is the suite's entry point; it takes no arguments, uses only the
    // rumpuser exports and the POSIX platform file, and is not run concurrently with itself
    // (callers run it once per process).
    let failed = unsafe { contract_main() };
    u32::try_from(failed).unwrap_or(u32::MAX)
}
