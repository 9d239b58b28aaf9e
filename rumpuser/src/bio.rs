//! `rumpuser_bio` (docs/contract.md §5.3, §2.9): handed to the host's device queue when it can
//! take it, else done on completion threads through the host's synchronous file calls.
//!
//! **Asynchronous path.** `rumpuser_bio` offers the request to [`Host::start_bio`]. A host that
//! takes it lends the rump buffer to its device and calls [`BioRequest::complete`] when the
//! transfer ends — from any context, its interrupt handler included. `complete` only links the
//! request into a lock-free list and wakes the completion thread; that thread (one, with a
//! permanent lwp, contract §2.9) takes a vCPU with `hyp_backend_schedule(0, NULL)` once per
//! batch and calls each `biodone` in state S, never from the interrupt. Several requests are
//! in flight at once, with no copy and no thread per request; the caller keeps its vCPU, since
//! starting a request never waits.
//!
//! **Synchronous path** (the default `start_bio`, and any request a host gives back):
//! `rumpuser_bio` releases the vCPU, queues the request and reschedules (as NBU does). Up to
//! [`WORKERS`] threads, started on first use, each own a permanent lwp, perform the transfer
//! through `Host::read`/`write`/`sync` while unscheduled, then call `biodone` in state S.
//!
//! Either way a short transfer completes with EIO and the count actually moved, and each
//! request completes exactly once.

extern crate alloc;

use alloc::boxed::Box;
use core::ffi::{c_int, c_void};
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};

use crate::abi::{RumpBiodoneFn, RUMPUSER_BIO_READ, RUMPUSER_BIO_SYNC, RUMPUSER_BIO_WRITE};
use crate::errno::Errno;
use crate::host::{SyncFlags, ThreadAttrs, ThreadStart};
use crate::install::host;
use crate::sched;
use crate::service::ServiceQueue;

/// Number of threads of the synchronous path.
pub const WORKERS: u32 = 2;

/// What a block request does (`RUMPUSER_BIO_*`, validated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BioOperation {
    /// Device to memory.
    Read,
    /// Memory to device; `sync`: stable storage before completion (`RUMPUSER_BIO_SYNC`).
    Write { sync: bool },
}

/// One `rumpuser_bio` call, owned by whoever will complete it.
struct Inner {
    fd: c_int,
    op: c_int,
    data: *mut u8,
    len: usize,
    offset: i64,
    done: RumpBiodoneFn,
    done_arg: *mut c_void,
    /// Set by `complete`: bytes moved and NetBSD errno.
    moved: usize,
    error: c_int,
    /// Link in the completed list.
    next: *mut Inner,
}

/// A block request handed to [`Host::start_bio`](crate::Host::start_bio).
///
/// The host transfers [`len`](Self::len) bytes between the rump buffer at
/// [`data`](Self::data) and its file `fd` at [`offset`](Self::offset), then calls
/// [`complete`](Self::complete) exactly once. Dropping it uncompleted completes it with EIO
/// (a safety net: the rump kernel would otherwise wait forever).
pub struct BioRequest(Option<Box<Inner>>);

// SAFETY: the rump kernel hands `data` and `done_arg` over until completion (contract §5.3);
// whoever holds the request is the only user, and completion may happen on any CPU.
unsafe impl Send for BioRequest {}

impl BioRequest {
    fn inner(&self) -> &Inner {
        self.0.as_ref().expect("a request is completed only once")
    }

    /// The host descriptor from `rumpuser_open`.
    pub fn fd(&self) -> i32 {
        self.inner().fd
    }

    /// Read or write.
    pub fn operation(&self) -> BioOperation {
        if self.inner().op & RUMPUSER_BIO_WRITE != 0 {
            BioOperation::Write {
                sync: self.inner().op & RUMPUSER_BIO_SYNC != 0,
            }
        } else {
            BioOperation::Read
        }
    }

    /// Byte offset on the file.
    pub fn offset(&self) -> u64 {
        self.inner().offset as u64
    }

    /// Bytes to transfer.
    pub fn len(&self) -> usize {
        self.inner().len
    }

    /// Whether the request moves no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rump buffer: valid for [`len`](Self::len) bytes, and used by nobody but the host,
    /// until [`complete`](Self::complete) is called; the host must not touch it afterwards.
    /// Rump's heap is physically contiguous (contract §1.2), but a host lending it to a
    /// device must still check.
    pub fn data(&self) -> *mut u8 {
        self.inner().data
    }

