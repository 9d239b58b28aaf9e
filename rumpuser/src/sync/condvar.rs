//! `struct rumpuser_cv`: a sequence-counter condvar, waiting as docs/contract.md §2.5 says.

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use core::time::Duration;

use super::{misuse, RumpuserMtx};
use crate::host::WaitOutcome;
use crate::sched;

/// A rump condition variable (contract §1.13). Mesa semantics; `seq` changes on every signal.
///
/// Two things keep a hand-over cheap (a thread signals, unlocks, and the waiter takes the
/// mutex and runs):
/// - A signal makes the host's wake-up call only when a waiter sleeps, or is about to
///   (`sleepers`): a waiter that has not gone to sleep yet sees `seq` change and does not
///   sleep, so waking it would be a wasted system call.
/// - **Wait morphing.** A waiter woken while the signaller still holds the mutex would only
///   find it held and sleep again on it: two more context switches per hand-over. So a
///   signaller that holds the (KMUTEX) mutex every parked waiter slept with moves one sleeper
///   onto that mutex instead ([`Host::requeue`](crate::Host::requeue)); the signaller's unlock
///   wakes it, once the mutex is free.
pub struct RumpuserCv {
    seq: AtomicU32,
    waiters: AtomicU32,
    /// Waiters asleep in the host (or about to be).
    sleepers: AtomicU32,
    /// Guards `parked`, a short spin lock never held across a wait or an upcall.
    guard: AtomicBool,
    parked: UnsafeCell<Parked>,
}

/// The waiters between releasing their mutex and taking it back, and the mutex they share.
struct Parked {
    count: u32,
    /// The mutex of every parked waiter; null when none is parked or they differ. Each parked
    /// waiter takes its mutex back before it leaves, and leaving needs the guard, so while
    /// the guard is held and `count` is non-zero the mutex is alive (destroying a mutex that
    /// a cv waiter will take back is misuse).
    mutex: *const RumpuserMtx,
    /// Parked waiters used different mutexes (no morphing until none is parked).
    mixed: bool,
}

// SAFETY: `parked` is only touched with `guard` held; the mutex pointer in it is only
// dereferenced under the guard, while a parked waiter keeps that mutex alive.
unsafe impl Sync for RumpuserCv {}
// SAFETY: as above; nothing in a cv is tied to the thread that made it.
unsafe impl Send for RumpuserCv {}

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
            sleepers: AtomicU32::new(0),
            guard: AtomicBool::new(false),
            parked: UnsafeCell::new(Parked {
                count: 0,
                mutex: ptr::null(),
                mixed: false,
            }),
        }
    }

    /// Runs `work` on the parked-waiter record, under the guard.
    fn with_parked<T>(&self, work: impl FnOnce(&mut Parked) -> T) -> T {
        while self
            .guard
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        // SAFETY: the guard is held, so this is the only reference to the record.
        let result = work(unsafe { &mut *self.parked.get() });
        self.guard.store(false, Ordering::Release);
        result
    }

    /// Releases `mtx`, sleeps until signalled or `deadline` (monotonic), reacquires `mtx`
    /// without upcalls. The caller holds `mtx`. Loading `seq` while holding `mtx` makes
    /// release-and-sleep atomic with respect to a signaller that takes `mtx` first.
    fn sleep(&self, mtx: &RumpuserMtx, deadline: Option<Duration>) -> Wake {
        let seq = self.seq.load(Ordering::SeqCst);
        let mine = mtx as *const RumpuserMtx;
        self.with_parked(|parked| {
            if parked.count == 0 {
                parked.mutex = mine;
                parked.mixed = false;
            } else if parked.mutex != mine {
                parked.mixed = true;
            }
            parked.count += 1;
        });
        mtx.clear_owner();
        mtx.unlock_raw();
        let mut outcome = WaitOutcome::Woken;
        while self.seq.load(Ordering::SeqCst) == seq {
            // Counted before the last look at `seq`: a signaller that misses the count has
            // already changed `seq`, and the host's wait returns at once.
            self.sleepers.fetch_add(1, Ordering::SeqCst);
            if self.seq.load(Ordering::SeqCst) == seq {
                outcome = crate::stats::wait(crate::stats::Kind::CvSleep, &self.seq, seq, deadline);
            }
            self.sleepers.fetch_sub(1, Ordering::SeqCst);
            if outcome == WaitOutcome::TimedOut {
                break;
            }
        }
        // Perhaps moved onto the mutex by the signaller: others may sleep there too.
        mtx.lock_as_sleeper();
        self.with_parked(|parked| {
            parked.count -= 1;
            if parked.count == 0 {
                parked.mutex = ptr::null();
            }
        });
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
        let seq = self.seq.fetch_add(1, Ordering::SeqCst).wrapping_add(1);
        if self.sleepers.load(Ordering::SeqCst) == 0 {
            return;
        }
        let morphed = self.with_parked(|parked| {
            if parked.count == 0 || parked.mixed || parked.mutex.is_null() {
                return false;
            }
            // SAFETY: a parked waiter keeps this mutex alive and cannot leave while the guard
            // is held (see `Parked::mutex`).
            let mutex = unsafe { &*parked.mutex };
            mutex.held_by_caller() && mutex.take_waiter(&self.seq, seq)
        });
        if !morphed {
            crate::stats::wake(crate::stats::Kind::CvWake, &self.seq, 1);
        }
    }

    /// `rumpuser_cv_broadcast`: wakes every waiter.
    pub fn broadcast(&self) {
        self.seq.fetch_add(1, Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) != 0 {
            crate::stats::wake(crate::stats::Kind::CvWake, &self.seq, u32::MAX);
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
