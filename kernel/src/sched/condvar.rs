//! Condition variable: wait (with a mutex), timed wait that reports a timeout, signal,
//! broadcast, and a has-waiters query. Threads only.

use core::sync::atomic::{AtomicU64, Ordering};

use super::mutex::RawMutex;
use crate::sched::wait::{WaitQueue, WaitResult};

/// A condition variable.
pub struct Condvar {
    waiters: WaitQueue,
    /// Bumped by every signal/broadcast so a waiter can tell it was signalled.
    sequence: AtomicU64,
}

impl Default for Condvar {
    fn default() -> Self {
        Self::new()
    }
}

impl Condvar {
    /// A condition variable without waiters.
    pub const fn new() -> Self {
        Self {
            waiters: WaitQueue::new("condvar"),
            sequence: AtomicU64::new(0),
        }
    }

    /// Releases `mutex`, sleeps until signalled, re-takes `mutex`.
    pub fn wait(&self, mutex: &RawMutex) {
        self.wait_deadline(mutex, None);
    }

    /// Like `wait`, but gives up at `deadline` (monotonic ns); returns false on timeout.
    /// The mutex is held again on return either way.
    pub fn wait_deadline(&self, mutex: &RawMutex, deadline: Option<u64>) -> bool {
        let start = self.sequence.load(Ordering::Acquire);
        // Queue ourselves before releasing the mutex: a signal sent right after the release
        // finds us (the readiness check runs under the wait-queue lock).
        let mut released = false;
        let result = self.waiters.wait_once(deadline, || {
            if !released {
                mutex.unlock();
                released = true;
            }
            self.sequence.load(Ordering::Acquire) != start
        });
        let result = result != WaitResult::TimedOut;
        mutex.lock();
        result
    }

    /// Wakes one waiter.
    pub fn signal(&self) {
        self.sequence.fetch_add(1, Ordering::AcqRel);
        self.waiters.wake_one();
    }

    /// Wakes every waiter.
    pub fn broadcast(&self) {
        self.sequence.fetch_add(1, Ordering::AcqRel);
        self.waiters.wake_all();
    }

    /// Whether any thread waits.
    pub fn has_waiters(&self) -> bool {
        self.waiters.has_waiters()
    }
}