    /// Ends the request: `moved` bytes were transferred, `error` is `None` or the NetBSD errno
    /// (a short transfer must carry one). Never blocks and never calls into the rump kernel,
    /// so the host may call it from its interrupt handler; `biodone` runs later on the
    /// completion thread.
    pub fn complete(mut self, moved: usize, error: Option<Errno>) {
        if let Some(mut inner) = self.0.take() {
            inner.moved = moved.min(inner.len);
            inner.error = match error {
                Some(Errno(value)) => value,
                None if moved < inner.len => Errno::EIO.0,
                None => 0,
            };
            crate::stats::count(crate::stats::Kind::BioComplete);
            COMPLETED.push(inner);
        }
    }

    /// Gives the request back to this crate's synchronous path.
    fn into_inner(mut self) -> Box<Inner> {
        self.0.take().expect("a request is completed only once")
    }
}

impl Drop for BioRequest {
    fn drop(&mut self) {
        if let Some(mut inner) = self.0.take() {
            inner.moved = 0;
            inner.error = Errno::EIO.0;
            COMPLETED.push(inner);
        }
    }
}

/// Completed requests waiting for the completion thread: a lock-free stack (pushed from any
/// context; the thread takes the whole stack at once, so no ABA problem) and a futex word.
struct CompletedList {
    head: AtomicPtr<Inner>,
    signal: AtomicU32,
    sleeping: AtomicBool,
    started: AtomicU32,
}

static COMPLETED: CompletedList = CompletedList {
    head: AtomicPtr::new(ptr::null_mut()),
    signal: AtomicU32::new(0),
    sleeping: AtomicBool::new(false),
    started: AtomicU32::new(0),
};

/// Requests completed through the asynchronous path (for tests and reports).
static ASYNC_COMPLETIONS: AtomicU64 = AtomicU64::new(0);

/// Requests the host has completed through the asynchronous path so far.
pub fn async_completions() -> u64 {
    ASYNC_COMPLETIONS.load(Ordering::Relaxed)
}

impl CompletedList {
    fn push(&self, inner: Box<Inner>) {
        let raw = Box::into_raw(inner);
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            // SAFETY: `raw` is ours until the exchange publishes it.
            unsafe { (*raw).next = head };
            match self
                .head
                .compare_exchange_weak(head, raw, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(current) => head = current,
            }
        }
        self.signal.fetch_add(1, Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) {
            crate::stats::wake(crate::stats::Kind::BioWake, &self.signal, 1);
        }
    }

    /// Takes every completed request, oldest first.
    fn take_all(&self) -> *mut Inner {
        let mut list = self.head.swap(ptr::null_mut(), Ordering::AcqRel);
        // The stack is newest first: reverse it so that biodone sees completion order.
        let mut reversed: *mut Inner = ptr::null_mut();
        while !list.is_null() {
            // SAFETY: every node came from `Box::into_raw` in `push` and is owned by the taker.
            let next = unsafe { (*list).next };
            // SAFETY: as above.
            unsafe { (*list).next = reversed };
            reversed = list;
            list = next;
        }
        reversed
    }

    fn start_thread(&self) -> bool {
        if self.started.load(Ordering::Acquire) == 2 {
            return true;
        }
        if self
            .started
            .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let attrs = ThreadAttrs {
                name: Some("rumpuser-biodone"),
                joinable: false,
                priority: 123,
                cpu: None,
            };
            let started = host().spawn(ThreadStart::new(completion_thread), &attrs);
            self.started
                .store(if started.is_ok() { 2 } else { 0 }, Ordering::Release);
            return started.is_ok();
        }
        // Another caller is starting it; requests completed meanwhile wait in the list.
        true
    }
}

fn completion_thread() {
    sched::enter_persistent_lwp();
    // Each batch ends with this thread asleep: whoever its biodone calls wake (the thread
    // waiting for the transfer) runs best where it ran.
    host().wakes_run_here();
    let list = &COMPLETED;
    loop {
        let seen = list.signal.load(Ordering::SeqCst);
        list.sleeping.store(true, Ordering::SeqCst);
        if list.head.load(Ordering::SeqCst).is_null() {
            crate::stats::wait(crate::stats::Kind::BioSleep, &list.signal, seen, None);
        }
        list.sleeping.store(false, Ordering::SeqCst);
        let mut next = list.take_all();
        if next.is_null() {
            continue;
        }
        // A host that stops the rump kernel parks this thread here instead of letting a late
        // completion call back into it.
        host().checkpoint();
        crate::stats::count(crate::stats::Kind::BioBatch);
        let _scheduled = sched::Scheduled::new(0);
        while !next.is_null() {
            // SAFETY: nodes of the taken list are owned here; each is freed once.
            let inner = unsafe { Box::from_raw(next) };
            next = inner.next;
            ASYNC_COMPLETIONS.fetch_add(1, Ordering::Relaxed);
            let _timed = crate::stats::Timed::new(crate::stats::Kind::BioDone);
            call_biodone(inner.done, inner.done_arg, inner.moved, inner.error);
        }
    }
}

