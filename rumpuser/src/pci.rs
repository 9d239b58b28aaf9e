//! PCI interrupt delivery for `rumpcomp_pci_irq_establish` (docs/contract.md §9.7).
//!
//! Each established handler gets an [`IrqLine`] and a dispatcher thread with a permanent lwp
//! (contract §2.9). The host's hard ISR masks and acknowledges the line and calls
//! [`IrqLine::raise`]; the dispatcher wakes, calls `hyp_backend_schedule(1, NULL)` (state S
//! with the giant lock), runs the handler, `hyp_backend_unschedule` (which also runs pending
//! softints), and tells the host with `Host::pci_irq_done` that it may unmask. Handlers never
//! run in the ISR itself (contract §2.10 item 9).
//!
//! [`irq_disestablish`] retires a line: NetBSD's rump PCI glue has no hypercall for
//! `pci_intr_disestablish` (a driver whose attach fails calls it), so the kernel reaches this
//! through a wrapper. After it returns the handler is not running and is never called again,
//! the host no longer routes the line, and the dispatcher thread ends.

extern crate alloc;

use core::ffi::{c_int, c_void};
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use core::time::Duration;

use crate::abi::RumpcompPciIntrFn;
use crate::errno::Errno;
use crate::host::{ThreadAttrs, ThreadStart};
use crate::install::host;
use crate::sched;

/// One established rump interrupt handler and its pending-interrupt counter.
pub struct IrqLine {
    pending: AtomicU32,
    cookie: u32,
    handler: RumpcompPciIntrFn,
    data: *mut c_void,
    /// Set once by [`irq_disestablish`]: the handler is never called again.
    retired: AtomicBool,
    /// True while the dispatcher calls the handler.
    in_handler: AtomicBool,
    /// The line established before this one (the list handles are checked against).
    previous: AtomicPtr<IrqLine>,
}

/// The most recently established line; each points to the one before.
static ESTABLISHED: AtomicPtr<IrqLine> = AtomicPtr::new(ptr::null_mut());

// SAFETY: `handler`/`data` are the rump driver's, registered to be called from a host
// thread (contract §9.7); only the dispatcher thread calls them. `pending` is atomic.
unsafe impl Sync for IrqLine {}
// SAFETY: as above; the line is only moved before it is shared.
unsafe impl Send for IrqLine {}

impl IrqLine {
    /// Marks the interrupt pending and wakes the dispatcher. Never blocks: callable from
    /// the host's interrupt code (it uses `Host::wake`, which must allow that).
    pub fn raise(&self) {
        self.pending.fetch_add(1, Ordering::Release);
        host().wake(&self.pending, 1);
    }

    /// The cookie `rumpcomp_pci_irq_map` was given for this line.
    pub fn cookie(&self) -> u32 {
        self.cookie
    }

    fn dispatch_forever(&'static self) {
        sched::enter_persistent_lwp();
        loop {
            if self.retired.load(Ordering::SeqCst) {
                host().exit_thread();
            }
            let seen = self.pending.swap(0, Ordering::Acquire);
            if seen == 0 {
                host().wait(&self.pending, 0, None);
                continue;
            }
            {
                let _scheduled = sched::Scheduled::new(1);
                // Paired with `irq_disestablish`: either it sees `in_handler` and waits, or
                // this sees `retired` and skips the call (both orders are sequentially
                // consistent).
                self.in_handler.store(true, Ordering::SeqCst);
                if let Some(handler) = self
                    .handler
                    .filter(|_| !self.retired.load(Ordering::SeqCst))
                {
                    // SAFETY: the driver's handler with its own argument, in state S holding
                    // the giant lock, on a host thread (contract §9.7).
                    let _claimed: c_int = unsafe { handler(self.data) };
                }
                self.in_handler.store(false, Ordering::SeqCst);
            }
            if !self.retired.load(Ordering::SeqCst) {
                host().pci_irq_done(self.cookie);
            }
        }
    }
}

/// `pci_intr_disestablish` for a handle from `rumpcomp_pci_irq_establish`: retires the line,
/// waits (with the vCPU released, contract §2.4) until a running call of its handler returns,
/// and has the host stop routing it. `EINVAL` for a handle this layer did not hand out or a
/// line already retired.
///
/// # Safety
/// Called by the rump kernel on a thread in state S (a driver's detach or failed attach).
pub unsafe fn irq_disestablish(handle: *mut c_void) -> Result<(), Errno> {
    let mut next = ESTABLISHED.load(Ordering::Acquire);
    let line = loop {
        // SAFETY: the list holds only lines leaked by `establish`, published with `Release`
        // after their `previous` was set.
        let candidate = unsafe { next.as_ref() }.ok_or(Errno::EINVAL)?;
        if ptr::eq(candidate, handle.cast_const().cast()) {
            break candidate;
        }
        next = candidate.previous.load(Ordering::Acquire);
    };
    if line.retired.swap(true, Ordering::SeqCst) {
        return Err(Errno::EINVAL);
    }
    host().pci_irq_detach(line.cookie);
    if line.in_handler.load(Ordering::SeqCst) {
        sched::blocking(|| {
            while line.in_handler.load(Ordering::SeqCst) {
                host().sleep_until(host().monotonic() + Duration::from_micros(100));
            }
        });
    }
    line.raise(); // the dispatcher sees `retired` and ends
    Ok(())
}

/// Adds `line` to the list [`irq_disestablish`] checks handles against.
fn publish(line: &'static IrqLine) {
    let pointer = ptr::from_ref(line).cast_mut();
    let mut head = ESTABLISHED.load(Ordering::Acquire);
    loop {
        line.previous.store(head, Ordering::Relaxed);
        match ESTABLISHED.compare_exchange(head, pointer, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return,
            Err(current) => head = current,
        }
    }
}

/// `rumpcomp_pci_irq_establish`: creates the line and its dispatcher, attaches it.
pub(crate) fn establish(
    cookie: u32,
    handler: RumpcompPciIntrFn,
    data: *mut c_void,
) -> Option<&'static IrqLine> {
    handler?;
    let line: &'static IrqLine = alloc::boxed::Box::leak(alloc::boxed::Box::new(IrqLine {
        pending: AtomicU32::new(0),
        cookie,
        handler,
        data,
        retired: AtomicBool::new(false),
        in_handler: AtomicBool::new(false),
        previous: AtomicPtr::new(ptr::null_mut()),
    }));
    let attrs = ThreadAttrs {
        name: Some("rumpuser-irq"),
        joinable: false,
        priority: 127,
        cpu: None,
    };
    host()
        .spawn(ThreadStart::new(move || line.dispatch_forever()), &attrs)
        .ok()?;
    host().pci_irq_attach(cookie, line).ok()?;
    publish(line);
    Some(line)
}
