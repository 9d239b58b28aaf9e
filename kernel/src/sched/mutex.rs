//! Blocking mutex with owner tracking and direct hand-off to the longest waiter.
//!
//! Threads only (it may sleep); never from interrupt handlers or with a spin lock held.
//! Misuse panics naming the lock and the threads involved: unlocking a mutex the caller does not
//! own, recursive locking, destroying a mutex that has waiters.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU64, Ordering};

use crate::sched::wait::WaitQueue;

/// The raw lock: owner thread id (0 = free) plus a wait queue.
pub struct RawMutex {
    name: &'static str,
    owner: AtomicU64,
    waiters: WaitQueue,
}

fn me() -> u64 {
    crate::sched::current_thread().id
}

fn name_of(id: u64) -> alloc::string::String {
    crate::sched::registry::snapshot()
        .iter()
        .find(|t| t.id == id)
        .map(|t| alloc::format!("'{}' (id {id})", t.name))
        .unwrap_or_else(|| alloc::format!("id {id} (exited)"))
}

impl RawMutex {
    /// A free mutex.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            owner: AtomicU64::new(0),
            waiters: WaitQueue::new("mutex"),
        }
    }

    /// Takes the mutex if it is free.
    pub fn try_lock(&self) -> bool {
        self.owner
            .compare_exchange(0, me(), Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Takes the mutex, sleeping while another thread owns it.
    pub fn lock(&self) {
        let id = me();
        if self
            .owner
            .compare_exchange(0, id, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        if self.owner.load(Ordering::Relaxed) == id {
            panic!(
                "mutex '{}': recursive lock by thread {}",
                self.name,
                name_of(id)
            );
        }
        crate::sched::assert_may_sleep("mutex lock");
        // Either take it while it is free, or sleep; `unlock` hands ownership to us directly.
        self.waiters.wait_until(None, || {
            self.owner
                .compare_exchange(0, id, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
                || self.owner.load(Ordering::Acquire) == id
        });
    }

    /// Releases the mutex, handing it to the longest waiter if there is one.
    pub fn unlock(&self) {
        let id = me();
        let owner = self.owner.load(Ordering::Relaxed);
        if owner != id {
            panic!(
                "mutex '{}': unlocked by thread {} but owned by {}",
                self.name,
                name_of(id),
                if owner == 0 {
                    "nobody".into()
                } else {
                    name_of(owner)
                }
            );
        }
        // Under the wait-queue lock, so a thread about to sleep either sees the lock free or is
        // already queued and gets it handed over.
        let handed = self.waiters.with_lock(|queue| match queue.front() {
            Some(next) => {
                self.owner.store(next.id, Ordering::Release);
                true
            }
            None => {
                self.owner.store(0, Ordering::Release);
                false
            }
        });
        if handed {
            self.waiters.wake_one();
        }
    }

    /// Whether the calling thread owns the mutex.
    pub fn is_owned_by_current(&self) -> bool {
        self.owner.load(Ordering::Relaxed) == me()
    }

    /// Owner thread id, 0 when free.
    pub fn owner_id(&self) -> u64 {
        self.owner.load(Ordering::Relaxed)
    }

    /// Whether threads wait for the mutex.
    pub fn has_waiters(&self) -> bool {
        self.waiters.has_waiters()
    }
}

impl Drop for RawMutex {
    fn drop(&mut self) {
        if self.waiters.has_waiters() {
            panic!(
                "mutex '{}' destroyed while {} threads wait for it",
                self.name,
                self.waiters.len()
            );
        }
    }
}

/// A mutex protecting a value.
pub struct Mutex<T> {
    raw: RawMutex,
    value: UnsafeCell<T>,
}

// SAFETY: the raw mutex serialises access to `value`.
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: owning the mutex owns the value.
unsafe impl<T: Send> Send for Mutex<T> {}

/// Proof of owning a [`Mutex`].
pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
}

impl<T> Mutex<T> {
    /// A free mutex named `name`.
    pub const fn new(name: &'static str, value: T) -> Self {
        Self {
            raw: RawMutex::new(name),
            value: UnsafeCell::new(value),
        }
    }

    /// Locks, sleeping if needed.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.raw.lock();
        MutexGuard { mutex: self }
    }

    /// Locks only if free.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.raw.try_lock().then_some(MutexGuard { mutex: self })
    }

    /// The raw lock (for condition variables).
    pub fn raw(&self) -> &RawMutex {
        &self.raw
    }
}

impl<'a, T> MutexGuard<'a, T> {
    /// The mutex this guard holds.
    pub fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves ownership.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves ownership.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.raw.unlock();
    }
}
