//! Hosted backend: `Host` on std + Linux, for `cargo test` and rump components in a process.
//!
//! Threads are std threads with a 1 MiB stack, reused after `rumpuser_thread_exit` (see
//! `threads`); `curlwp`/errno are thread-locals; blocking is
//! the Linux futex (`FUTEX_WAIT_BITSET` with an absolute `CLOCK_MONOTONIC` deadline, so it
//! agrees with [`Host::monotonic`]); memory is the C allocator (malloc, posix_memalign for
//! larger alignments); files are host paths opened
//! with `open(2)` and used with `pread`/`pwrite`. There is no PCI: config reads return "no
//! device", DMA memory is ordinary heap memory with bus address = virtual address, and
//! [`HostedHost::raise_irq`] lets tests play the interrupt controller.

mod files;
mod threads;

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::cell::Cell;
use core::ffi::c_void;
use core::ptr::{self, NonNull};
use core::sync::atomic::AtomicU32;
use core::time::Duration;
use std::io::Write;
use std::sync::Mutex;

use crate::errno::Errno;
use crate::host::{Host, IrqLine, JoinToken, ThreadAttrs, ThreadStart, WaitOutcome};

std::thread_local! {
    static CURLWP: Cell<*mut c_void> = const { Cell::new(ptr::null_mut()) };
    static ERRNO: Cell<i32> = const { Cell::new(0) };
}

/// The std/Linux host. Use [`HostedHost::global`] (the `hosted` fallback installs it).
pub struct HostedHost {
    console: Mutex<Vec<u8>>,
    capture: Mutex<Option<Vec<u8>>>,
    irq_lines: Mutex<Vec<&'static IrqLine>>,
    dma_aligns: Mutex<BTreeMap<usize, usize>>,
    threads: threads::Threads,
}

impl HostedHost {
    /// The process-wide instance.
    pub fn global() -> &'static HostedHost {
        static GLOBAL: HostedHost = HostedHost {
            console: Mutex::new(Vec::new()),
            capture: Mutex::new(None),
            irq_lines: Mutex::new(Vec::new()),
            dma_aligns: Mutex::new(BTreeMap::new()),
            threads: threads::Threads::new(),
        };
        &GLOBAL
    }

    /// Starts (`true`) or stops capturing console output instead of writing it to stderr.
    pub fn capture_console(&self, on: bool) {
        *self.capture.lock().unwrap_or_else(|e| e.into_inner()) = on.then(Vec::new);
    }

    /// Takes what was captured so far.
    pub fn take_captured(&self) -> Vec<u8> {
        self.capture
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
            .map(core::mem::take)
            .unwrap_or_default()
    }

    /// The calling thread's last `rumpuser_seterrno` value.
    pub fn last_errno() -> i32 {
        ERRNO.with(Cell::get)
    }

    /// Plays the interrupt controller: raises every line established for `cookie`.
    pub fn raise_irq(&self, cookie: u32) -> bool {
        let lines = self.irq_lines.lock().unwrap_or_else(|e| e.into_inner());
        let mut any = false;
        for line in lines.iter().filter(|l| l.cookie() == cookie) {
            line.raise();
            any = true;
        }
        any
    }
}

/// The alignment malloc guarantees (glibc: 16 bytes on 64-bit targets).
const MALLOC_ALIGN: usize = 16;

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}

