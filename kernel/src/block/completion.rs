//! Waiting for an asynchronous operation: a one-shot [`Completion`] and [`wait_for_completion`].
//!
//! A waiter halts the CPU between interrupts when nothing else wants the CPU (the completion
//! interrupt then resumes it without a context switch; the timer still preempts it), and sleeps
//! on one wait queue that drivers poke ([`notify_waiters`]) when other threads are runnable.
//! [`wait_for_completion`] is built on [`wait_until`], the one place that waits.

use core::sync::atomic::{AtomicBool, Ordering};

use super::BlockError;
use crate::arch::cpu;
use crate::sync::spin::IrqSpinLock;

/// A result that arrives once, usually from an interrupt handler.
pub struct Completion {
    done: AtomicBool,
    result: IrqSpinLock<Option<Result<(), BlockError>>>,
}

impl Default for Completion {
    fn default() -> Self {
        Self::new()
    }
}

impl Completion {
    /// Not yet completed.
    pub const fn new() -> Self {
        Self {
            done: AtomicBool::new(false),
            result: IrqSpinLock::new("block-completion", None),
        }
    }

    /// Records the result and wakes the waiter; any context, never blocks.
    pub fn complete(&self, result: Result<(), BlockError>) {
        *self.result.lock() = Some(result);
        self.done.store(true, Ordering::Release);
    }

    /// Whether the result has arrived.
    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// The result, once arrived.
    pub fn result(&self) -> Option<Result<(), BlockError>> {
        *self.result.lock()
    }
}

/// Waits until `completion` has its result and returns it.
pub fn wait_for_completion(completion: &Completion) -> Result<(), BlockError> {
    wait_until(|| completion.is_done());
    completion
        .result()
        .expect("a completion marked done carries its result")
}

/// Halts until `condition` holds; the one place that waits (a scheduler's wait queue goes here).
///
/// Must be called with interrupts enabled (from a thread, not an interrupt handler): the check
/// runs with interrupts off and `sti; hlt` re-enables them atomically, so an interrupt that makes
/// the condition true cannot slip in between and be missed. `condition` must be cheap and must not
/// take locks that interrupt handlers hold for long.
pub fn wait_until(condition: impl Fn() -> bool) {
    assert!(
        cpu::interrupts_enabled(),
        "waiting with interrupts disabled would wait forever"
    );
    let others_waiting = || {
        crate::sched::is_running() && crate::sched::queued_on(crate::arch::percpu::this().index) > 0
    };
    if others_waiting() {
        // Other threads want this CPU: sleep. A completion callback may change what
        // `condition` reads without the driver knowing about this queue, so the sleep is also
        // bounded by a 1 ms re-check.
        while !condition() {
            let deadline = crate::time::monotonic_nanos() + 1_000_000;
            WAITERS.wait_once(Some(deadline), &condition);
        }
        return;
    }
    loop {
        cpu::disable_interrupts();
        if condition() {
            cpu::restore_interrupts(true);
            return;
        }
        cpu::enable_interrupts_and_halt();
    }
}

static WAITERS: crate::sched::wait::WaitQueue = crate::sched::wait::WaitQueue::new("block-waiters");

/// Wakes threads waiting in [`wait_until`]; drivers call it after completing requests (any
/// context, never blocks).
pub fn notify_waiters() {
    WAITERS.wake_all();
}