/// Calls the completion callback; the caller is in state S.
fn call_biodone(done: RumpBiodoneFn, argument: *mut c_void, moved: usize, error: c_int) {
    if let Some(done) = done {
        // SAFETY: the rump kernel's completion callback with its own argument, called once,
        // in state S, after the host stopped using the buffer (contract §5.3).
        unsafe { done(argument, moved, error) };
    }
}

/// The arguments of one `rumpuser_bio` call.
pub(crate) struct Arguments {
    pub fd: c_int,
    pub op: c_int,
    pub data: *mut u8,
    pub len: usize,
    pub offset: i64,
    pub done: RumpBiodoneFn,
    pub done_arg: *mut c_void,
}

/// A request of the synchronous path.
struct Queued(Box<Inner>);

// SAFETY: as for `BioRequest`: exactly one worker uses the request's pointers.
unsafe impl Send for Queued {}

static QUEUE: ServiceQueue<Queued> = ServiceQueue::new();

/// `rumpuser_bio`; called in state S.
pub(crate) fn submit(arguments: Arguments) {
    let inner = Box::new(Inner {
        fd: arguments.fd,
        op: arguments.op,
        data: arguments.data,
        len: arguments.len,
        offset: arguments.offset,
        done: arguments.done,
        done_arg: arguments.done_arg,
        moved: 0,
        error: 0,
        next: ptr::null_mut(),
    });
    let valid = arguments.offset >= 0
        && (arguments.op & RUMPUSER_BIO_WRITE != 0) != (arguments.op & RUMPUSER_BIO_READ != 0);
    let inner = if valid && COMPLETED.start_thread() {
        match host().start_bio(BioRequest(Some(inner))) {
            Ok(()) => return,
            Err(request) => request.into_inner(),
        }
    } else {
        inner
    };
    QUEUE.start(WORKERS, "rumpuser-bio", worker);
    if QUEUE.threads() == 0 {
        // No completion thread could be created: complete inline, in state S (contract §5.3).
        let (moved, error) = sched::blocking(|| perform(&inner));
        call_biodone(inner.done, inner.done_arg, moved, error);
        return;
    }
    let _unscheduled = sched::Unscheduled::new();
    QUEUE.push(Queued(inner));
}

fn worker() {
    sched::enter_persistent_lwp();
    loop {
        let Queued(request) = QUEUE.pop();
        let (moved, error) = perform(&request);
        let _scheduled = sched::Scheduled::new(0);
        call_biodone(request.done, request.done_arg, moved, error);
    }
}

/// Does the transfer through the host; returns (bytes moved, NetBSD errno).
fn perform(request: &Inner) -> (usize, c_int) {
    let host = host();
    let Ok(offset) = u64::try_from(request.offset) else {
        return (0, Errno::EINVAL.0);
    };
    let write = request.op & RUMPUSER_BIO_WRITE != 0;
    if write == (request.op & RUMPUSER_BIO_READ != 0) {
        return (0, Errno::EINVAL.0);
    }
    let mut done = 0usize;
    while done < request.len {
        let position = Some(offset + done as u64);
        // SAFETY: `data` is valid for `len` bytes until completion (contract §5.3) and only this
        // worker uses it; the slice does not outlive this iteration.
        let result = unsafe {
            let rest = core::slice::from_raw_parts_mut(request.data.add(done), request.len - done);
            if write {
                host.write(request.fd, rest, position)
            } else {
                host.read(request.fd, rest, position)
            }
        };
        match result {
            Ok(0) => return (done, Errno::EIO.0),
            Ok(n) => done += n,
            Err(Errno(e)) => return (done, e),
        }
    }
    if write && request.op & RUMPUSER_BIO_SYNC != 0 {
        let flags = SyncFlags {
            read: false,
            write: true,
            barrier: false,
            wait_stable: true,
        };
        if let Err(Errno(e)) = host.sync(request.fd, flags, offset, request.len as u64) {
            return (done, e);
        }
    }
    (done, 0)
}
