//! The asynchronous `rumpuser_bio` path (contract §5.3) against a host whose `start_bio`
//! completes requests later, out of order, from threads of its own (as a kernel completes them
//! from its interrupt handler), inline, with errors, or not at all (dropped), and that hands
//! some requests back to the synchronous path.
//!
//! Everything else is delegated to the hosted backend. The upcall table records, per host
//! thread, whether the thread holds a vCPU, so each `biodone` can check it ran in state S on a
//! service thread with a permanent lwp.
#![cfg(feature = "hosted")]

use core::alloc::Layout;
use core::ffi::{c_int, c_void, CStr};
use core::ptr::NonNull;
use core::time::Duration;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use rumpuser::abi::{
    Lwp, RumpuserHyperup, RUMPUSER_BIO_READ, RUMPUSER_BIO_SYNC, RUMPUSER_BIO_WRITE,
    RUMPUSER_LWP_SET, RUMPUSER_OPEN_BIO, RUMPUSER_OPEN_CREATE, RUMPUSER_VERSION,
};
use rumpuser::exports::file::{rumpuser_bio, rumpuser_close, rumpuser_open};
use rumpuser::exports::system::{rumpuser_curlwpop, rumpuser_init};
use rumpuser::host::{FileInfo, JoinToken, OpenFlags, SyncFlags, ThreadAttrs, ThreadStart};
use rumpuser::hosted::HostedHost;
use rumpuser::{BioOperation, BioRequest, Errno, Host, WaitOutcome};

/// Descriptors at or above this are handed back to the synchronous path.
const REFUSED_FD_BASE: i32 = 1000;
/// `RUMPUSER_OPEN_RDWR` (access mode 2).
const RUMPUSER_OPEN_RDWR: c_int = 2;

/// How the test host ends the requests it takes, chosen by the request's offset.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ending {
    /// On a thread of its own after a delay derived from the offset (out of order).
    Later,
    /// Inside `start_bio`, before it returns.
    Inline,
    /// Half the bytes, then an error.
    Short,
    /// Dropped without a completion.
    Dropped,
}

const SHORT_OFFSET: u64 = 1 << 30;
const DROPPED_OFFSET: u64 = 2 << 30;

fn ending(offset: u64, index: u64) -> Ending {
    match offset {
        SHORT_OFFSET => Ending::Short,
        DROPPED_OFFSET => Ending::Dropped,
        _ if index % 4 == 3 => Ending::Inline,
        _ => Ending::Later,
    }
}

struct AsyncHost;

static STARTED: AtomicUsize = AtomicUsize::new(0);

fn hosted() -> &'static HostedHost {
    HostedHost::global()
}

/// Does the transfer with the hosted file calls; returns (bytes moved, error).
fn transfer(request: &BioRequest) -> (usize, Option<Errno>) {
    // SAFETY: the request lends its buffer until completion, and only this host uses it.
    let buffer = unsafe { std::slice::from_raw_parts_mut(request.data(), request.len()) };
    let result = match request.operation() {
        BioOperation::Read => hosted().read(request.fd(), buffer, Some(request.offset())),
        BioOperation::Write { .. } => hosted().write(request.fd(), buffer, Some(request.offset())),
    };
    match result {
        Ok(moved) if moved == request.len() => (moved, None),
        Ok(moved) => (moved, Some(Errno::EIO)),
        Err(error) => (0, Some(error)),
    }
}

impl Host for AsyncHost {
    fn start_bio(&self, request: BioRequest) -> Result<(), BioRequest> {
        if request.fd() >= REFUSED_FD_BASE {
            return Err(request);
        }
        let index = STARTED.fetch_add(1, Ordering::SeqCst) as u64;
        match ending(request.offset(), index) {
            Ending::Inline => {
                let (moved, error) = transfer(&request);
                request.complete(moved, error);
            }
            Ending::Short => {
                let half = request.len() / 2;
                request.complete(half, Some(Errno::EIO));
            }
            Ending::Dropped => drop(request),
            Ending::Later => {
                let delay = Duration::from_micros((request.offset() / 4096 * 7919) % 3000);
                std::thread::spawn(move || {
                    std::thread::sleep(delay);
                    let (moved, error) = transfer(&request);
                    request.complete(moved, error);
                });
            }
        }
        Ok(())
    }

