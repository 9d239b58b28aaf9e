//! Work the rump kernel must not do where it stands, run later on a host service thread.
//!
//! NetBSD's rump kernel completes asynchronous page I/O (`uvm_aio_biodone`) on the spot, and
//! that code sleeps and allocates, which NetBSD forbids in a soft interrupt. A driver whose
//! transfers complete in a soft interrupt (USB: `usb_soft_intr`) therefore trips an assertion
//! or deadlocks. The host hands such a completion here: one service thread with a permanent lwp
//! (contract §2.9) takes each, schedules a vCPU (`hyp_backend_schedule(0, NULL)`, as for bio
//! completions) and runs it in thread context, as NetBSD itself does through its aiodone
//! workqueue.

use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::sched;
use crate::service::ServiceQueue;

/// A rump function and its argument.
#[derive(Clone, Copy)]
struct Work {
    function: unsafe extern "C" fn(*mut c_void),
    argument: *mut c_void,
}

// SAFETY: the argument belongs to the rump kernel, which hands it over until the call is made;
// exactly one thread makes the call.
unsafe impl Send for Work {}

static QUEUE: ServiceQueue<Work> = ServiceQueue::new();

/// Calls `function(argument)` later, on the service thread, in state S. Never blocks on the
/// rump kernel and makes no upcall, so it may be called from a soft interrupt. Returns false
/// (and calls nothing) when no service thread could be started.
///
/// # Safety
/// `function` must be a rump kernel function that may run in thread context with `argument`,
/// at any later time, on another host thread.
pub unsafe fn defer(function: unsafe extern "C" fn(*mut c_void), argument: *mut c_void) -> bool {
    QUEUE.start(1, "rumpuser-deferred", worker);
    if QUEUE.threads() == 0 {
        return false;
    }
    QUEUE.push(Work { function, argument });
    true
}

/// Number of deferred calls made so far (for reports and tests).
pub fn completed() -> u32 {
    COMPLETED.load(Ordering::Relaxed)
}

static COMPLETED: AtomicU32 = AtomicU32::new(0);

fn worker() {
    sched::enter_persistent_lwp();
    loop {
        let work = QUEUE.pop();
        let _scheduled = sched::Scheduled::new(0);
        // SAFETY: `defer`'s caller vouched that the function may run here with its argument.
        unsafe { (work.function)(work.argument) };
        COMPLETED.fetch_add(1, Ordering::Relaxed);
    }
}
