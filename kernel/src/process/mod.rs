//! User processes: Linux x86_64 programs (static ELF) running in ring 3 on every CPU, each with
//! its own address space, descriptors, working directory and signals, served by the Linux
//! system calls in [`syscalls`].
//!
//! One process is one kernel thread (`sched::Builder::user`): the thread enters user mode and
//! comes back on system calls, faults and interrupts, on its own kernel stack. The process
//! record is the thread's owner, so the current process is found without locks.
//!
//! May import: `arch`, `sync`, `mm`, `time`, `sched`, `console`, `interrupts`, `vfs`, `boot`,
//! `rootfs`, `firmware`, `qemu`, `block`, `net`.

pub mod exec;
pub mod files;
pub mod memory;
pub mod pipe;
pub mod poll;
pub mod procfs;
pub mod signal;
pub mod syscalls;
pub mod tty;
pub mod usermem;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use crate::arch::traps::TrapFrame;
use crate::sched::thread::Thread;
use crate::sched::wait::WaitQueue;
use crate::sync::spin::IrqSpinLock;

pub use syscalls::Errno;

/// Process ids are also thread ids (one thread per process).
pub type Pid = u32;

/// Where a process is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    /// Stopped by a signal; `reported` once a `wait4(WUNTRACED)` saw it.
    Stopped {
        signal: u32,
        reported: bool,
    },
    /// Continued after a stop, not yet reported to `wait4(WCONTINUED)`.
    Continued,
    /// Exited; the Linux wait status, until the parent reaps it.
    Zombie {
        status: u32,
    },
}

/// One user process.
pub struct Process {
    pub pid: Pid,
    parent: AtomicU32,
    process_group: AtomicU32,
    session: AtomicU32,
    /// The address space and its areas; shared with a `vfork` child until it execs.
    memory: IrqSpinLock<Arc<IrqSpinLock<memory::Memory>>>,
    pub files: IrqSpinLock<files::FileTable>,
    pub cwd: IrqSpinLock<String>,
    pub umask: AtomicU32,
    pub signals: IrqSpinLock<signal::Signals>,
    state: IrqSpinLock<RunState>,
    children: IrqSpinLock<Vec<Arc<Process>>>,
    /// Woken when a child changes state (wait4) and when a stopped process continues.
    pub child_events: WaitQueue,
    /// Woken when this process is signalled (interruptible sleeps also wait here).
    pub signal_events: WaitQueue,
    thread: IrqSpinLock<Weak<Thread>>,
    /// The command line (argv joined by NUL), for `ps` and /proc.
    pub command_line: IrqSpinLock<Vec<u8>>,
    /// The executable file the image was loaded from (/proc/PID/exe).
    pub executable: IrqSpinLock<String>,
    /// A `vfork` parent sleeps until this is set (the child exec'd or exited).
    vfork_released: AtomicBool,
    vfork_done: WaitQueue,
    /// `set_tid_address`: cleared and futex-woken at exit.
    pub clear_child_tid: core::sync::atomic::AtomicU64,
    /// Monotonic nanoseconds at creation.
    pub started: u64,
    pub exiting: AtomicBool,
    /// Set by `exit`/`exit_group` (status | 1 << 32): the thread ends once the call unwinds.
    pub exit_request: core::sync::atomic::AtomicU64,
    /// ITIMER_REAL / alarm: its deadline (monotonic, 0 = none) and a generation that lets a
    /// newer setting cancel the older timer thread.
    pub alarm_deadline: core::sync::atomic::AtomicU64,
    pub alarm_generation: core::sync::atomic::AtomicU64,
}

static TABLE: IrqSpinLock<BTreeMap<Pid, Arc<Process>>> =
    IrqSpinLock::new("process-table", BTreeMap::new());
