//! Hosted threads: std threads, joins through an exit record, and reuse of exited threads.
//!
//! `rumpuser_thread_exit` cannot unwind through the rump kernel's C frames (they may lack
//! unwind information and `extern "C"` frames abort on unwinding), so an exiting thread never
//! returns. Instead it marks its exit record (waking a joiner) and offers itself for the next
//! `spawn`: the new work runs on top of the old frames. A thread is reused only while less than
//! a quarter of its stack is in use and the idle pool is small; otherwise it parks for good, as
//! docs/contract.md §4.2 allows.

extern crate alloc;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::Cell;
use core::ptr;
use core::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};

use crate::errno::Errno;
use crate::host::{JoinToken, ThreadAttrs, ThreadStart};

/// Stack size of rump threads (NetBSD code expects user-space sized stacks, contract §4.1).
const STACK_SIZE: usize = 1 << 20;
/// A thread is reused only while its stack use is below this.
const REUSE_STACK_LIMIT: usize = STACK_SIZE / 4;
/// At most this many exited threads wait for new work.
const IDLE_LIMIT: usize = 64;

std::thread_local! {
    static EXIT_RECORD: Cell<*const ExitRecord> = const { Cell::new(ptr::null()) };
    static STACK_TOP: Cell<usize> = const { Cell::new(0) };
}

/// Shared between a thread and its joiner: `done` becomes 1 when the thread's work exits.
pub(crate) struct ExitRecord {
    pub(crate) done: AtomicU32,
}

type Job = (ThreadStart, Arc<ExitRecord>);

/// An exited thread waiting for new work.
struct Idle {
    job: Mutex<Option<Job>>,
    ready: Condvar,
}

/// The idle pool of one host.
pub(crate) struct Threads {
    idle: Mutex<Vec<Arc<Idle>>>,
}

fn stack_position() -> usize {
    let marker = 0u8;
    core::hint::black_box(&marker) as *const u8 as usize
}

impl Threads {
    pub(crate) const fn new() -> Self {
        Threads {
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Starts `start` on a reused idle thread or a new std thread.
    pub(crate) fn spawn(
        &self,
        start: ThreadStart,
        attrs: &ThreadAttrs<'_>,
    ) -> Result<JoinToken, Errno> {
        let record = Arc::new(ExitRecord {
            done: AtomicU32::new(0),
        });
        let job = (start, Arc::clone(&record));
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        if let Some(idle) = idle {
            *idle.job.lock().unwrap_or_else(|e| e.into_inner()) = Some(job);
            idle.ready.notify_one();
        } else {
            std::thread::Builder::new()
                .stack_size(STACK_SIZE)
                .name(String::from(attrs.name.unwrap_or("rump")))
                .spawn(move || {
                    STACK_TOP.with(|t| t.set(stack_position()));
                    run(job);
                })
                .map_err(|_| Errno::EAGAIN)?;
        }
        // The joiner's reference travels through the C cookie (joinable threads only).
        Ok(JoinToken(if attrs.joinable {
            Arc::into_raw(record) as usize
        } else {
            0
        }))
    }

    /// Ends the current work; the host thread waits for new work or parks for good.
    pub(crate) fn exit_current(&self, host: &super::HostedHost) -> ! {
        let record = EXIT_RECORD.with(Cell::get);
        // SAFETY: set by `run` from an `Arc` that its caller's frame keeps alive, and that
        // frame is never left again (this function does not return).
        if let Some(record) = unsafe { record.as_ref() } {
            mark_exited(record);
        }
        loop {
            // Only threads made by `spawn` know their stack top; others are never reused.
            let top = STACK_TOP.with(Cell::get);
            let used = top.saturating_sub(stack_position());
            let mut idle_list = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            if top == 0 || used > REUSE_STACK_LIMIT || idle_list.len() >= IDLE_LIMIT {
                drop(idle_list);
                loop {
                    std::thread::park();
                }
            }
            let idle = Arc::new(Idle {
                job: Mutex::new(None),
                ready: Condvar::new(),
            });
            idle_list.push(Arc::clone(&idle));
            drop(idle_list);
            let mut slot = idle.job.lock().unwrap_or_else(|e| e.into_inner());
            let job = loop {
                if let Some(job) = slot.take() {
                    break job;
                }
                slot = idle.ready.wait(slot).unwrap_or_else(|e| e.into_inner());
            };
            drop(slot);
            // A new thread starts with curlwp = NULL (contract §4.1); the old work cleared it.
            crate::host::Host::set_curlwp(host, ptr::null_mut());
            run(job);
        }
    }
}

/// Runs one job; if it returns (instead of calling `exit_thread`), marks it exited.
fn run(job: Job) {
    let (start, record) = job;
    EXIT_RECORD.with(|r| r.set(Arc::as_ptr(&record)));
    start.run();
    mark_exited(&record);
    EXIT_RECORD.with(|r| r.set(ptr::null()));
}

fn mark_exited(record: &ExitRecord) {
    record.done.store(1, Ordering::Release);
    crate::host::Host::wake(super::HostedHost::global(), &record.done, u32::MAX);
}

/// Waits for the thread of a joinable token and releases the token's reference.
pub(crate) fn join(host: &super::HostedHost, token: JoinToken) -> Result<(), Errno> {
    let record = token.0 as *const ExitRecord;
    if record.is_null() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: a joinable token is `Arc::into_raw` from `spawn`, joined once (contract §4.3).
    let record = unsafe { Arc::from_raw(record) };
    while record.done.load(Ordering::Acquire) == 0 {
        crate::host::Host::wait(host, &record.done, 0, None);
    }
    Ok(())
}
