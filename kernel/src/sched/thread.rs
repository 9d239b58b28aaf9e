//! Kernel threads: creation, the per-thread pointer slot, exit, join, detach and reaping.

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use super::wait::WaitQueue;
use crate::arch::fpu::FpuState;
use crate::mm::stack::KernelStack;
use crate::mm::MemoryError;
use crate::sync::spin::IrqSpinLock;

/// Scheduling class; higher runs first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Only runs when nothing else can.
    Idle = 0,
    /// Ordinary kernel work.
    Normal = 1,
    /// Interrupt threads and other latency-critical work.
    RealTime = 2,
}

/// Life-cycle state of a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// In a run queue, or woken while still switching out.
    Runnable = 0,
    /// On a CPU.
    Running = 1,
    /// Waiting on a wait queue or a timer.
    Blocked = 2,
    /// Finished; waiting to be joined or reaped.
    Dead = 3,
}

/// Why a blocked thread woke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum WakeReason {
    None = 0,
    Signaled = 1,
    TimedOut = 2,
}

const NAME_LENGTH: usize = 24;

/// A thread's name, copied so reports can print it without allocating.
#[derive(Clone, Copy)]
pub struct ThreadName {
    bytes: [u8; NAME_LENGTH],
    length: u8,
}

impl ThreadName {
    fn new(name: &str) -> Self {
        let mut length = name.len().min(NAME_LENGTH);
        while !name.is_char_boundary(length) {
            length -= 1;
        }
        let mut bytes = [0; NAME_LENGTH];
        bytes[..length].copy_from_slice(&name.as_bytes()[..length]);
        Self {
            bytes,
            length: length as u8,
        }
    }

    /// A name from a constant.
    pub const fn from_static(name: &'static str) -> Self {
        let mut bytes = [0; NAME_LENGTH];
        let mut i = 0;
        while i < name.len() && i < NAME_LENGTH {
            bytes[i] = name.as_bytes()[i];
            i += 1;
        }
        Self {
            bytes,
            length: i as u8,
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.length as usize]).unwrap_or("?")
    }
}

impl fmt::Display for ThreadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(crate) type Entry = Box<dyn FnOnce() -> u64 + Send>;

/// What a thread that runs a user process carries through context switches: the page-table
/// root of its address space, its FS base (user TLS), and who owns it (the process layer's
/// record, reached without locks on every system call).
pub struct UserState {
    /// Physical address of the PML4 to load when this thread runs.
    pub root: AtomicU64,
    /// FS base of the user context.
    pub fs_base: AtomicU64,
    owner: spin::Once<Arc<dyn core::any::Any + Send + Sync>>,
}

impl UserState {
    fn new() -> Self {
        Self {
            root: AtomicU64::new(0),
            fs_base: AtomicU64::new(0),
            owner: spin::Once::new(),
        }
    }

    /// Sets the owner once; later calls keep the first.
    pub fn set_owner(&self, owner: Arc<dyn core::any::Any + Send + Sync>) {
        self.owner.call_once(|| owner);
    }

    /// The owner, if set.
    pub fn owner(&self) -> Option<&Arc<dyn core::any::Any + Send + Sync>> {
        self.owner.get()
    }
}

/// A kernel thread.
pub struct Thread {
    pub id: u64,
    pub name: ThreadName,
    pub priority: Priority,
    /// The only CPU this thread may run on, if pinned.
    pub affinity: Option<usize>,
    state: AtomicU8,
    /// Serialises state changes between wakers and the CPU switching this thread out.
    pub(super) transition: IrqSpinLock<()>,
    /// True while a CPU runs on this thread's stack.
    pub(super) on_cpu: AtomicBool,
    /// Woken while still on a CPU: the switching CPU must queue it.
    pub(super) wake_pending: AtomicBool,
    pub(super) cpu: AtomicUsize,
    pub(super) saved_stack_pointer: UnsafeCell<u64>,
    pub(super) wake_reason: AtomicU8,
    pub(super) wait_generation: AtomicU64,
    pub(super) entry: IrqSpinLock<Option<Entry>>,
    pub(super) fpu: Option<FpuState>,
    pub(super) run_nanos: AtomicU64,
    pub(super) last_cpu_set: AtomicU64,
    _stack: Option<KernelStack>,
    /// Present for threads that run user code.
    pub user: Option<UserState>,
    slot: AtomicPtr<core::ffi::c_void>,
    /// Second per-thread word for foreign code (the rump host keeps the syscall errno here).
    pub foreign_errno: core::sync::atomic::AtomicI32,
    /// Threads this one wakes are queued on its CPU rather than on an idle one: it hands work
    /// over and blocks soon after (a completion thread), so the woken thread runs when it
    /// blocks, without an IPI and a halted CPU to wake.
    pub wakes_run_here: AtomicBool,
    exit_value: IrqSpinLock<Option<u64>>,
    pub(super) joiners: WaitQueue,
    detached: AtomicBool,
}

// SAFETY: `saved_stack_pointer` is only written by the CPU that switches this thread out and read
// by the CPU that switches it in, ordered by `on_cpu` (Release/Acquire); everything else is
// atomic or locked.
unsafe impl Sync for Thread {}
// SAFETY: as above; a thread object is shared between CPUs by design.
unsafe impl Send for Thread {}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
pub(super) static LIVE_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Why a thread could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnError {
    /// No memory for the stack or the thread object.
    OutOfMemory(MemoryError),
    /// The affinity names a CPU that is not online.
    NoSuchCpu(usize),
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::OutOfMemory(e) => write!(f, "cannot create thread: {e}"),
            SpawnError::NoSuchCpu(c) => write!(f, "cannot pin thread to cpu {c}: not online"),
        }
    }
}

