//! `struct rumpuser_cv`: a sequence-counter condvar, waiting as docs/contract.md §2.5 says.

use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use super::{misuse, RumpuserMtx};
use crate::host::WaitOutcome;
use crate::install::host;
use crate::sched;

/// A rump condition variable (contract §1.13). Mesa semantics; `seq` changes on every signal.
pub struct RumpuserCv {
    seq: AtomicU32,
    waiters: AtomicU32,
}

/// Whether a wait returned because its deadline passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    Signalled,
    TimedOut,
}

impl Default for RumpuserCv {
    fn default() -> Self {
        Self::new()
    }
}

impl RumpuserCv {
    pub const fn new() -> Self {
        RumpuserCv {
            seq: AtomicU32::new(0),
            waiters: AtomicU32::new(0),
        }
    }

    /// Releases `mtx`, sleeps until signalled or `deadline` (monotonic), reacquires `mtx`
    /// without upcalls. The caller holds `mtx`. Loading `seq` while holding `mtx` makes
    /// release-and-sleep atomic with respect to a signaller that takes `mtx` first.
    fn sleep(&self, mtx: &RumpuserMtx, deadline: Option<Duration>) -> Wake {
        let seq = self.seq.load(Ordering::SeqCst);
        mtx.clear_owner();
        mtx.unlock_raw();
        let host = host();
        let mut outcome = WaitOutcome::Woken;
        while self.seq.load(Ordering::SeqCst) == seq {
            outcome = host.wait(&self.seq, seq, deadline);
            if outcome == WaitOutcome::TimedOut {
                break;
            }
        }
        mtx.lock_raw();
        if outcome == WaitOutcome::TimedOut && self.seq.load(Ordering::SeqCst) == seq {
            Wake::TimedOut
        } else {
            Wake::Signalled
        }
    }

    /// `rumpuser_cv_wait` / `rumpuser_cv_timedwait`, the exact protocol of contract §2.5.
    pub fn wait(&self, mtx: &RumpuserMtx, deadline: Option<Duration>) -> Wake {
        let interlock = mtx as *const RumpuserMtx as *mut c_void;
        // (1) Release the vCPU before touching the mutex; in case A librump takes it here.
        let nlocks = sched::backend_unschedule(interlock);
        self.waiters.fetch_add(1, Ordering::SeqCst);
        // (2) Atomically release and sleep, then reacquire.
        let wake = self.sleep(mtx, deadline);
        if mtx.is_spin() && mtx.is_kmutex() {
            // (3a) Kernel spin mutex: vCPU first, then the mutex (case C).
            mtx.unlock_raw();
            sched::backend_schedule(nlocks, interlock);
            mtx.enter_nowrap();
        } else {
            // (3b) Adaptive or SPIN-only: mutex first, then the vCPU (cases B, D, A).
            mtx.set_owner();
            // (4) In case A librump releases the mutex here; it is not touched afterwards.
            sched::backend_schedule(nlocks, interlock);
        }
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        wake
    }

    /// `rumpuser_cv_wait_nowrap`: release, wait, reacquire; no upcalls.
    pub fn wait_nowrap(&self, mtx: &RumpuserMtx) {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let _ = self.sleep(mtx, None);
        mtx.set_owner();
        self.waiters.fetch_sub(1, Ordering::SeqCst);
    }

    /// `rumpuser_cv_signal`: wakes one waiter; never blocks, never upcalls.
    pub fn signal(&self) {
        self.seq.fetch_add(1, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) != 0 {
            host().wake(&self.seq, 1);
        }
    }

    /// `rumpuser_cv_broadcast`: wakes every waiter.
    pub fn broadcast(&self) {
        self.seq.fetch_add(1, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) != 0 {
            host().wake(&self.seq, u32::MAX);
        }
    }

    /// `rumpuser_cv_has_waiters`: the number of waiting threads.
    pub fn waiters(&self) -> u32 {
        self.waiters.load(Ordering::SeqCst)
    }

    /// Debug check of `rumpuser_cv_destroy`: nobody waits.
    pub fn check_destroy(&self) {
        misuse!(
            self.waiters() != 0,
            "rumpuser_cv_destroy: cv {:p} has waiters",
            self
        );
    }
}
