//! IRQ-safe ticket spin lock.
//!
//! Taking the lock disables interrupts on the local CPU until the guard drops, so the same lock
//! may be taken by interrupt top halves and by threads without deadlocking against itself. Any
//! context may take it; holders must not block or sleep. Locks are FIFO (ticket order), so no
//! CPU starves under contention — except under a hypervisor, where they are test-and-set (see
//! [`prefer_unfair`]).

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::arch::cpu;

/// Whether locks are taken in any order instead of ticket order (see [`prefer_unfair`]).
static UNFAIR: AtomicBool = AtomicBool::new(false);

/// Makes every [`IrqSpinLock`] go to whichever CPU finds it free rather than to the next ticket.
/// For virtual machines: there the hypervisor may deschedule a virtual CPU while it waits in
/// line, and a ticket lock then stays unusable for everyone until that CPU runs again — each
/// hand-over of a busy lock costs a host time slice (a fork bomb on four TCG CPUs sharing two
/// host cores ran fifty times slower than on one). Linux falls back to a test-and-set lock
/// under hypervisors without paravirtual spin locks for the same reason. Fairness is lost;
/// starvation needs a CPU to lose every race for as long as others keep retaking the lock.
pub fn prefer_unfair() {
    UNFAIR.store(true, Ordering::Relaxed);
}

/// A ticket spin lock that disables local interrupts while held.
pub struct IrqSpinLock<T> {
    name: &'static str,
    next_ticket: AtomicU32,
    now_serving: AtomicU32,
    value: UnsafeCell<T>,
}

// SAFETY: the lock serialises all access to `value`; T must be Send to move between CPUs.
unsafe impl<T: Send> Sync for IrqSpinLock<T> {}
// SAFETY: owning the lock owns the value.
unsafe impl<T: Send> Send for IrqSpinLock<T> {}

/// Proof of holding an [`IrqSpinLock`]; interrupts are restored when it drops.
pub struct IrqSpinGuard<'a, T> {
    lock: &'a IrqSpinLock<T>,
    interrupts_were_enabled: bool,
}

impl<T> IrqSpinLock<T> {
    /// Creates an unlocked lock; `name` appears in diagnostics.
    pub const fn new(name: &'static str, value: T) -> Self {
        Self {
            name,
            next_ticket: AtomicU32::new(0),
            now_serving: AtomicU32::new(0),
            value: UnsafeCell::new(value),
        }
    }

    /// The lock's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Disables interrupts and spins until the lock is ours.
    pub fn lock(&self) -> IrqSpinGuard<'_, T> {
        let interrupts_were_enabled = cpu::disable_interrupts();
        if UNFAIR.load(Ordering::Relaxed) {
            // Test and test-and-set: whichever running CPU sees the lock free takes it.
            while !self.acquire_if_free() {
                while self.is_locked() {
                    core::hint::spin_loop();
                }
            }
        } else {
            let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
            while self.now_serving.load(Ordering::Acquire) != ticket {
                core::hint::spin_loop();
            }
        }
        IrqSpinGuard {
            lock: self,
            interrupts_were_enabled,
        }
    }

    /// Takes the next ticket only if it is served at once (the lock is free, nobody queued).
    fn acquire_if_free(&self) -> bool {
        let serving = self.now_serving.load(Ordering::Relaxed);
        self.next_ticket
            .compare_exchange(
                serving,
                serving.wrapping_add(1),
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Takes the lock only if it is free right now.
    pub fn try_lock(&self) -> Option<IrqSpinGuard<'_, T>> {
        let interrupts_were_enabled = cpu::disable_interrupts();
        if self.acquire_if_free() {
            Some(IrqSpinGuard {
                lock: self,
                interrupts_were_enabled,
            })
        } else {
            cpu::restore_interrupts(interrupts_were_enabled);
            None
        }
    }

    /// Whether somebody holds the lock (a hint; it may change at once).
    pub fn is_locked(&self) -> bool {
        self.next_ticket.load(Ordering::Relaxed) != self.now_serving.load(Ordering::Relaxed)
    }
}

impl<T> IrqSpinGuard<'_, T> {
    /// Releases the lock but leaves interrupts disabled; returns whether they were enabled
    /// before the lock was taken (the caller restores them). Used to block without a window in
    /// which a wake-up could be lost.
    pub fn unlock_keeping_interrupts_disabled(self) -> bool {
        let was = self.interrupts_were_enabled;
        self.lock.now_serving.fetch_add(1, Ordering::Release);
        core::mem::forget(self);
        was
    }
}

impl<T> Deref for IrqSpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves exclusive ownership of the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for IrqSpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves exclusive ownership of the lock.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for IrqSpinGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.now_serving.fetch_add(1, Ordering::Release);
        cpu::restore_interrupts(self.interrupts_were_enabled);
    }
}

/// A raw IRQ-disabling spin lock for `lock_api` users (the heap allocator).
pub struct RawIrqSpin {
    locked: AtomicBool,
    interrupts_were_enabled: AtomicBool,
}

// SAFETY: `lock` only returns once this CPU set `locked` from false to true with Acquire
// ordering, and `unlock` clears it with Release; that is mutual exclusion.
unsafe impl lock_api::RawMutex for RawIrqSpin {
    #[allow(
        clippy::declare_interior_mutable_const,
        reason = "lock_api requires an INIT constant"
    )]
    const INIT: Self = Self {
        locked: AtomicBool::new(false),
        interrupts_were_enabled: AtomicBool::new(false),
    };
    type GuardMarker = lock_api::GuardNoSend;

    fn lock(&self) {
        let was = cpu::disable_interrupts();
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        self.interrupts_were_enabled.store(was, Ordering::Relaxed);
    }

    fn try_lock(&self) -> bool {
        let was = cpu::disable_interrupts();
        if self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            self.interrupts_were_enabled.store(was, Ordering::Relaxed);
            true
        } else {
            cpu::restore_interrupts(was);
            false
        }
    }

    unsafe fn unlock(&self) {
        let was = self.interrupts_were_enabled.load(Ordering::Relaxed);
        self.locked.store(false, Ordering::Release);
        cpu::restore_interrupts(was);
    }
}