    fn spawn(&self, start: ThreadStart, attrs: &ThreadAttrs<'_>) -> Result<JoinToken, Errno> {
        hosted().spawn(start, attrs)
    }
    fn exit_thread(&self) -> ! {
        hosted().exit_thread()
    }
    fn join(&self, token: JoinToken) -> Result<(), Errno> {
        hosted().join(token)
    }
    fn curlwp(&self) -> *mut c_void {
        hosted().curlwp()
    }
    fn set_curlwp(&self, lwp: *mut c_void) {
        hosted().set_curlwp(lwp)
    }
    fn set_errno(&self, errno: i32) {
        hosted().set_errno(errno)
    }
    fn wait(&self, word: &AtomicU32, expected: u32, deadline: Option<Duration>) -> WaitOutcome {
        hosted().wait(word, expected, deadline)
    }
    fn wake(&self, word: &AtomicU32, count: u32) {
        hosted().wake(word, count)
    }
    fn monotonic(&self) -> Duration {
        hosted().monotonic()
    }
    fn wall_clock(&self) -> Duration {
        hosted().wall_clock()
    }
    fn sleep_until(&self, deadline: Duration) {
        hosted().sleep_until(deadline)
    }
    fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        hosted().alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded caller contract.
        unsafe { hosted().dealloc(ptr, layout) }
    }
    fn random(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        hosted().random(buf)
    }
    fn console_putc(&self, byte: u8) {
        hosted().console_putc(byte)
    }
    fn exit(&self, code: i32) -> ! {
        hosted().exit(code)
    }
    fn open(&self, name: &CStr, flags: OpenFlags) -> Result<i32, Errno> {
        hosted().open(name, flags)
    }
    fn close(&self, fd: i32) -> Result<(), Errno> {
        hosted().close(fd % REFUSED_FD_BASE)
    }
    fn file_info(&self, name: &CStr) -> Result<FileInfo, Errno> {
        hosted().file_info(name)
    }
    fn read(&self, fd: i32, buf: &mut [u8], offset: Option<u64>) -> Result<usize, Errno> {
        hosted().read(fd % REFUSED_FD_BASE, buf, offset)
    }
    fn write(&self, fd: i32, buf: &[u8], offset: Option<u64>) -> Result<usize, Errno> {
        hosted().write(fd % REFUSED_FD_BASE, buf, offset)
    }
    fn sync(&self, fd: i32, flags: SyncFlags, start: u64, len: u64) -> Result<(), Errno> {
        hosted().sync(fd % REFUSED_FD_BASE, flags, start, len)
    }
}

static HOST: AsyncHost = AsyncHost;

// ---- a recording rump kernel: per-thread vCPU state ----

std::thread_local! {
    static SCHEDULED: Cell<bool> = const { Cell::new(false) };
}

unsafe extern "C" fn hyp_schedule() {
    SCHEDULED.with(|s| s.set(true));
}
unsafe extern "C" fn hyp_unschedule() {
    SCHEDULED.with(|s| s.set(false));
}
unsafe extern "C" fn hyp_backend_unschedule(_: c_int, count: *mut c_int, _: *mut c_void) {
    SCHEDULED.with(|s| s.set(false));
    // SAFETY: rumpuser passes a valid out-pointer.
    unsafe { *count = 0 };
}
unsafe extern "C" fn hyp_backend_schedule(_: c_int, _: *mut c_void) {
    SCHEDULED.with(|s| s.set(true));
}
static NEXT_LWP: AtomicUsize = AtomicUsize::new(0x1000);
unsafe extern "C" fn hyp_lwproc_newlwp(_: c_int) -> c_int {
    let lwp = NEXT_LWP.fetch_add(0x10, Ordering::SeqCst) as *mut Lwp;
    // SAFETY: an opaque marker value, never dereferenced.
    unsafe { rumpuser_curlwpop(RUMPUSER_LWP_SET, lwp) };
    0
}

/// What each `biodone` saw, by its argument.
#[derive(Debug, Clone, Copy)]
struct Done {
    moved: usize,
    error: c_int,
    scheduled: bool,
    lwp: usize,
    thread: std::thread::ThreadId,
}

