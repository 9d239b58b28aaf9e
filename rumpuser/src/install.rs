//! Registration: how the exported C functions find the `Host`.
//!
//! The host calls [`install`] once, before `rump_init`, with a `&'static dyn Host`. The
//! reference is written once into a static and published with a release store; readers
//! load the state with acquire ordering, so every export sees either "not installed" or the
//! complete reference. It can never change afterwards, which is what makes handing out
//! `&'static dyn Host` sound without locks.
//!
//! With the `hosted` feature a host that forgot to call `install` gets the std backend on
//! the first hypercall, so host-built rump components run without Rust set-up code.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU8, Ordering};

use crate::host::Host;

const EMPTY: u8 = 0;
const WRITING: u8 = 1;
const READY: u8 = 2;

struct Slot {
    state: AtomicU8,
    host: UnsafeCell<Option<&'static dyn Host>>,
}

// SAFETY: `host` is written exactly once, by the thread that moved `state` from EMPTY to
// WRITING, and read only after `state` was observed READY with acquire ordering.
unsafe impl Sync for Slot {}

static SLOT: Slot = Slot {
    state: AtomicU8::new(EMPTY),
    host: UnsafeCell::new(None),
};

/// Error of [`install`]: a host is already installed (it stays in place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadyInstalled;

/// Installs the host every hypercall uses. Call once, before the first hypercall.
pub fn install(host: &'static dyn Host) -> Result<(), AlreadyInstalled> {
    if SLOT
        .state
        .compare_exchange(EMPTY, WRITING, Ordering::Acquire, Ordering::Acquire)
        .is_err()
    {
        return Err(AlreadyInstalled);
    }
    // SAFETY: the successful EMPTY -> WRITING transition makes this the only writer, and no
    // reader touches `host` before READY is published below.
    unsafe { *SLOT.host.get() = Some(host) };
    SLOT.state.store(READY, Ordering::Release);
    Ok(())
}

/// The installed host, if any.
pub fn installed() -> Option<&'static dyn Host> {
    if SLOT.state.load(Ordering::Acquire) == READY {
        // SAFETY: READY was published after the single write, and the slot never changes again.
        unsafe { *SLOT.host.get() }
    } else {
        None
    }
}

/// The host for the exports. Panics if none is installed (without `hosted`): a hypercall
/// before `install` is a bug in the kernel's start-up order.
#[inline]
pub(crate) fn host() -> &'static dyn Host {
    match installed() {
        Some(host) => host,
        None => fallback(),
    }
}

#[cold]
fn fallback() -> &'static dyn Host {
    #[cfg(feature = "hosted")]
    {
        // Losing the race to another installer is fine: either way a host is in place.
        let _ = install(crate::hosted::HostedHost::global());
        if let Some(host) = installed() {
            return host;
        }
        // Another thread is between WRITING and READY: wait for it.
        loop {
            core::hint::spin_loop();
            if let Some(host) = installed() {
                return host;
            }
        }
    }
    #[cfg(not(feature = "hosted"))]
    panic!("rumpuser: hypercall before rumpuser::install(); install the Host first");
}
