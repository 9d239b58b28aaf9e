//! Asynchronous `rumpuser_bio`: a queue and completion threads (docs/contract.md §5.3, §2.9).
//!
//! `rumpuser_bio` releases the vCPU, queues the request and reschedules (as NBU does). Up to
//! [`WORKERS`] host threads, started on first use, each own a permanent lwp (contract §2.9). A
//! worker takes a request, performs the I/O through the `Host` while unscheduled (state U), then
//! calls `hyp_backend_schedule(0, NULL)`, the completion callback, and
//! `hyp_backend_unschedule` — so `biodone` always runs in state S on a host thread that is
//! not the caller's. A short transfer completes with EIO and the count actually moved.

extern crate alloc;

use core::ffi::{c_int, c_void};

use crate::abi::{RumpBiodoneFn, RUMPUSER_BIO_READ, RUMPUSER_BIO_SYNC, RUMPUSER_BIO_WRITE};
use crate::errno::Errno;
use crate::host::SyncFlags;
use crate::install::host;
use crate::sched;
use crate::service::ServiceQueue;

/// Number of completion threads.
pub const WORKERS: u32 = 2;

/// One `rumpuser_bio` call.
pub(crate) struct Request {
    pub fd: c_int,
    pub op: c_int,
    pub data: *mut u8,
    pub len: usize,
    pub offset: i64,
    pub done: RumpBiodoneFn,
    pub done_arg: *mut c_void,
}

// SAFETY: the rump kernel hands `data` and `done_arg` to the host until completion
// (contract §5.3); exactly one worker uses them, and the caller does not touch them meanwhile.
unsafe impl Send for Request {}

static QUEUE: ServiceQueue<Request> = ServiceQueue::new();

/// Queues a request; called in state S, releases the vCPU around the queueing.
pub(crate) fn submit(request: Request) {
    QUEUE.start(WORKERS, "rumpuser-bio", worker);
    if QUEUE.threads() == 0 {
        // No completion thread could be created: complete inline, in state S (contract §5.3).
        let (count, error) = sched::blocking(|| perform(&request));
        complete(&request, count, error);
        return;
    }
    let _unscheduled = sched::Unscheduled::new();
    QUEUE.push(request);
}

fn worker() {
    sched::enter_persistent_lwp();
    loop {
        let request = QUEUE.pop();
        let (count, error) = perform(&request);
        let _scheduled = sched::Scheduled::new(0);
        complete(&request, count, error);
    }
}

/// Calls the completion callback; the caller is in state S.
fn complete(request: &Request, count: usize, error: c_int) {
    if let Some(done) = request.done {
        // SAFETY: the rump kernel's completion callback with its own argument, called once,
        // in state S, after the host stopped using `data` (contract §5.3).
        unsafe { done(request.done_arg, count, error) };
    }
}

/// Does the transfer through the host; returns (bytes moved, NetBSD errno).
fn perform(request: &Request) -> (usize, c_int) {
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
