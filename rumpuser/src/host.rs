//! The `Host` trait: every service the hypercall layer needs from the kernel underneath.
//!
//! The exports in this crate own the rump protocol (upcalls, lock semantics, errno mapping,
//! argument checking); a `Host` only supplies mechanisms. The kernel implements it in
//! `kernel/src/rumphost/`, the `hosted` feature implements it with std on Linux.
//!
//! Design points, each for a kernel:
//! * **Blocking is one primitive**, a futex-style [`Host::wait`]/[`Host::wake`] on an
//!   `AtomicU32`. Mutexes, rwlocks and condition variables are built on it in
//!   `crate::sync`, so their semantics (owners, try-upgrade, the wait order of
//!   docs/contract.md §2.5) are the same code on every host and need no per-lock allocation
//!   from the host. A kernel implements it with a hashed table of wait queues keyed by address.
//! * **Per-thread slots** (`curlwp`, `errno`) live in the host's thread control block.
//! * **Threads** run a [`ThreadStart`]; whatever C code it holds ends in [`Host::exit_thread`].
//! * Methods are safe wherever the arguments can be expressed safely; raw `lwp` pointers
//!   are opaque values that the host stores but never dereferences.
//!
//! Must not: call back into the rump kernel (no upcalls happen below this trait), or unwind.

extern crate alloc;

use alloc::boxed::Box;
use alloc::string::String;
use core::alloc::Layout;
use core::ffi::{c_void, CStr};
use core::ptr::NonNull;
use core::sync::atomic::AtomicU32;
use core::time::Duration;

pub use crate::bio::{BioOperation, BioRequest};
use crate::errno::Errno;

/// Work for a new host thread. Running it is safe: the unsafety of calling the rump
/// kernel's C entry point was discharged when `rumpuser_thread_create` built it.
pub struct ThreadStart(Box<dyn FnOnce() + Send + 'static>);

impl ThreadStart {
    /// Wraps Rust work (used by this crate's own service threads and by tests).
    pub fn new(work: impl FnOnce() + Send + 'static) -> Self {
        ThreadStart(Box::new(work))
    }

    /// Runs the work on the calling thread. For rump threads this does not return: the rump
    /// code ends in `rumpuser_thread_exit`, which calls [`Host::exit_thread`].
    pub fn run(self) {
        (self.0)()
    }
}

/// Hints and options for [`Host::spawn`] (contract §4.1).
#[derive(Clone, Copy, Debug)]
pub struct ThreadAttrs<'a> {
    /// Thread name hint, for example `"rumpclk0"`.
    pub name: Option<&'a str>,
    /// The thread will be passed to [`Host::join`] exactly once (or never, contract §4.1).
    pub joinable: bool,
    /// NetBSD priority hint (higher is more urgent; -1 = none).
    pub priority: i32,
    /// rump vCPU the thread is bound to; pinning the host thread is optional.
    pub cpu: Option<u32>,
}

/// Host-chosen identity of a joinable thread; stored in the rump kernel's cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JoinToken(pub usize);

/// Result of [`Host::wait`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Woken by [`Host::wake`], or the word did not hold `expected`, or a spurious wake-up.
    Woken,
    /// The deadline passed first.
    TimedOut,
}

/// Access mode of [`OpenFlags`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    WriteOnly,
    ReadWrite,
}

/// Validated `RUMPUSER_OPEN_*` flags (contract §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFlags {
    pub access: Access,
    /// Create the file if it does not exist.
    pub create: bool,
    /// With `create`: fail with EEXIST if it exists.
    pub exclusive: bool,
    /// Advisory: the descriptor will be used with `rumpuser_bio`.
    pub block_io: bool,
}

/// `RUMPUSER_FT_*` (contract §1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Other = 0,
    Directory = 1,
    Regular = 2,
    Block = 3,
    Character = 4,
}

/// Answer of [`Host::file_info`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileInfo {
    /// Size in bytes; the media size for block devices.
    pub size: u64,
    pub kind: FileKind,
}

/// Validated `RUMPUSER_SYNCFD_*` flags (contract §5.5); at least one of read/write is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncFlags {
    pub read: bool,
    pub write: bool,
    pub barrier: bool,
    pub wait_stable: bool,
}

/// A PCI interrupt line as seen by the host's interrupt code (contract §9.7).
///
/// The host's hard ISR masks and acknowledges the line and calls [`IrqLine::raise`]; the
/// dispatcher thread in `crate::pci` runs the rump handlers in state S with the giant lock
/// and then calls [`Host::pci_irq_done`] so the host can unmask.
pub use crate::pci::IrqLine;

/// Services the hypercall layer needs. See the module documentation.
///
/// Every method may be called concurrently from any number of threads (contract §1.18).
pub trait Host: Sync {
    // ---- threads and per-thread slots (contract §3, §4) ----