static NEXT_PID: AtomicU32 = AtomicU32::new(1);
/// Processes allowed at once (a fork bomb gets EAGAIN, the kernel stays responsive).
pub const PROCESS_LIMIT: usize = 512;
/// Entries of `TABLE` plus forks under way: a fork reserves its slot before copying the
/// parent, so CPUs forking at once cannot overshoot the limit.
static PROCESS_SLOTS: AtomicUsize = AtomicUsize::new(0);
/// Serialises a process's exit (becoming a zombie and reading its parent) against the
/// reparenting of its parent's children: whichever comes first, the process that must reap
/// the zombie is the one woken.
static FAMILY: IrqSpinLock<()> = IrqSpinLock::new("process-family", ());

/// Takes a process slot; false at the limit.
fn reserve_slot() -> bool {
    PROCESS_SLOTS
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < PROCESS_LIMIT).then_some(n + 1)
        })
        .is_ok()
}

/// Removes `pid` from the table and gives its slot back.
fn remove_from_table(pid: Pid) {
    if TABLE.lock().remove(&pid).is_some() {
        PROCESS_SLOTS.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Process {
    fn new(parent: Option<&Process>, memory: Arc<IrqSpinLock<memory::Memory>>) -> Arc<Self> {
        let pid = NEXT_PID.fetch_add(1, Ordering::Relaxed);
        Arc::new(Self {
            pid,
            parent: AtomicU32::new(parent.map_or(0, |p| p.pid)),
            process_group: AtomicU32::new(parent.map_or(pid, |p| p.process_group())),
            session: AtomicU32::new(parent.map_or(pid, |p| p.session())),
            memory: IrqSpinLock::new("process-memory", memory),
            files: IrqSpinLock::new(
                "process-files",
                parent.map_or_else(files::FileTable::new, |p| p.files.lock().duplicate()),
            ),
            cwd: IrqSpinLock::new(
                "process-cwd",
                parent.map_or_else(|| String::from("/"), |p| p.cwd.lock().clone()),
            ),
            umask: AtomicU32::new(parent.map_or(0o022, |p| p.umask.load(Ordering::Relaxed))),
            signals: IrqSpinLock::new(
                "process-signals",
                parent.map_or_else(signal::Signals::new, |p| p.signals.lock().for_child()),
            ),
            state: IrqSpinLock::new("process-state", RunState::Running),
            children: IrqSpinLock::new("process-children", Vec::new()),
            child_events: WaitQueue::new("wait4"),
            signal_events: WaitQueue::new("signal"),
            thread: IrqSpinLock::new("process-thread", Weak::new()),
            command_line: IrqSpinLock::new(
                "process-cmdline",
                parent.map_or_else(Vec::new, |p| p.command_line.lock().clone()),
            ),
            executable: IrqSpinLock::new(
                "process-exe",
                parent.map_or_else(String::new, |p| p.executable.lock().clone()),
            ),
            vfork_released: AtomicBool::new(false),
            vfork_done: WaitQueue::new("vfork"),
            clear_child_tid: core::sync::atomic::AtomicU64::new(0),
            started: crate::time::monotonic_nanos(),
            exiting: AtomicBool::new(false),
            exit_request: core::sync::atomic::AtomicU64::new(0),
            alarm_deadline: core::sync::atomic::AtomicU64::new(0),
            alarm_generation: core::sync::atomic::AtomicU64::new(0),
        })
    }

    pub fn parent(&self) -> Pid {
        self.parent.load(Ordering::Relaxed)
    }
    pub fn process_group(&self) -> Pid {
        self.process_group.load(Ordering::Relaxed)
    }
    pub fn set_process_group(&self, group: Pid) {
        self.process_group.store(group, Ordering::Relaxed);
    }
    pub fn session(&self) -> Pid {
        self.session.load(Ordering::Relaxed)
    }
    /// `setsid`: a new session and group led by this process.
    pub fn start_session(&self) {
        self.session.store(self.pid, Ordering::Relaxed);
        self.process_group.store(self.pid, Ordering::Relaxed);
    }

    /// The memory (lock it briefly; never while copying to or from user memory).
    pub fn memory(&self) -> Arc<IrqSpinLock<memory::Memory>> {
        self.memory.lock().clone()
    }

    /// Replaces the memory (exec) and loads it on this CPU; the old one is dropped after the
    /// switch, so no CPU runs on freed tables.
    fn replace_memory(&self, new: memory::Memory) {
        let root = new.root();
        let old = core::mem::replace(
            &mut *self.memory.lock(),
            Arc::new(IrqSpinLock::new("memory", new)),
        );
        if let Some(user) = &crate::sched::current_thread().user {
            user.root.store(root, Ordering::Release);
        }
        crate::arch::user::switch_root(root);
        drop(old);
    }

    pub fn state(&self) -> RunState {
        *self.state.lock()
    }

    /// The thread that runs this process, while it lives.
    pub fn thread(&self) -> Option<Arc<Thread>> {
        self.thread.lock().upgrade()
    }

    pub fn children(&self) -> Vec<Arc<Process>> {
        self.children.lock().clone()
    }

    /// The command name (the last component of the first argument), for `ps` and reports.
    pub fn name(&self) -> String {
        let line = self.command_line.lock();
        let first = line.split(|&b| b == 0).next().unwrap_or(&[]);
        let base = first.rsplit(|&b| b == b'/').next().unwrap_or(first);
        String::from_utf8_lossy(base).into_owned()
    }

    /// Wakes the process from an interruptible sleep (a signal arrived).
    pub fn interrupt(&self) {
        self.signal_events.wake_all();
        self.child_events.wake_all();
        if let Some(thread) = self.thread() {
            crate::sched::wake(&thread, crate::sched::thread::WakeReason::Signaled);
        }
    }

    fn release_vfork_parent(&self) {
        if !self.vfork_released.swap(true, Ordering::AcqRel) {
            self.vfork_done.wake_all();
        }
    }
}

/// The process running on this thread, if it is a user thread.
pub fn current() -> Option<&'static Process> {
    let thread = crate::sched::current_thread();
    thread.user.as_ref()?.owner()?.downcast_ref::<Process>()
}

/// The process running on this thread as a shared handle (from the thread's owner: every
/// system call asks, and the process table's lock is global).
pub fn current_arc() -> Option<Arc<Process>> {
    let thread = crate::sched::current_thread();
    thread
        .user
        .as_ref()?
        .owner()?
        .clone()
        .downcast::<Process>()
        .ok()
}

/// The process with `pid`, if it exists (zombies included).
pub fn lookup(pid: Pid) -> Option<Arc<Process>> {
    TABLE.lock().get(&pid).cloned()
}

/// Every process, by pid.
pub fn all() -> Vec<Arc<Process>> {
    TABLE.lock().values().cloned().collect()
}

/// Whether any process of `session` (zombies included: a group lives until its last member is
/// reaped) belongs to group `group`.
pub fn group_exists_in(group: Pid, session: Pid) -> bool {
    TABLE
        .lock()
        .values()
        .any(|p| p.process_group() == group && p.session() == session)
}

/// Live processes in group `group`.
pub fn group_members(group: Pid) -> Vec<Arc<Process>> {
    TABLE
        .lock()
        .values()
        .filter(|p| p.process_group() == group && !matches!(p.state(), RunState::Zombie { .. }))
        .cloned()
        .collect()
}

/// Why a process could not be started.
#[derive(Debug)]
pub enum StartError {
    Exec(Errno, String),
    Thread(crate::sched::thread::SpawnError),
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StartError::Exec(errno, why) => write!(f, "{} ({why})", errno.name()),
            StartError::Thread(error) => write!(f, "{error}"),
        }
    }
}

