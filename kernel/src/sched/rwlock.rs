//! Reader-writer lock with try-enter, try-upgrade and downgrade. Writers are preferred once
//! waiting, so readers cannot starve them. Threads only.

use crate::sched::wait::WaitQueue;
use crate::sync::spin::IrqSpinLock;

#[derive(Default)]
struct State {
    readers: usize,
    writer: u64,
    waiting_writers: usize,
}

/// A reader-writer lock (the raw form; callers keep their data beside it).
pub struct RwLock {
    name: &'static str,
    state: IrqSpinLock<State>,
    waiters: WaitQueue,
}

fn me() -> u64 {
    crate::sched::current_thread().id
}

impl RwLock {
    /// An unlocked lock.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            state: IrqSpinLock::new(
                "rwlock-state",
                State {
                    readers: 0,
                    writer: 0,
                    waiting_writers: 0,
                },
            ),
            waiters: WaitQueue::new("rwlock"),
        }
    }

    /// Shared entry if no writer holds or waits.
    pub fn try_read(&self) -> bool {
        let mut s = self.state.lock();
        if s.writer == 0 && s.waiting_writers == 0 {
            s.readers += 1;
            true
        } else {
            false
        }
    }

    /// Exclusive entry if the lock is free.
    pub fn try_write(&self) -> bool {
        let mut s = self.state.lock();
        if s.writer == 0 && s.readers == 0 {
            s.writer = me();
            true
        } else {
            false
        }
    }

    /// Shared entry, sleeping while a writer holds or waits.
    pub fn read(&self) {
        if self.state.lock().writer == me() {
            panic!(
                "rwlock '{}': thread '{}' takes it for reading while holding it for writing",
                self.name,
                crate::sched::current_name()
            );
        }
        self.waiters.wait_until(None, || self.try_read());
    }

    /// Exclusive entry, sleeping while others hold it.
    pub fn write(&self) {
        let id = me();
        if self.state.lock().writer == id {
            panic!(
                "rwlock '{}': recursive write lock by thread '{}'",
                self.name,
                crate::sched::current_name()
            );
        }
        if self.try_write() {
            return;
        }
        self.state.lock().waiting_writers += 1;
        self.waiters.wait_until(None, || {
            let mut s = self.state.lock();
            if s.writer == 0 && s.readers == 0 {
                s.writer = id;
                s.waiting_writers -= 1;
                true
            } else {
                false
            }
        });
    }

    /// Releases a shared or exclusive hold.
    pub fn unlock(&self) {
        {
            let mut s = self.state.lock();
            if s.writer != 0 {
                if s.writer != me() {
                    panic!(
                        "rwlock '{}': write-unlocked by thread '{}' which does not hold it",
                        self.name,
                        crate::sched::current_name()
                    );
                }
                s.writer = 0;
            } else if s.readers > 0 {
                s.readers -= 1;
            } else {
                panic!(
                    "rwlock '{}': unlocked by thread '{}' but not held",
                    self.name,
                    crate::sched::current_name()
                );
            }
        }
        self.waiters.wake_all();
    }

    /// Turns the caller's shared hold into an exclusive one if it is the only reader.
    pub fn try_upgrade(&self) -> bool {
        let mut s = self.state.lock();
        if s.readers == 1 && s.writer == 0 {
            s.readers = 0;
            s.writer = me();
            true
        } else {
            false
        }
    }

    /// Turns the caller's exclusive hold into a shared one, letting other readers in.
    pub fn downgrade(&self) {
        {
            let mut s = self.state.lock();
            if s.writer != me() {
                panic!(
                    "rwlock '{}': downgraded by thread '{}' which does not hold it for writing",
                    self.name,
                    crate::sched::current_name()
                );
            }
            s.writer = 0;
            s.readers += 1;
        }
        self.waiters.wake_all();
    }

    /// Whether the calling thread holds it for writing.
    pub fn write_held(&self) -> bool {
        self.state.lock().writer == me()
    }

    /// Whether anyone holds it for reading.
    pub fn read_held(&self) -> bool {
        self.state.lock().readers > 0
    }
}

impl Drop for RwLock {
    fn drop(&mut self) {
        if self.waiters.has_waiters() {
            panic!("rwlock '{}' destroyed while threads wait for it", self.name);
        }
    }
}
