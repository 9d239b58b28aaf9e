//! `struct rumpuser_mtx`: a futex mutex with owner tracking, entered per docs/contract.md §2.4.

use core::ffi::{c_int, c_void};
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use crossbeam_utils::Backoff;

use super::misuse;
use crate::abi::{RUMPUSER_MTX_KMUTEX, RUMPUSER_MTX_SPIN};
use crate::errno::Errno;
use crate::install::host;
use crate::sched;

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
const CONTENDED: u32 = 2;

/// Back-off steps of a contended acquire before it sleeps (1 to 64 pauses a step).
const SPIN_STEPS: u32 = 7;

/// A rump mutex (contract §1.11). `flags` are the `RUMPUSER_MTX_*` bits given at init.
///
/// `state` is the futex word: unlocked, locked, or locked with possible sleepers
/// ("contended": the unlock wakes one). A thread that slept on it — here, or in a condition
/// variable whose signaller moved it onto this word (wait morphing) — takes the
/// lock as "contended", since others may still sleep.
pub struct RumpuserMtx {
    state: AtomicU32,
    flags: c_int,
    owner: AtomicPtr<c_void>,
}

impl RumpuserMtx {
    /// A new unlocked mutex.
    pub const fn new(flags: c_int) -> Self {
        RumpuserMtx {
            state: AtomicU32::new(UNLOCKED),
            flags,
            owner: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// `RUMPUSER_MTX_SPIN`: acquiring never releases the vCPU.
    pub fn is_spin(&self) -> bool {
        self.flags & RUMPUSER_MTX_SPIN != 0
    }

    /// `RUMPUSER_MTX_KMUTEX`: the owner lwp is tracked.
    pub fn is_kmutex(&self) -> bool {
        self.flags & RUMPUSER_MTX_KMUTEX != 0
    }

    /// Whether anyone holds the mutex.
    pub fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) != UNLOCKED
    }

    /// Acquires without blocking; no owner bookkeeping, no upcalls.
    pub fn try_lock_raw(&self) -> bool {
        self.state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Acquires, blocking the host thread if needed; no owner bookkeeping, no upcalls.
    pub fn lock_raw(&self) {
        if !self.try_lock_raw() {
            self.lock_contended();
        }
    }

    #[cold]
    fn lock_contended(&self) {
        // The holder usually lets go within microseconds: spin with exponential back-off
        // (127 pauses in all) before sleeping.
        let _timed = crate::stats::Timed::new(crate::stats::Kind::MutexSpin);
        let backoff = Backoff::new();
        for _ in 0..SPIN_STEPS {
            if self.state.load(Ordering::Relaxed) == UNLOCKED && self.try_lock_raw() {
                crate::stats::count(crate::stats::Kind::MutexSpinWon);
                return;
            }
            backoff.spin();
        }
        self.lock_as_sleeper();
    }

    /// Acquires the way a thread that may have slept on the mutex must: marking it contended,
    /// so that its unlock wakes whoever else sleeps there.
    pub(crate) fn lock_as_sleeper(&self) {
        while self.state.swap(CONTENDED, Ordering::Acquire) != UNLOCKED {
            crate::stats::wait(crate::stats::Kind::MutexSleep, &self.state, CONTENDED, None);
        }
    }

    /// Releases; wakes one sleeper if there may be any. No owner bookkeeping, no upcalls.
    pub fn unlock_raw(&self) {
        if self.state.swap(UNLOCKED, Ordering::Release) == CONTENDED {
            crate::stats::wake(crate::stats::Kind::MutexWake, &self.state, 1);
        }
    }

    /// Moves one thread sleeping on `word` (which must still hold `expected`) to sleep on
    /// this mutex, so that the caller's unlock wakes it (wait morphing). The caller holds the
    /// mutex. False when the host cannot move sleepers or `word` changed meanwhile: the caller
    /// then wakes the thread itself.
    pub(crate) fn take_waiter(&self, word: &AtomicU32, expected: u32) -> bool {
        // The unlock must wake the moved thread.
        self.state.store(CONTENDED, Ordering::SeqCst);
        host().requeue(word, expected, &self.state)
    }

    /// Whether the calling thread holds this mutex (known for KMUTEX mutexes only).
    pub(crate) fn held_by_caller(&self) -> bool {
        let owner = self.owner.load(Ordering::Relaxed);
        self.is_kmutex() && self.is_locked() && !owner.is_null() && owner == host().curlwp()
    }

    pub(crate) fn set_owner(&self) {
        if self.is_kmutex() {
            self.owner.store(host().curlwp(), Ordering::Relaxed);
        }
    }

    pub(crate) fn clear_owner(&self) {
        if self.is_kmutex() {
            self.owner.store(ptr::null_mut(), Ordering::Relaxed);
        }
    }

    /// `rumpuser_mutex_enter` (contract §1.11, §2.4): try first; a contended adaptive mutex
    /// releases the vCPU around the blocking acquire and records the owner before rescheduling.
    pub fn enter(&self) {
        if self.try_lock_raw() {
            self.set_owner();
            return;
        }
        if self.is_spin() {
            self.lock_contended();
            self.set_owner();
            return;
        }
        crate::stats::count(crate::stats::Kind::MutexEnterBlocked);
        let _unscheduled = sched::Unscheduled::new();
        self.lock_contended();
        self.set_owner();
    }

    /// `rumpuser_mutex_enter_nowrap`: never touches the rump scheduler.
    pub fn enter_nowrap(&self) {
        self.lock_raw();
        self.set_owner();
    }

    /// `rumpuser_mutex_tryenter`: 0 or EBUSY, never blocks.
    pub fn try_enter(&self) -> Result<(), Errno> {
        if self.try_lock_raw() {
            self.set_owner();
            Ok(())
        } else {
            Err(Errno::EBUSY)
        }
    }

    /// `rumpuser_mutex_exit`: never blocks, never upcalls.
    pub fn exit(&self) {
        misuse!(
            !self.is_locked(),
            "rumpuser_mutex_exit: mutex {:p} is not held",
            self
        );
        misuse!(
            self.is_kmutex() && self.owner.load(Ordering::Relaxed) != host().curlwp(),
            "rumpuser_mutex_exit: mutex {:p} is held by another lwp",
            self
        );
        self.clear_owner();
        self.unlock_raw();
    }

    /// `rumpuser_mutex_owner`: the owner lwp or NULL (KMUTEX only).
    pub fn owner(&self) -> *mut c_void {
        self.owner.load(Ordering::Relaxed)
    }

    /// Debug check of `rumpuser_mutex_destroy`: unlocked and without waiters.
    pub fn check_destroy(&self) {
        misuse!(
            self.is_locked(),
            "rumpuser_mutex_destroy: mutex {:p} is locked or has waiters",
            self
        );
    }
}