fn spawn_thread(
    process: &Arc<Process>,
    entry: impl FnOnce() -> u64 + Send + 'static,
) -> Result<(), crate::sched::thread::SpawnError> {
    let name = alloc::format!("pid {}", process.pid);
    let mut builder = crate::sched::Builder::new(&name);
    builder.user = true;
    builder.stack_pages = 16;
    let handle = crate::sched::spawn(builder, entry)?;
    let thread = handle.thread().clone();
    *process.thread.lock() = Arc::downgrade(&thread);
    if let Some(user) = &thread.user {
        user.set_owner(process.clone());
    }
    handle.detach();
    Ok(())
}

/// Starts process 1 running `path` with `argv` and `envp` on the console terminal.
pub fn start_init(path: &str, argv: Vec<Vec<u8>>, envp: Vec<Vec<u8>>) -> Result<Pid, StartError> {
    install();
    let image =
        exec::prepare(path, argv, envp, "/").map_err(|(e, why)| StartError::Exec(e, why))?;
    let process = Process::new(
        None,
        Arc::new(IrqSpinLock::new("memory", memory::Memory::empty())),
    );
    {
        let console = files::OpenFile::new(files::FileKind::Tty(tty::console()), 2);
        let mut table = process.files.lock();
        for _ in 0..3 {
            table
                .install(console.clone(), false, 0)
                .map_err(|e| StartError::Exec(e, String::from("descriptors")))?;
        }
    }
    tty::console().set_session(process.session(), process.process_group());
    if !reserve_slot() {
        return Err(StartError::Exec(
            Errno::EAGAIN,
            String::from("the process table is full"),
        ));
    }
    TABLE.lock().insert(process.pid, process.clone());
    let pid = process.pid;
    let starter = process.clone();
    // The thread's owner is set before it is first scheduled? `spawn` queues it at once, so
    // the entry waits for the owner to appear.
    spawn_thread(&process, move || {
        while current().is_none() {
            crate::sched::yield_now();
        }
        let mut frame = blank_frame();
        exec::commit(&starter, image, &mut frame);
        drop(starter);
        crate::arch::user::enter(&frame)
    })
    .map_err(StartError::Thread)?;
    Ok(pid)
}

