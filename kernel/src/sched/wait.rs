//! Wait queues: block the current thread until a condition holds, with an optional deadline,
//! and no lost wake-ups (the condition is checked and the thread queued under one lock).

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use super::thread::{State, Thread, WakeReason};
use crate::sync::spin::IrqSpinLock;

/// Threads waiting for something.
pub struct WaitQueue {
    waiters: IrqSpinLock<VecDeque<Arc<Thread>>>,
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitResult {
    /// The condition already held; the thread did not block.
    Ready,
    /// Woken by `wake_one`/`wake_all`.
    Woken,
    /// The deadline passed first.
    TimedOut,
}

impl WaitQueue {
    /// An empty queue; `name` is for diagnostics.
    pub const fn new(name: &'static str) -> Self {
        Self {
            waiters: IrqSpinLock::new(name, VecDeque::new()),
        }
    }

    /// Blocks once unless `ready()` returns true (checked under the queue lock). `deadline` is
    /// monotonic nanoseconds. Spurious returns are impossible: the result says why it returned.
    pub fn wait_once(&self, deadline: Option<u64>, ready: impl FnOnce() -> bool) -> WaitResult {
        super::assert_may_sleep("wait queue");
        let mut waiters = self.waiters.lock();
        if ready() {
            return WaitResult::Ready;
        }
        let me = super::current();
        let generation = me.wait_generation.fetch_add(1, Ordering::AcqRel) + 1;
        me.wake_reason
            .store(WakeReason::None as u8, Ordering::Relaxed);
        {
            let _transition = me.transition.lock();
            me.set_state(State::Blocked);
        }
        waiters.push_back(me.clone());
        if let Some(deadline) = deadline {
            super::timer::add(deadline, &me, generation);
        }
        let interrupts_were_enabled = waiters.unlock_keeping_interrupts_disabled();
        super::schedule();
        crate::arch::cpu::restore_interrupts(interrupts_were_enabled);
        if me.wake_reason.load(Ordering::Acquire) == WakeReason::TimedOut as u8 {
            self.waiters.lock().retain(|t| !Arc::ptr_eq(t, &me));
            WaitResult::TimedOut
        } else {
            WaitResult::Woken
        }
    }

    /// Blocks until `ready()` holds or the deadline passes; returns false on timeout.
    pub fn wait_until(&self, deadline: Option<u64>, mut ready: impl FnMut() -> bool) -> bool {
        loop {
            match self.wait_once(deadline, &mut ready) {
                WaitResult::Ready => return true,
                WaitResult::TimedOut => return ready(),
                WaitResult::Woken => {}
            }
        }
    }

    /// Wakes the longest waiter; returns whether one was woken.
    pub fn wake_one(&self) -> bool {
        loop {
            let Some(thread) = self.waiters.lock().pop_front() else {
                return false;
            };
            if super::wake(&thread, WakeReason::Signaled) {
                return true;
            }
            // It timed out concurrently; give the wake-up to the next waiter.
        }
    }

    /// Wakes every waiter; returns how many.
    pub fn wake_all(&self) -> usize {
        let waiters = core::mem::take(&mut *self.waiters.lock());
        waiters
            .iter()
            .filter(|t| super::wake(t, WakeReason::Signaled))
            .count()
    }

    /// Whether any thread waits here.
    pub fn has_waiters(&self) -> bool {
        !self.waiters.lock().is_empty()
    }

    /// Number of waiting threads.
    pub fn len(&self) -> usize {
        self.waiters.lock().len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` with the queue locked (for primitives that keep their state under this lock).
    pub fn with_lock<R>(&self, f: impl FnOnce(&mut VecDeque<Arc<Thread>>) -> R) -> R {
        f(&mut self.waiters.lock())
    }
}