static DONE: Mutex<Option<HashMap<usize, Vec<Done>>>> = Mutex::new(None);

unsafe extern "C" fn biodone(argument: *mut c_void, moved: usize, error: c_int) {
    let done = Done {
        moved,
        error,
        scheduled: SCHEDULED.with(Cell::get),
        lwp: HOST.curlwp() as usize,
        thread: std::thread::current().id(),
    };
    let mut record = DONE.lock().unwrap();
    record
        .get_or_insert_with(HashMap::new)
        .entry(argument as usize)
        .or_default()
        .push(done);
}

fn completions(tag: usize) -> Vec<Done> {
    DONE.lock()
        .unwrap()
        .as_ref()
        .and_then(|map| map.get(&tag).cloned())
        .unwrap_or_default()
}

fn wait_for(tags: &[usize]) {
    let start = Instant::now();
    while tags.iter().any(|&tag| completions(tag).is_empty()) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no biodone for some of {tags:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // A second completion would show up right after the first.
    std::thread::sleep(Duration::from_millis(20));
}

fn setup() -> (c_int, std::path::PathBuf) {
    let _ = rumpuser::install(&HOST);
    let table = RumpuserHyperup {
        hyp_schedule: Some(hyp_schedule),
        hyp_unschedule: Some(hyp_unschedule),
        hyp_backend_unschedule: Some(hyp_backend_unschedule),
        hyp_backend_schedule: Some(hyp_backend_schedule),
        hyp_lwproc_switch: None,
        hyp_lwproc_release: None,
        hyp_lwproc_rfork: None,
        hyp_lwproc_newlwp: Some(hyp_lwproc_newlwp),
        hyp_lwproc_curlwp: None,
        hyp_syscall: None,
        hyp_lwpexit: None,
        hyp_execnotify: None,
        hyp_getpid: None,
        hyp_extra: [core::ptr::null_mut(); 8],
    };
    // SAFETY: a valid table; rumpuser copies it.
    assert_eq!(unsafe { rumpuser_init(RUMPUSER_VERSION, &table) }, 0);
    // SAFETY: an opaque marker value for the test thread's lwp.
    unsafe { rumpuser_curlwpop(RUMPUSER_LWP_SET, 0x10 as *mut Lwp) };
    hyp_schedule_self();
    let path = std::env::temp_dir().join(format!("rumpuser-bio-async-{}", std::process::id()));
    std::fs::write(&path, vec![0u8; 1 << 20]).unwrap();
    let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    let mut fd = -1;
    // SAFETY: a NUL-terminated name and a valid out-pointer.
    let rv = unsafe {
        rumpuser_open(
            name.as_ptr(),
            RUMPUSER_OPEN_RDWR | RUMPUSER_OPEN_CREATE | RUMPUSER_OPEN_BIO,
            &mut fd,
        )
    };
    assert_eq!(rv, 0, "open {}", path.display());
    (fd, path)
}

/// The test thread plays a thread that holds a vCPU when it calls `rumpuser_bio`.
fn hyp_schedule_self() {
    SCHEDULED.with(|s| s.set(true));
}

fn check_service_completion(tag: usize, me: std::thread::ThreadId) -> Done {
    let done = completions(tag);
    assert_eq!(
        done.len(),
        1,
        "request {tag:#x} completed {} times",
        done.len()
    );
    let done = done[0];
    assert!(done.scheduled, "biodone of {tag:#x} ran without a vCPU");
    assert_ne!(
        done.thread, me,
        "biodone of {tag:#x} ran on the submitting thread"
    );
    assert!(
        done.lwp >= 0x1000,
        "biodone of {tag:#x} ran without a service lwp"
    );
    done
}

#[test]
fn asynchronous_bio_completes_each_request_once_in_state_s() {
    let (fd, path) = setup();
    let me = std::thread::current().id();

    // 64 writes of 4 KiB in flight at once, completed in whatever order the host likes.
    let mut blocks: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i.wrapping_mul(37); 4096]).collect();
    let tags: Vec<usize> = (0..64).map(|i| 0x10_0000 + i).collect();
    for (index, block) in blocks.iter_mut().enumerate() {
        let op = RUMPUSER_BIO_WRITE | if index % 2 == 0 { RUMPUSER_BIO_SYNC } else { 0 };
        // SAFETY: the block outlives its completion (waited for below).
        unsafe {
            rumpuser_bio(
                fd,
                op,
                block.as_mut_ptr().cast(),
                4096,
                index as i64 * 4096,
                Some(biodone),
                tags[index] as *mut c_void,
            )
        };
        assert!(SCHEDULED.with(Cell::get), "the caller lost its vCPU");
    }
    wait_for(&tags);
    for &tag in &tags {
        let done = check_service_completion(tag, me);
        assert_eq!((done.moved, done.error), (4096, 0), "write {tag:#x}");
    }
    let on_disk = std::fs::read(&path).unwrap();
    for (index, block) in blocks.iter().enumerate() {
        assert_eq!(&on_disk[index * 4096..(index + 1) * 4096], &block[..]);
    }

    // Read them back, all in flight.
    let mut readback: Vec<Vec<u8>> = (0..64).map(|_| vec![0u8; 4096]).collect();
    let tags: Vec<usize> = (0..64).map(|i| 0x20_0000 + i).collect();
    for (index, buffer) in readback.iter_mut().enumerate() {
        // SAFETY: as above.
        unsafe {
            rumpuser_bio(
                fd,
                RUMPUSER_BIO_READ,
                buffer.as_mut_ptr().cast(),
                4096,
                index as i64 * 4096,
                Some(biodone),
                tags[index] as *mut c_void,
            )
        };
    }
    wait_for(&tags);
    for (index, &tag) in tags.iter().enumerate() {
        let done = check_service_completion(tag, me);
        assert_eq!((done.moved, done.error), (4096, 0), "read {tag:#x}");
        assert_eq!(readback[index], blocks[index], "read {index} differs");
    }

    // A short transfer reaches biodone with its count and errno; so does a request the host
    // dropped (EIO, nothing moved).
    let mut buffer = vec![0u8; 8192];
    for (tag, offset) in [(0x30_0000usize, SHORT_OFFSET), (0x30_0001, DROPPED_OFFSET)] {
        // SAFETY: as above.
        unsafe {
            rumpuser_bio(
                fd,
                RUMPUSER_BIO_READ,
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                offset as i64,
                Some(biodone),
                tag as *mut c_void,
            )
        };
        wait_for(&[tag]);
    }
    let short = check_service_completion(0x30_0000, me);
    assert_eq!((short.moved, short.error), (4096, Errno::EIO.0));
    let dropped = check_service_completion(0x30_0001, me);
    assert_eq!((dropped.moved, dropped.error), (0, Errno::EIO.0));

    // A request the host gives back runs on the synchronous path, which unschedules the
    // caller around the queueing and still completes on a service thread.
    let mut buffer = vec![0u8; 4096];
    // SAFETY: as above.
    unsafe {
        rumpuser_bio(
            fd + REFUSED_FD_BASE,
            RUMPUSER_BIO_READ,
            buffer.as_mut_ptr().cast(),
            4096,
            5 * 4096,
            Some(biodone),
            0x40_0000 as *mut c_void,
        )
    };
    wait_for(&[0x40_0000]);
    let refused = check_service_completion(0x40_0000, me);
    assert_eq!((refused.moved, refused.error), (4096, 0));
    assert_eq!(buffer, blocks[5]);

    // Invalid operations never reach the host.
    let before = STARTED.load(Ordering::SeqCst);
    // SAFETY: as above.
    unsafe {
        rumpuser_bio(
            fd,
            RUMPUSER_BIO_READ | RUMPUSER_BIO_WRITE,
            buffer.as_mut_ptr().cast(),
            4096,
            0,
            Some(biodone),
            0x50_0000 as *mut c_void,
        )
    };
    wait_for(&[0x50_0000]);
    assert_eq!(STARTED.load(Ordering::SeqCst), before);
    let invalid = check_service_completion(0x50_0000, me);
    assert_eq!((invalid.moved, invalid.error), (0, Errno::EINVAL.0));

    assert!(rumpuser::async_completions() >= 130);
    // SAFETY: a descriptor from rumpuser_open.
    unsafe { rumpuser_close(fd) };
    let _ = std::fs::remove_file(&path);
}