/// An all-zero user frame (exec fills in rip and rsp).
pub fn blank_frame() -> TrapFrame {
    TrapFrame {
        r15: 0,
        r14: 0,
        r13: 0,
        r12: 0,
        r11: 0,
        r10: 0,
        r9: 0,
        r8: 0,
        rbp: 0,
        rdi: 0,
        rsi: 0,
        rdx: 0,
        rcx: 0,
        rbx: 0,
        rax: 0,
        vector: 0,
        error_code: 0,
        rip: 0,
        cs: 0,
        rflags: crate::arch::user::INITIAL_USER_FLAGS,
        rsp: 0,
        ss: 0,
    }
}

/// What `clone` asked for.
pub struct CloneRequest {
    pub share_memory: bool,
    pub vfork: bool,
    pub child_stack: u64,
    pub tls: Option<u64>,
    pub child_tid: Option<u64>,
    pub parent_tid: Option<u64>,
    pub clear_child_tid: Option<u64>,
}

/// `fork`/`vfork`/`clone` without threads: a new process resuming at `frame` with rax 0.
pub fn fork(parent: &Arc<Process>, frame: &TrapFrame, request: CloneRequest) -> Result<Pid, Errno> {
    if !reserve_slot() {
        return Err(Errno::EAGAIN);
    }
    let memory = if request.share_memory {
        parent.memory()
    } else {
        let copy = parent.memory().lock().duplicate();
        match copy {
            Ok(copy) => Arc::new(IrqSpinLock::new("memory", copy)),
            Err(_) => {
                PROCESS_SLOTS.fetch_sub(1, Ordering::AcqRel);
                return Err(Errno::ENOMEM);
            }
        }
    };
    let root = memory.lock().root();
    let child = Process::new(Some(parent), memory);
    if let Some(address) = request.child_tid {
        let bytes = child.pid.to_le_bytes();
        let _ = child.memory().lock().write(address, &bytes);
    }
    if let Some(address) = request.parent_tid {
        let _ = usermem::write_u32(address, child.pid);
    }
    if let Some(address) = request.clear_child_tid {
        child.clear_child_tid.store(address, Ordering::Relaxed);
    }
    let mut child_frame = TrapFrame { ..*frame };
    child_frame.rax = 0;
    if request.child_stack != 0 {
        child_frame.rsp = request.child_stack;
    }
    let fs_base = match request.tls {
        Some(tls) => tls,
        None => crate::sched::current_thread()
            .user
            .as_ref()
            .map_or(0, |u| u.fs_base.load(Ordering::Relaxed)),
    };
    parent.children.lock().push(child.clone());
    TABLE.lock().insert(child.pid, child.clone());
    let pid = child.pid;
    let started = child.clone();
    let spawned = spawn_thread(&child, move || {
        while current().is_none() {
            crate::sched::yield_now();
        }
        if let Some(user) = &crate::sched::current_thread().user {
            user.root.store(root, Ordering::Release);
            user.fs_base.store(fs_base, Ordering::Relaxed);
        }
        crate::arch::user::switch_root(root);
        crate::arch::user::set_fs_base(fs_base);
        drop(started);
        crate::arch::user::enter(&child_frame)
    });
    if spawned.is_err() {
        parent.children.lock().retain(|c| c.pid != pid);
        remove_from_table(pid);
        return Err(Errno::EAGAIN);
    }
    if request.vfork {
        child
            .vfork_done
            .wait_until(None, || child.vfork_released.load(Ordering::Acquire));
    }
    Ok(pid)
}

