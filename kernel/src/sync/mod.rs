//! The IRQ-safe spin lock: the one lock usable below the scheduler and in interrupt handlers.
//!
//! May import: `arch`. The sleeping locks (mutex, rwlock, condvar, semaphore) block threads and
//! so live with the scheduler in `sched`.

pub mod spin;
