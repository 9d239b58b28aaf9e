//! The scheduling upcall protocol (docs/contract.md §2): giving the rump vCPU back around waits.
//!
//! `rumpuser_init` stores a copy of the rump kernel's upcall table here. Blocking hypercalls
//! use [`Unscheduled`] (contract §2.4's "KLOCK_WRAP"): `hyp_backend_unschedule(0, &n, interlock)`
//! before the wait, `hyp_backend_schedule(n, interlock)` after it. Service threads use
//! [`enter_persistent_lwp`] and [`Scheduled`] (contract §2.9). Nothing here may run in the
//! `_nowrap` calls or for SPIN mutexes; those paths never reach this module.
//!
//! Before `rumpuser_init` (or when a table entry is NULL) the upcalls are skipped, which
//! lets the Rust tests use the locks without a rump kernel.

extern crate alloc;

use alloc::boxed::Box;
use core::ffi::{c_int, c_void};
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::abi::RumpuserHyperup;

static UPCALLS: AtomicPtr<RumpuserHyperup> = AtomicPtr::new(ptr::null_mut());

/// Stores a copy of the upcall table (contract §1.1). A later call replaces it; the old copy is
/// leaked on purpose so that a concurrent reader never sees freed memory.
pub(crate) fn set_upcalls(table: RumpuserHyperup) {
    let copy = Box::into_raw(Box::new(table));
    UPCALLS.store(copy, Ordering::Release);
}

fn upcalls() -> Option<&'static RumpuserHyperup> {
    let table = UPCALLS.load(Ordering::Acquire);
    // SAFETY: non-null values come from `Box::into_raw` in `set_upcalls` and are never freed.
    unsafe { table.as_ref() }
}

/// `hyp_backend_unschedule(0, &n, interlock)`: S -> U. Returns the giant-lock count `n`.
pub(crate) fn backend_unschedule(interlock: *mut c_void) -> c_int {
    let mut nlocks: c_int = 0;
    let _timed = crate::stats::Timed::new(crate::stats::Kind::Unschedule);
    if let Some(f) = upcalls().and_then(|t| t.hyp_backend_unschedule) {
        // SAFETY: the rump kernel's own upcall, called as contract §2.2 specifies: release all
        // (0), a valid out-pointer for the count, and an interlock it compares by address only.
        unsafe { f(0, &mut nlocks, interlock) };
    }
    nlocks
}

/// `hyp_backend_schedule(nlocks, interlock)`: U -> S.
pub(crate) fn backend_schedule(nlocks: c_int, interlock: *mut c_void) {
    let _timed = crate::stats::Timed::new(crate::stats::Kind::Schedule);
    if let Some(f) = upcalls().and_then(|t| t.hyp_backend_schedule) {
        // SAFETY: paired with a preceding `backend_unschedule` on this thread (contract §2.8),
        // whose curlwp is still set, as contract §2.2 requires.
        unsafe { f(nlocks, interlock) };
    }
}

/// The vCPU is released for the lifetime of this value (contract §2.4). Drop reschedules.
#[must_use = "dropping it at once reschedules immediately"]
pub(crate) struct Unscheduled {
    nlocks: c_int,
    interlock: *mut c_void,
}

impl Unscheduled {
    /// Releases the vCPU with no interlock.
    pub(crate) fn new() -> Self {
        Self::with_interlock(ptr::null_mut())
    }

    /// Releases the vCPU; `interlock` is the mutex of a cv wait (contract §2.5 step 1).
    pub(crate) fn with_interlock(interlock: *mut c_void) -> Self {
        Unscheduled {
            nlocks: backend_unschedule(interlock),
            interlock,
        }
    }
}

impl Drop for Unscheduled {
    fn drop(&mut self) {
        backend_schedule(self.nlocks, self.interlock);
    }
}

/// Runs `work` with the vCPU released (the "KLOCK_WRAP" pattern of contract §2.4).
pub(crate) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    let _unscheduled = Unscheduled::new();
    work()
}

/// Gives a host service thread a permanent lwp: `hyp_schedule; hyp_lwproc_newlwp(0);
/// hyp_unschedule` (contract §2.9). The thread is in state U afterwards.
pub(crate) fn enter_persistent_lwp() {
    let Some(table) = upcalls() else { return };
    if let (Some(schedule), Some(newlwp), Some(unschedule)) = (
        table.hyp_schedule,
        table.hyp_lwproc_newlwp,
        table.hyp_unschedule,
    ) {
        // SAFETY: called on a fresh host thread in state N, the sequence contract §2.9 prescribes.
        unsafe {
            schedule();
            let error = newlwp(0);
            assert!(
                error == 0,
                "rumpuser: hyp_lwproc_newlwp(0) failed with {error}"
            );
            unschedule();
        }
    }
}

/// A service thread holds a vCPU (state S) for the lifetime of this value (contract §2.9).
pub(crate) struct Scheduled;

impl Scheduled {
    /// `hyp_backend_schedule(nlocks, NULL)`: 0 for bio completion, 1 for interrupts.
    pub(crate) fn new(nlocks: c_int) -> Self {
        backend_schedule(nlocks, ptr::null_mut());
        Scheduled
    }
}

impl Drop for Scheduled {
    fn drop(&mut self) {
        let _ = backend_unschedule(ptr::null_mut());
    }
}