/// Ends the current process with Linux wait status `status`: closes its descriptors, frees its
/// memory, hands its children to process 1, tells the parent, and ends the thread.
pub fn exit_current(status: u32) -> ! {
    if let Some(process) = current_arc() {
        finish(&process, status);
    }
    crate::sched::exit(u64::from(status))
}

fn finish(process: &Arc<Process>, status: u32) {
    process.exiting.store(true, Ordering::Release);
    let clear = process.clear_child_tid.load(Ordering::Relaxed);
    if clear != 0 {
        let _ = usermem::write_u32(clear, 0);
        syscalls::futex::wake_address(process, clear, 1);
    }
    let closed = process.files.lock().close_all();
    drop(closed);
    // Off this address space before it can be freed.
    if let Some(user) = &crate::sched::current_thread().user {
        user.root.store(0, Ordering::Release);
    }
    crate::arch::user::activate_kernel();
    let old = core::mem::replace(
        &mut *process.memory.lock(),
        Arc::new(IrqSpinLock::new("memory", memory::Memory::empty())),
    );
    // Freed after the lock is released: walking the tables takes a while.
    drop(old);
    process.release_vfork_parent();
    tty::console().process_exited(process);

    // Orphans go to process 1, which reaps them.
    let init = lookup(1).filter(|i| i.pid != process.pid);
    let (parent, adopted) = {
        let _family = FAMILY.lock();
        let orphans: Vec<Arc<Process>> = core::mem::take(&mut *process.children.lock());
        let adopted = init.is_some() && !orphans.is_empty();
        match &init {
            Some(init) if adopted => {
                for orphan in &orphans {
                    orphan.parent.store(1, Ordering::Relaxed);
                }
                init.children.lock().extend(orphans);
            }
            _ => {
                for orphan in orphans {
                    orphan.parent.store(0, Ordering::Relaxed);
                    if matches!(orphan.state(), RunState::Zombie { .. }) {
                        remove_from_table(orphan.pid);
                    }
                }
            }
        }
        *process.state.lock() = RunState::Zombie { status };
        (process.parent(), adopted)
    };
    if let Some(init) = init.filter(|_| adopted) {
        init.child_events.wake_all();
    }
    match lookup(parent) {
        Some(parent) => {
            let code = signal::child_code(status);
            signal::send(
                &parent,
                linux_abi::signal::SIGCHLD,
                signal::Origin::Child {
                    pid: process.pid,
                    code,
                    status,
                },
            );
            parent.child_events.wake_all();
        }
        None => {
            // No parent to reap it (process 1 itself, or an orphan of a dead init).
            remove_from_table(process.pid);
            if process.pid == 1 {
                log::warn!("process 1 exited with status {status:#x}");
                tty::console().release();
                INIT_EXITED.wake_all();
            }
        }
    }
}