/// Options for a new thread.
#[derive(Debug, Clone)]
pub struct Builder<'a> {
    pub name: &'a str,
    pub priority: Priority,
    pub affinity: Option<usize>,
    /// Save and restore FPU/SSE/AVX state on switches (threads that run C code).
    pub uses_fpu: bool,
    /// Runs a user process (gets [`UserState`]; implies `uses_fpu`).
    pub user: bool,
    pub stack_pages: usize,
    /// Where to queue the thread first (load balancing may move it later unless pinned).
    pub start_cpu: Option<usize>,
}

impl<'a> Builder<'a> {
    /// A normal-priority thread without FPU state and a 16 KiB stack.
    pub fn new(name: &'a str) -> Self {
        Self {
            name,
            priority: Priority::Normal,
            affinity: None,
            uses_fpu: false,
            user: false,
            stack_pages: 4,
            start_cpu: None,
        }
    }
}

impl Thread {
    pub(super) fn new(
        builder: &Builder<'_>,
        stack: Option<KernelStack>,
        entry: Option<Entry>,
    ) -> Arc<Self> {
        LIVE_THREADS.fetch_add(1, Ordering::Relaxed);
        let thread = Arc::new(Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name: ThreadName::new(builder.name),
            priority: builder.priority,
            affinity: builder.affinity,
            state: AtomicU8::new(State::Runnable as u8),
            transition: IrqSpinLock::new("thread-state", ()),
            on_cpu: AtomicBool::new(false),
            wake_pending: AtomicBool::new(false),
            cpu: AtomicUsize::new(builder.affinity.unwrap_or(0)),
            saved_stack_pointer: UnsafeCell::new(0),
            wake_reason: AtomicU8::new(WakeReason::None as u8),
            wait_generation: AtomicU64::new(0),
            entry: IrqSpinLock::new("thread-entry", entry),
            fpu: if builder.uses_fpu || builder.user {
                Some(FpuState::new())
            } else {
                None
            },
            run_nanos: AtomicU64::new(0),
            last_cpu_set: AtomicU64::new(0),
            _stack: stack,
            user: builder.user.then(UserState::new),
            slot: AtomicPtr::new(core::ptr::null_mut()),
            foreign_errno: core::sync::atomic::AtomicI32::new(0),
            wakes_run_here: AtomicBool::new(false),
            exit_value: IrqSpinLock::new("thread-exit", None),
            joiners: WaitQueue::new("join"),
            detached: AtomicBool::new(false),
        });
        super::registry::add(&thread);
        thread
    }

    /// Top of this thread's kernel stack (0 for a CPU's boot thread).
    pub fn stack_top(&self) -> u64 {
        self._stack.as_ref().map_or(0, |s| s.top())
    }

    /// Current state.
    pub fn state(&self) -> State {
        match self.state.load(Ordering::Acquire) {
            0 => State::Runnable,
            1 => State::Running,
            2 => State::Blocked,
            _ => State::Dead,
        }
    }

    pub(super) fn set_state(&self, state: State) {
        self.state.store(state as u8, Ordering::Release);
    }

    /// CPU the thread runs or last ran on.
    pub fn cpu(&self) -> usize {
        self.cpu.load(Ordering::Relaxed)
    }

    /// Bit set of every CPU this thread has run on (CPUs 0..63).
    pub fn cpus_used(&self) -> u64 {
        self.last_cpu_set.load(Ordering::Relaxed)
    }

    /// Nanoseconds spent running.
    pub fn run_nanos(&self) -> u64 {
        self.run_nanos.load(Ordering::Relaxed)
    }

    /// The per-thread pointer slot (the rump host keeps `curlwp` here).
    pub fn slot(&self) -> *mut core::ffi::c_void {
        self.slot.load(Ordering::Relaxed)
    }

    /// Sets the per-thread pointer slot.
    pub fn set_slot(&self, value: *mut core::ffi::c_void) {
        self.slot.store(value, Ordering::Relaxed);
    }

    pub(super) fn finish(&self, value: u64) {
        *self.exit_value.lock() = Some(value);
    }

    /// The exit value, once the thread is dead.
    pub fn exit_value(&self) -> Option<u64> {
        *self.exit_value.lock()
    }
}

impl Drop for Thread {
    fn drop(&mut self) {
        LIVE_THREADS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Owner's handle: join (blocking, returns the exit value) or detach.
pub struct JoinHandle {
    thread: Option<Arc<Thread>>,
}

impl JoinHandle {
    pub(super) fn new(thread: Arc<Thread>) -> Self {
        Self {
            thread: Some(thread),
        }
    }

    /// The thread.
    pub fn thread(&self) -> &Arc<Thread> {
        self.thread
            .as_ref()
            .expect("a handle holds its thread until joined or detached")
    }

    /// Waits for the thread to exit and returns its value; its memory is reclaimed once the
    /// last reference goes.
    pub fn join(mut self) -> u64 {
        let thread = self.thread.take().expect("joined once");
        thread
            .joiners
            .wait_until(None, || thread.state() == State::Dead);
        let value = thread
            .exit_value()
            .expect("dead threads have an exit value");
        // Wait until its CPU has left its stack, so dropping it frees the stack safely.
        while thread.on_cpu.load(Ordering::Acquire) {
            core::hint::spin_loop();
        }
        value
    }

    /// Lets the thread run on unobserved; it is reaped when it exits.
    pub fn detach(mut self) {
        if let Some(thread) = self.thread.take() {
            thread.detached.store(true, Ordering::Relaxed);
        }
    }
}

impl Drop for JoinHandle {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            thread.detached.store(true, Ordering::Relaxed);
        }
    }
}
