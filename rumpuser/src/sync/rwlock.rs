//! `struct rumpuser_rw`: a futex reader/writer lock with upgrade, downgrade and `held`.

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use super::misuse;
use crate::errno::Errno;
use crate::install::host;
use crate::sched;

const WRITER: u32 = 1 << 31;
const WAITERS: u32 = 1 << 30;
const READERS: u32 = WAITERS - 1;

/// Which hold `rumpuser_rw_*` asks about (`enum rumprwlock`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RwKind {
    Reader,
    Writer,
}

/// A rump reader/writer lock (docs/contract.md §1.12).
/// `state` = WRITER bit | WAITERS bit | reader count.
pub struct RumpuserRw {
    state: AtomicU32,
    owner: AtomicPtr<c_void>,
}

impl Default for RumpuserRw {
    fn default() -> Self {
        Self::new()
    }
}

impl RumpuserRw {
    pub const fn new() -> Self {
        RumpuserRw {
            state: AtomicU32::new(0),
            owner: AtomicPtr::new(ptr::null_mut()),
        }
    }

    fn try_lock_raw(&self, kind: RwKind) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let next = match kind {
                RwKind::Reader if s & WRITER == 0 => {
                    assert!(
                        s & READERS != READERS,
                        "rumpuser_rw_enter: too many readers"
                    );
                    s + 1
                }
                RwKind::Writer if s & (WRITER | READERS) == 0 => s | WRITER,
                _ => return false,
            };
            match self
                .state
                .compare_exchange_weak(s, next, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    #[cold]
    fn lock_contended(&self, kind: RwKind) {
        loop {
            if self.try_lock_raw(kind) {
                return;
            }
            let s = self.state.load(Ordering::Relaxed);
            let busy = match kind {
                RwKind::Reader => s & WRITER != 0,
                RwKind::Writer => s & (WRITER | READERS) != 0,
            };
            if !busy {
                continue;
            }
            if s & WAITERS == 0
                && self
                    .state
                    .compare_exchange(s, s | WAITERS, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                continue;
            }
            crate::stats::wait(crate::stats::Kind::RwSleep, &self.state, s | WAITERS, None);
        }
    }

    fn wake_all(&self) {
        self.state.fetch_and(!WAITERS, Ordering::Relaxed);
        crate::stats::wake(crate::stats::Kind::RwWake, &self.state, u32::MAX);
    }

    fn set_owner(&self, kind: RwKind) {
        if kind == RwKind::Writer {
            self.owner.store(host().curlwp(), Ordering::Relaxed);
        }
    }

    /// `rumpuser_rw_enter`: try first, else release the vCPU around the wait (contract §2.4).
    pub fn enter(&self, kind: RwKind) {
        if !self.try_lock_raw(kind) {
            let _unscheduled = sched::Unscheduled::new();
            self.lock_contended(kind);
            self.set_owner(kind);
            return;
        }
        self.set_owner(kind);
    }

    /// `rumpuser_rw_tryenter`: 0 or EBUSY.
    pub fn try_enter(&self, kind: RwKind) -> Result<(), Errno> {
        if self.try_lock_raw(kind) {
            self.set_owner(kind);
            Ok(())
        } else {
            Err(Errno::EBUSY)
        }
    }

    /// `rumpuser_rw_tryupgrade`: succeeds only for the sole reader.
    pub fn try_upgrade(&self) -> Result<(), Errno> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & WRITER != 0 || s & READERS != 1 {
                return Err(Errno::EBUSY);
            }
            match self.state.compare_exchange_weak(
                s,
                (s - 1) | WRITER,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        self.set_owner(RwKind::Writer);
        Ok(())
    }

    /// `rumpuser_rw_downgrade`: write hold -> read hold, atomically (no writer gets in).
    /// Never waits, so it never needs to release the vCPU.
    pub fn downgrade(&self) {
        misuse!(
            !self.write_held_by_me(),
            "rumpuser_rw_downgrade: lock {:p} is not write-held by this lwp",
            self
        );
        self.owner.store(ptr::null_mut(), Ordering::Relaxed);
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let next = ((s & !(WRITER | WAITERS)) & READERS) + 1;
            match self
                .state
                .compare_exchange_weak(s, next, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        if s & WAITERS != 0 {
            // Readers may now get in; writers go back to sleep.
            crate::stats::wake(crate::stats::Kind::RwWake, &self.state, u32::MAX);
        }
    }

    /// `rumpuser_rw_exit`: releases the caller's read or write hold.
    pub fn exit(&self) {
        let s = self.state.load(Ordering::Relaxed);
        if s & WRITER != 0 {
            misuse!(
                !self.write_held_by_me(),
                "rumpuser_rw_exit: lock {:p} is write-held by another lwp",
                self
            );
            self.owner.store(ptr::null_mut(), Ordering::Relaxed);
            let prev = self.state.fetch_and(!(WRITER | WAITERS), Ordering::Release);
            if prev & WAITERS != 0 {
                crate::stats::wake(crate::stats::Kind::RwWake, &self.state, u32::MAX);
            }
        } else {
            misuse!(
                s & READERS == 0,
                "rumpuser_rw_exit: lock {:p} is not held",
                self
            );
            let prev = self.state.fetch_sub(1, Ordering::Release);
            if prev & READERS == 1 && prev & WAITERS != 0 {
                self.wake_all();
            }
        }
    }

    fn write_held_by_me(&self) -> bool {
        self.state.load(Ordering::Relaxed) & WRITER != 0
            && self.owner.load(Ordering::Relaxed) == host().curlwp()
    }

    /// `rumpuser_rw_held`: WRITER = the calling lwp holds it for writing; READER = read-held
    /// by anyone (NetBSD `rw_read_held`).
    pub fn held(&self, kind: RwKind) -> bool {
        match kind {
            RwKind::Writer => self.write_held_by_me(),
            RwKind::Reader => self.state.load(Ordering::Relaxed) & READERS != 0,
        }
    }

    /// Debug check of `rumpuser_rw_destroy`.
    pub fn check_destroy(&self) {
        misuse!(
            self.state.load(Ordering::Relaxed) != 0,
            "rumpuser_rw_destroy: lock {:p} is held or waited for",
            self
        );
    }
}
