//! Counting semaphore. Threads only for `acquire`; `release` from any context.

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::sched::wait::WaitQueue;

/// A counting semaphore.
pub struct Semaphore {
    count: AtomicUsize,
    waiters: WaitQueue,
}

impl Semaphore {
    /// A semaphore holding `count` permits.
    pub const fn new(count: usize) -> Self {
        Self {
            count: AtomicUsize::new(count),
            waiters: WaitQueue::new("semaphore"),
        }
    }

    /// Takes a permit if one is free.
    pub fn try_acquire(&self) -> bool {
        self.count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| c.checked_sub(1))
            .is_ok()
    }

    /// Takes a permit, sleeping until one is free or `deadline` passes; false on timeout.
    pub fn acquire_deadline(&self, deadline: Option<u64>) -> bool {
        self.waiters.wait_until(deadline, || self.try_acquire())
    }

    /// Takes a permit, sleeping until one is free.
    pub fn acquire(&self) {
        self.acquire_deadline(None);
    }

    /// Returns a permit.
    pub fn release(&self) {
        self.count.fetch_add(1, Ordering::AcqRel);
        self.waiters.wake_one();
    }

    /// Free permits.
    pub fn available(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}
