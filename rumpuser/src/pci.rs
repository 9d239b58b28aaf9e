//! PCI interrupt delivery for `rumpcomp_pci_irq_establish` (docs/contract.md §9.7).
//!
//! Each established handler gets an [`IrqLine`] and a dispatcher thread with a permanent lwp
//! (contract §2.9). The host's hard ISR masks and acknowledges the line and calls
//! [`IrqLine::raise`]; the dispatcher wakes, calls `hyp_backend_schedule(1, NULL)` (state S
//! with the giant lock), runs the handler, `hyp_backend_unschedule` (which also runs pending
//! softints), and tells the host with `Host::pci_irq_done` that it may unmask. Handlers never
//! run in the ISR itself (contract §2.10 item 9).

extern crate alloc;

use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicU32, Ordering};

use crate::abi::RumpcompPciIntrFn;
use crate::host::{ThreadAttrs, ThreadStart};
use crate::install::host;
use crate::sched;

/// One established rump interrupt handler and its pending-interrupt counter.
pub struct IrqLine {
    pending: AtomicU32,
    cookie: u32,
    handler: RumpcompPciIntrFn,
    data: *mut c_void,
}

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
            let seen = self.pending.swap(0, Ordering::Acquire);
            if seen == 0 {
                host().wait(&self.pending, 0, None);
                continue;
            }
            {
                let _scheduled = sched::Scheduled::new(1);
                if let Some(handler) = self.handler {
                    // SAFETY: the driver's handler with its own argument, in state S holding
                    // the giant lock, on a host thread (contract §9.7).
                    let _claimed: c_int = unsafe { handler(self.data) };
                }
            }
            host().pci_irq_done(self.cookie);
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
    Some(line)
}
