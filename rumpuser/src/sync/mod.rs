//! Locks and condition variables of the rump kernel, built on the host's futex primitive.
//!
//! `RumpuserMtx`, `RumpuserRw` and `RumpuserCv` are the objects behind the opaque C
//! pointers `struct rumpuser_mtx *` and friends (docs/contract.md §1.11-§1.13). Their state is a
//! single `AtomicU32` each; uncontended operations are one compare-and-swap, and waiting goes
//! through `Host::wait`/`Host::wake`. The scheduling protocol (contract §2.4, §2.5) lives in the
//! methods named after the hypercalls; the `*_raw` methods never upcall.
//!
//! Misuse (releasing a lock that is not held, destroying one that is held or waited for)
//! panics in debug builds with a message naming the hypercall; release builds skip the checks.
//!
//! Lock order: a rump mutex may be held while waiting for a vCPU only if it is adaptive
//! (contract §2.3); these types never hold one lock while blocking on another.

pub mod condvar;
pub mod mutex;
pub mod rwlock;

pub use condvar::RumpuserCv;
pub use mutex::RumpuserMtx;
pub use rwlock::RumpuserRw;

/// Misuse report: a panic in debug builds (contract violations by the caller).
macro_rules! misuse {
    ($cond:expr, $($msg:tt)+) => {
        if cfg!(debug_assertions) && $cond {
            panic!($($msg)+);
        }
    };
}
pub(crate) use misuse;
