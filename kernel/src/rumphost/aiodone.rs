//! A host-side mend for one limit of NetBSD's rump VFS: it completes asynchronous page I/O
//! (`uvm_aio_biodone`) on the spot, sleeping and allocating, where NetBSD proper queues it to
//! its aiodone workqueue. When a completion arrives in a soft interrupt — USB mass storage
//! completes every transfer in `usb_soft_intr` — that trips `kmem_alloc`'s "should not be used
//! from the interrupt context" assertion, or, without DIAGNOSTIC, deadlocks on the page
//! object's lock.
//!
//! The kernel links the components with `--wrap=rumpns_uvm_aio_biodone` (kernel/build.rs), so
//! NetBSD's callers reach [`__wrap_rumpns_uvm_aio_biodone`]: in a soft interrupt it hands the
//! buffer to `rumpuser::deferred`, whose service thread calls the real function in thread
//! context; anywhere else it calls through at once. The buffer stays opaque here.

use core::ffi::c_void;

extern "C" {
    /// NetBSD's own `uvm_aio_biodone(struct buf *)` (the name `--wrap` gives it).
    fn __real_rumpns_uvm_aio_biodone(buf: *mut c_void);
    /// NetBSD's `bool cpu_softintr_p(void)`: whether curlwp is a soft-interrupt thread.
    fn rumpns_cpu_softintr_p() -> bool;
}

unsafe extern "C" fn complete_in_thread(buf: *mut c_void) {
    // SAFETY: the buffer came from `uvm_aio_biodone`'s caller and is completed exactly once.
    unsafe { __real_rumpns_uvm_aio_biodone(buf) }
}

/// `void uvm_aio_biodone(struct buf *bp)`, as NetBSD's callers see it.
///
/// # Safety
/// Called by the rump kernel in state S with a buffer whose asynchronous I/O has finished.
#[no_mangle]
pub unsafe extern "C" fn __wrap_rumpns_uvm_aio_biodone(buf: *mut c_void) {
    // SAFETY: a NetBSD query without arguments, called in state S like its other callers.
    let in_soft_interrupt = unsafe { rumpns_cpu_softintr_p() };
    // SAFETY: `complete_in_thread` may run later on a service thread: NetBSD proper runs this
    // completion on its aiodone workqueue thread.
    if in_soft_interrupt && unsafe { rumpuser::deferred::defer(complete_in_thread, buf) } {
        return;
    }
    // SAFETY: as NetBSD's caller would have done.
    unsafe { __real_rumpns_uvm_aio_biodone(buf) }
}
