//! One wake-up source for `poll`, `select` and friends: every pipe or terminal change bumps a
//! generation and wakes all pollers, which then re-check their descriptors.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::sched::wait::WaitQueue;

static GENERATION: AtomicU64 = AtomicU64::new(0);
/// Pollers sleep here.
pub static POLLERS: WaitQueue = WaitQueue::new("poll");

/// Something pollable changed.
pub fn notify() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
    if POLLERS.has_waiters() {
        POLLERS.wake_all();
    }
}

/// The current generation (compare after a check to see whether anything changed since).
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}
