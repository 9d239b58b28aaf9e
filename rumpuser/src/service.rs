//! A queue served by host service threads (contract §2.9): `rumpuser_bio` requests and deferred
//! rump work both go through one.

extern crate alloc;

use alloc::collections::VecDeque;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::host::{ThreadAttrs, ThreadStart};
use crate::install::host;
use crate::sync::{RumpuserCv, RumpuserMtx};

/// Items for service threads, and how many threads serve it.
pub(crate) struct ServiceQueue<T> {
    lock: RumpuserMtx,
    nonempty: RumpuserCv,
    items: UnsafeCell<VecDeque<T>>,
    started: AtomicU32,
}

// SAFETY: `items` is only touched with `lock` held, and items move between threads (T: Send).
unsafe impl<T: Send> Sync for ServiceQueue<T> {}

impl<T> ServiceQueue<T> {
    pub(crate) const fn new() -> Self {
        Self {
            lock: RumpuserMtx::new(0),
            nonempty: RumpuserCv::new(),
            items: UnsafeCell::new(VecDeque::new()),
            started: AtomicU32::new(0),
        }
    }

    /// Service threads started so far.
    pub(crate) fn threads(&self) -> u32 {
        self.started.load(Ordering::Acquire)
    }

    /// Starts service threads running `worker` until `count` run (or the host refuses one).
    pub(crate) fn start(&self, count: u32, name: &'static str, worker: fn()) {
        while self.started.load(Ordering::Acquire) < count {
            let n = self.started.load(Ordering::Acquire);
            if self
                .started
                .compare_exchange(n, n + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                continue;
            }
            let attrs = ThreadAttrs {
                name: Some(name),
                joinable: false,
                priority: 123,
                cpu: None,
            };
            if host().spawn(ThreadStart::new(worker), &attrs).is_err() {
                // Try again next time.
                self.started.fetch_sub(1, Ordering::AcqRel);
                break;
            }
        }
    }

    /// Appends an item and wakes a service thread. Makes no upcall and waits only for the
    /// queue's own short lock.
    pub(crate) fn push(&self, item: T) {
        self.lock.lock_raw();
        // SAFETY: `self.lock` is held.
        unsafe { (*self.items.get()).push_back(item) };
        self.lock.unlock_raw();
        self.nonempty.signal();
    }

    /// Takes the oldest item, waiting (with no vCPU held) until there is one.
    pub(crate) fn pop(&self) -> T {
        self.lock.lock_raw();
        loop {
            // SAFETY: `self.lock` is held.
            if let Some(item) = unsafe { (*self.items.get()).pop_front() } {
                self.lock.unlock_raw();
                return item;
            }
            self.nonempty.wait_nowrap(&self.lock);
        }
    }
}