fn clock(id: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; the clock ids used are always available.
    unsafe { libc::clock_gettime(id, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Host for HostedHost {
    fn spawn(&self, start: ThreadStart, attrs: &ThreadAttrs<'_>) -> Result<JoinToken, Errno> {
        self.threads.spawn(start, attrs)
    }

    fn exit_thread(&self) -> ! {
        self.threads.exit_current(self)
    }

    fn join(&self, token: JoinToken) -> Result<(), Errno> {
        threads::join(self, token)
    }

    fn curlwp(&self) -> *mut c_void {
        CURLWP.with(Cell::get)
    }

    fn set_curlwp(&self, lwp: *mut c_void) {
        CURLWP.with(|c| c.set(lwp));
    }

    fn set_errno(&self, errno: i32) {
        ERRNO.with(|e| e.set(errno));
    }

    fn wait(&self, word: &AtomicU32, expected: u32, deadline: Option<Duration>) -> WaitOutcome {
        let ts = deadline.map(timespec);
        let ts_ptr = ts
            .as_ref()
            .map_or(ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `word` is a live, aligned u32; `ts_ptr` is NULL or a valid timespec.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG,
                expected,
                ts_ptr,
                ptr::null::<u32>(),
                libc::FUTEX_BITSET_MATCH_ANY,
            )
        };
        if rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT) {
            WaitOutcome::TimedOut
        } else {
            WaitOutcome::Woken
        }
    }

    fn wake(&self, word: &AtomicU32, count: u32) {
        let count = count.min(i32::MAX as u32) as i32;
        // SAFETY: FUTEX_WAKE only uses the address as a key.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                count,
            )
        };
    }

    fn requeue(&self, from: &AtomicU32, expected: u32, to: &AtomicU32) -> bool {
        // FUTEX_CMP_REQUEUE: wake none, move one, if `from` still holds `expected`.
        // SAFETY: both words are live, aligned u32s; the futex call only uses them as keys
        // and compares `from` with `expected`.
        let moved = unsafe {
            libc::syscall(
                libc::SYS_futex,
                from.as_ptr(),
                libc::FUTEX_CMP_REQUEUE | libc::FUTEX_PRIVATE_FLAG,
                0,
                1usize,
                to.as_ptr(),
                expected,
            )
        };
        moved >= 0
    }

    fn monotonic(&self) -> Duration {
        clock(libc::CLOCK_MONOTONIC)
    }

    fn wall_clock(&self) -> Duration {
        clock(libc::CLOCK_REALTIME)
    }

    fn sleep_until(&self, deadline: Duration) {
        let ts = timespec(deadline);
        // SAFETY: valid timespec; an absolute sleep restarted after EINTR keeps its deadline.
        while unsafe {
            libc::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &ts,
                ptr::null_mut(),
            )
        } == libc::EINTR
        {}
    }

    fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        // Straight to the C allocator, as a pthread-based host does: malloc when its own
        // alignment (16 bytes on x86_64 and aarch64 glibc) is enough, else posix_memalign.
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: malloc has no preconditions; the size is non-zero.
            return NonNull::new(unsafe { libc::malloc(layout.size()) }.cast());
        }
        let mut memory = ptr::null_mut();
        // SAFETY: a valid out-pointer; the alignment is a power of two and a multiple of the
        // pointer size (it exceeds 16).
        let error = unsafe { libc::posix_memalign(&mut memory, layout.align(), layout.size()) };
        if error != 0 {
            return None;
        }
        NonNull::new(memory.cast())
    }

    unsafe fn dealloc(&self, ptr: NonNull<u8>, _layout: Layout) {
        // SAFETY: the memory came from malloc or posix_memalign in `alloc` (caller contract),
        // and free takes both.
        unsafe { libc::free(ptr.as_ptr().cast()) };
    }

    fn random(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        // SAFETY: `buf` is a valid writable buffer of its length.
        let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), libc::GRND_NONBLOCK) };
        usize::try_from(n).map_err(|_| Errno::EAGAIN)
    }

    fn console_putc(&self, byte: u8) {
        if let Some(buffer) = self
            .capture
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            buffer.push(byte);
            return;
        }
        let mut line = self.console.lock().unwrap_or_else(|e| e.into_inner());
        line.push(byte);
        if byte == b'\n' || line.len() >= 256 {
            let _ = std::io::stderr().write_all(&line);
            line.clear();
        }
    }

    fn ncpu(&self) -> u32 {
        std::env::var("RUMP_NCPU")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
    }

    fn hostname(&self) -> String {
        String::from("rump-hosted")
    }

    fn param(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }

    fn kill(&self, pid: i64, signal: i32) -> Result<(), Errno> {
        // Signals 1..=15 have the same numbers on NetBSD and Linux; others are ignored.
        if pid == crate::abi::RUMPUSER_PID_SELF && (1..=15).contains(&signal) {
            // SAFETY: raising a signal in this process has no memory-safety preconditions.
            unsafe { libc::raise(signal) };
        }
        Ok(())
    }

    fn exit(&self, code: i32) -> ! {
        let _ = std::io::stderr().flush();
        if code == crate::abi::RUMPUSER_PANIC {
            std::process::abort();
        }
        // SAFETY: `_exit` ends the process without running atexit handlers, which is right
        // for a rump kernel halting from any thread (possibly in a forked child).
        unsafe { libc::_exit(code) }
    }

    fn open(&self, name: &core::ffi::CStr, flags: crate::host::OpenFlags) -> Result<i32, Errno> {
        files::open(name, flags)
    }

    fn close(&self, fd: i32) -> Result<(), Errno> {
        files::close(fd)
    }

    fn file_info(&self, name: &core::ffi::CStr) -> Result<crate::host::FileInfo, Errno> {
        files::file_info(name)
    }

    fn read(&self, fd: i32, buf: &mut [u8], offset: Option<u64>) -> Result<usize, Errno> {
        files::read(fd, buf, offset)
    }

    fn write(&self, fd: i32, buf: &[u8], offset: Option<u64>) -> Result<usize, Errno> {
        files::write(fd, buf, offset)
    }

    fn sync(
        &self,
        fd: i32,
        flags: crate::host::SyncFlags,
        _start: u64,
        _len: u64,
    ) -> Result<(), Errno> {
        files::sync(fd, flags)
    }

    fn pci_irq_attach(&self, _cookie: u32, line: &'static IrqLine) -> Result<(), Errno> {
        self.irq_lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line);
        Ok(())
    }

    fn pci_irq_detach(&self, cookie: u32) {
        self.irq_lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|line| line.cookie() != cookie);
    }

    fn dma_alloc(&self, size: usize, align: usize) -> Result<(u64, NonNull<u8>), Errno> {
        let layout = Layout::from_size_align(size, align).map_err(|_| Errno::EINVAL)?;
        let virt = self.alloc(layout).ok_or(Errno::ENOMEM)?;
        self.dma_aligns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(virt.as_ptr() as usize, align);
        Ok((virt.as_ptr() as u64, virt))
    }

    unsafe fn dma_free(&self, virt: NonNull<u8>, size: usize) {
        let align = self
            .dma_aligns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(virt.as_ptr() as usize));
        let align = align.expect("rumpcomp_pci_dmafree: address did not come from dmalloc");
        let layout = Layout::from_size_align(size, align).expect("valid at allocation");
        // SAFETY: forwarded caller contract; same layout as in `dma_alloc`.
        unsafe { self.dealloc(virt, layout) };
    }

    fn pci_iospace_init(&self) -> Result<(), Errno> {
        Ok(())
    }
}