    /// Creates and starts a host thread running `start` with `curlwp` = NULL. Must not wait
    /// for the new thread to make progress. Errors: EAGAIN, ENOMEM.
    fn spawn(&self, start: ThreadStart, attrs: &ThreadAttrs<'_>) -> Result<JoinToken, Errno>;
    /// Terminates the calling host thread (its `ThreadStart` is abandoned mid-way). A joinable
    /// thread stays joinable.
    fn exit_thread(&self) -> !;
    /// Waits until the thread of `token` has exited and frees what the token holds.
    fn join(&self, token: JoinToken) -> Result<(), Errno>;
    /// The calling thread's `curlwp` slot (NULL when never set). Keep it a few instructions.
    fn curlwp(&self) -> *mut c_void;
    /// Sets the calling thread's `curlwp` slot.
    fn set_curlwp(&self, lwp: *mut c_void);
    /// Stores the calling thread's rump system-call errno (contract §1.6).
    fn set_errno(&self, errno: i32);

    // ---- blocking (used by crate::sync) ----

    /// Blocks the calling host thread while `word` holds `expected`, until [`Host::wake`] on
    /// the same word or the monotonic `deadline`. Spurious returns are allowed. Never calls
    /// into the rump kernel.
    fn wait(&self, word: &AtomicU32, expected: u32, deadline: Option<Duration>) -> WaitOutcome;
    /// Wakes up to `count` threads blocked in [`Host::wait`] on `word`. Never blocks; must be
    /// callable from the host's interrupt code if [`IrqLine::raise`] is used there.
    fn wake(&self, word: &AtomicU32, count: u32);
    /// If `from` still holds `expected`, moves one thread blocked in [`Host::wait`] on `from`
    /// to wait on `to` instead, without waking it: a [`Host::wake`] on `to` wakes it later,
    /// and its `wait` then returns as if woken on `from`. Returns true when done (also when
    /// nobody was blocked there), false when `from` changed or the host cannot move waiters
    /// (the default): the caller then wakes `from` itself. Never blocks.
    fn requeue(&self, _from: &AtomicU32, _expected: u32, _to: &AtomicU32) -> bool {
        false
    }

    // ---- time (contract §6) ----

    /// Monotonic time since an arbitrary origin; advances while the caller spins.
    fn monotonic(&self) -> Duration;
    /// Wall-clock time since the Unix epoch (UTC).
    fn wall_clock(&self) -> Duration;
    /// Sleeps until the monotonic clock reaches `deadline` (returns at once if it has).
    fn sleep_until(&self, deadline: Duration);
    /// A cheap free-running counter (the TSC, say) for the hypercall profile
    /// (`crate::stats`); any unit. The default, 0, leaves the profile without times.
    fn timestamp(&self) -> u64 {
        0
    }

    // ---- memory (contract §1.2) ----

    /// Allocates `layout` (size > 0). The rump heap needs VA-contiguous = PA-contiguous memory.
    fn alloc(&self, layout: Layout) -> Option<NonNull<u8>>;
    /// Frees memory from [`Host::alloc`].
    ///
    /// # Safety
    /// `ptr` came from `alloc(layout)` with this exact `layout` and is not used afterwards.
    unsafe fn dealloc(&self, ptr: NonNull<u8>, layout: Layout);

    // ---- randomness, console, parameters, process (contract §1.7, §1.8, §8) ----

    /// Fills a prefix of `buf` (at least one byte when `buf` is not empty) without blocking.
    fn random(&self, buf: &mut [u8]) -> Result<usize, Errno>;
    /// Writes one console byte. Never blocks for long (called under a rump spin mutex).
    fn console_putc(&self, byte: u8);
    /// Number of rump virtual CPUs (`_RUMPUSER_NCPU`), at least 1.
    fn ncpu(&self) -> u32 {
        1
    }
    /// Host name given to the rump kernel (`_RUMPUSER_HOSTNAME`).
    fn hostname(&self) -> String {
        String::from("rumphost")
    }
    /// Any other parameter (`RUMP_VERBOSE`, `RUMP_MEMLIMIT`, ...); `None` = unknown (ENOENT).
    fn param(&self, _key: &str) -> Option<String> {
        None
    }
    /// Delivers a signal to a host process (`pid` -1 = self); doing nothing is allowed.
    fn kill(&self, _pid: i64, _signal: i32) -> Result<(), Errno> {
        Ok(())
    }
    /// Stops the rump subsystem / machine; `code` -1 means panic (contract §1.7, §13).
    fn exit(&self, code: i32) -> !;

    // ---- files and block devices (contract §5); names are opaque host strings ----

    /// Opens `name`; returns a small non-negative descriptor.
    fn open(&self, _name: &CStr, _flags: OpenFlags) -> Result<i32, Errno> {
        Err(Errno::ENOENT)
    }
    /// Closes a descriptor from [`Host::open`].
    fn close(&self, _fd: i32) -> Result<(), Errno> {
        Err(Errno::EBADF)
    }
    /// Size and kind of `name`; ENOENT or ENXIO when unknown.
    fn file_info(&self, _name: &CStr) -> Result<FileInfo, Errno> {
        Err(Errno::ENOENT)
    }
    /// Reads at `offset` (None = current position); a short count is allowed, 0 = end.
    fn read(&self, _fd: i32, _buf: &mut [u8], _offset: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }
    /// Writes at `offset` (None = current position); a short count is allowed.
    fn write(&self, _fd: i32, _buf: &[u8], _offset: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }
    /// Flushes / orders I/O on `fd` for the byte range (`len` 0 = to the end).
    fn sync(&self, _fd: i32, _flags: SyncFlags, _start: u64, _len: u64) -> Result<(), Errno> {
        Err(Errno::EBADF)
    }
    /// Starts a `rumpuser_bio` transfer on the host's device and returns at once, without
    /// blocking (the caller holds a rump vCPU). The host calls [`BioRequest::complete`] when
    /// the transfer ends, from any context; the crate runs `biodone` on its completion thread
    /// (contract §5.3). Returns the request when the host cannot start it this way: the
    /// crate then performs it with [`Host::read`]/[`Host::write`]/[`Host::sync`] on its
    /// worker threads, which is also what the default does.
    fn start_bio(&self, request: BioRequest) -> Result<(), BioRequest> {
        Err(request)
    }
    /// A hint from a service thread that only hands work over and then blocks (the bio
    /// completion thread): threads it wakes from now on may run on its CPU once it blocks,
    /// rather than on another (idle) CPU that has to be woken. Doing nothing is allowed.
    fn wakes_run_here(&self) {}
    /// Called by this crate's service threads before they call into the rump kernel with a
    /// completion; a host that can stop the rump kernel (contract §13) parks the thread here
    /// once it has. The default does nothing.
    fn checkpoint(&self) {}

    // ---- PCI (contract §9); the defaults describe a machine without PCI ----

    /// Reads the dword at `reg`; a missing device reads as `0xffff_ffff` with `Ok`.
    fn pci_config_read(&self, _bus: u32, _dev: u32, _fun: u32, _reg: u32) -> Result<u32, Errno> {
        Ok(0xffff_ffff)
    }
    /// Writes the dword at `reg` (serialised by the host).
    fn pci_config_write(
        &self,
        _bus: u32,
        _dev: u32,
        _fun: u32,
        _reg: u32,
        _value: u32,
    ) -> Result<(), Errno> {
        Ok(())
    }
    /// Maps physical MMIO `[phys, phys+len)` uncached; keeps the sub-page offset.
    fn pci_map_mmio(&self, _phys: u64, _len: u64) -> Option<NonNull<c_void>> {
        None
    }
    /// Records `cookie -> (bus, dev, fun, intrline)` (contract §9.7 step 2).
    fn pci_irq_map(
        &self,
        _bus: u32,
        _dev: u32,
        _fun: u32,
        _intrline: i32,
        _cookie: u32,
    ) -> Result<(), Errno> {
        Ok(())
    }
    /// Routes the line of `cookie` to `line`: the host's ISR masks the line, acknowledges it
    /// and calls `line.raise()`. The line lives for the rest of the program.
    fn pci_irq_attach(&self, _cookie: u32, _line: &'static IrqLine) -> Result<(), Errno> {
        Err(Errno::ENXIO)
    }
    /// Called by the dispatcher after the handlers of `cookie` ran: unmask / late EOI.
    fn pci_irq_done(&self, _cookie: u32) {}
    /// The handler of `cookie` was disestablished: stop routing its line (the line object
    /// stays valid, but the host must not raise it from now on).
    fn pci_irq_detach(&self, _cookie: u32) {}
    /// Physically contiguous DMA memory aligned to `align` (a power of two >= 4096):
    /// returns (bus address, kernel virtual address).
    fn dma_alloc(&self, _size: usize, _align: usize) -> Result<(u64, NonNull<u8>), Errno> {
        Err(Errno::ENOMEM)
    }
    /// Frees memory from [`Host::dma_alloc`].
    ///
    /// # Safety
    /// `virt` and `size` come from one `dma_alloc` call and the memory is not used afterwards.
    unsafe fn dma_free(&self, _virt: NonNull<u8>, _size: usize) {}
    /// Bus address of any rump kernel virtual address (contract §9.6).
    fn virt_to_bus(&self, virt: *const c_void) -> u64 {
        virt as u64
    }
    /// Enables port I/O for the rump code (contract §9.5); Ok means `PCI_FLAGS_IO_OKAY`.
    fn pci_iospace_init(&self) -> Result<(), Errno> {
        Err(Errno::ENOTSUP)
    }
}