/// Woken when process 1 exits (the kernel shell may take over the console again).
pub static INIT_EXITED: WaitQueue = WaitQueue::new("init-exit");

/// Stops the current process with `signal` until SIGCONT (or death).
pub fn stop_current(process: &Arc<Process>, signal_number: u32) {
    *process.state.lock() = RunState::Stopped {
        signal: signal_number,
        reported: false,
    };
    if let Some(parent) = lookup(process.parent()) {
        let flags = parent
            .signals
            .lock()
            .action(linux_abi::signal::SIGCHLD)
            .flags;
        if flags & linux_abi::signal::SA_NOCLDSTOP == 0 {
            signal::send(
                &parent,
                linux_abi::signal::SIGCHLD,
                signal::Origin::Child {
                    pid: process.pid,
                    code: linux_abi::signal::CLD_STOPPED,
                    status: u32::from(signal_number as u8),
                },
            );
        }
        parent.child_events.wake_all();
    }
    process.signal_events.wait_until(None, || {
        !matches!(*process.state.lock(), RunState::Stopped { .. })
            || process.signals.lock().kill_pending()
    });
}

/// Continues a stopped process (SIGCONT).
pub fn continue_process(process: &Arc<Process>) {
    let was_stopped = {
        let mut state = process.state.lock();
        if matches!(*state, RunState::Stopped { .. }) {
            *state = RunState::Continued;
            true
        } else {
            false
        }
    };
    if was_stopped {
        process.signal_events.wake_all();
        if let Some(parent) = lookup(process.parent()) {
            parent.child_events.wake_all();
        }
    }
}

/// `wait4`'s choice of children.
#[derive(Clone, Copy)]
pub enum WaitFor {
    Any,
    Pid(Pid),
    Group(Pid),
}

/// What `wait4` found.
pub enum Waited {
    Reaped { pid: Pid, status: u32 },
    Stopped { pid: Pid, status: u32 },
    Continued { pid: Pid },
    NothingYet,
}

/// One pass of `wait4` over the children of `parent`; `Err(ECHILD)` if none match.
pub fn wait_pass(
    parent: &Arc<Process>,
    which: WaitFor,
    untraced: bool,
    continued: bool,
) -> Result<Waited, Errno> {
    let children = parent.children();
    let matching: Vec<&Arc<Process>> = children
        .iter()
        .filter(|c| match which {
            WaitFor::Any => true,
            WaitFor::Pid(pid) => c.pid == pid,
            WaitFor::Group(group) => c.process_group() == group,
        })
        .collect();
    if matching.is_empty() {
        return Err(Errno::ECHILD);
    }
    for child in matching {
        let mut state = child.state.lock();
        match *state {
            RunState::Zombie { status } => {
                drop(state);
                parent.children.lock().retain(|c| c.pid != child.pid);
                remove_from_table(child.pid);
                return Ok(Waited::Reaped {
                    pid: child.pid,
                    status,
                });
            }
            RunState::Stopped {
                signal,
                reported: false,
            } if untraced => {
                *state = RunState::Stopped {
                    signal,
                    reported: true,
                };
                return Ok(Waited::Stopped {
                    pid: child.pid,
                    status: 0x7f | (signal << 8),
                });
            }
            RunState::Continued if continued => {
                *state = RunState::Running;
                return Ok(Waited::Continued { pid: child.pid });
            }
            _ => {}
        }
    }
    Ok(Waited::NothingYet)
}

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Installs the user-mode hooks in the arch layer (once).
pub fn install() {
    if INSTALLED.swap(true, Ordering::AcqRel) {
        return;
    }
    crate::arch::user::set_hooks(crate::arch::user::UserHooks {
        system_call: syscalls::dispatch,
        page_fault: memory::user_page_fault,
        exception: signal::user_exception,
        before_return: signal::before_return,
    });
}

/// Processes alive or zombie (for the shell's `ps`).
pub fn count() -> usize {
    TABLE.lock().len()
}
