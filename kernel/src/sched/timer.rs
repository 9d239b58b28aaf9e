//! Per-CPU timer queues: wake blocked threads at their deadlines (checked on every tick).

use alloc::collections::BinaryHeap;
use alloc::sync::{Arc, Weak};
use core::cmp::{Ordering as CmpOrdering, Reverse};

use super::thread::{Thread, WakeReason};
use crate::sync::spin::IrqSpinLock;

struct Timer {
    deadline: u64,
    thread: Weak<Thread>,
    generation: u64,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        self.deadline.cmp(&other.deadline)
    }
}

static QUEUES: [IrqSpinLock<BinaryHeap<Reverse<Timer>>>; crate::arch::cpus::MAX_CPUS] =
    [const { IrqSpinLock::new("timers", BinaryHeap::new()) }; crate::arch::cpus::MAX_CPUS];

/// Arms a timer on this CPU that wakes `thread` at `deadline` if it still waits in wait number
/// `generation`.
pub fn add(deadline: u64, thread: &Arc<Thread>, generation: u64) {
    let cpu = crate::arch::percpu::this().index;
    QUEUES[cpu].lock().push(Reverse(Timer {
        deadline,
        thread: Arc::downgrade(thread),
        generation,
    }));
}

/// Fires this CPU's expired timers (from the timer interrupt).
pub fn expire(now: u64) {
    let cpu = crate::arch::percpu::this().index;
    loop {
        let timer = {
            let mut queue = QUEUES[cpu].lock();
            match queue.peek() {
                Some(Reverse(t)) if t.deadline <= now => queue.pop().map(|Reverse(t)| t),
                _ => None,
            }
        };
        let Some(timer) = timer else { break };
        if let Some(thread) = timer.thread.upgrade() {
            super::wake_if_generation(&thread, WakeReason::TimedOut, Some(timer.generation));
        }
    }
}

/// Timers pending on CPU `cpu`.
pub fn pending(cpu: usize) -> usize {
    QUEUES.get(cpu).map(|q| q.lock().len()).unwrap_or(0)
}
