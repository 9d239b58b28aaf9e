//! Synchronisation primitives. All are SMP-safe; each module says which contexts may use it:
//! `spin` (any context, holders must not sleep), `mutex`, `rwlock`, `condvar`, `semaphore`
//! (threads that may sleep; `Semaphore::release` and condvar signals from anywhere).

pub mod condvar;
pub mod mutex;
pub mod rwlock;
pub mod semaphore;
pub mod spin;
