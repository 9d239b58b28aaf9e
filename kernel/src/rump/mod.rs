//! The kernel as a rump *client*: it boots the linked rump kernel (`RUMP_COMPONENTS=DIR`),
//! mounts through it, plays sound through it ([`audio`]) and serves the shell's `rump` command.
//!
//! Every call into the rump kernel runs on a client thread of its own ([`call`]) while the
//! caller waits for it or for the rump kernel to halt: a rump panic parks the client thread
//! (docs/contract.md §13), and the caller — the boot thread or the shell — carries on.
//!
//! May import: `sched`, `sync`, `time`, `block`, `console`, `boot`, `vfs`, `net`, `arch`.
//!
//! Never the host below the rump kernel (`rumphost`): it tells this module that the rump kernel
//! halted through [`halted`], which the start-up code registers with it.

pub mod audio;
#[cfg(rump_components)]
pub mod bridge;
#[cfg(rump_autoconf)]
mod devices;
#[cfg(rump_components)]
mod fs;
#[cfg(rump_net)]
pub mod net;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use crate::sched::wait::WaitQueue;
use crate::sched::{self, Builder};
use crate::sync::spin::IrqSpinLock;

/// `rump_init()` result: i32::MIN = not attempted.
static INIT_RESULT: AtomicI32 = AtomicI32::new(i32::MIN);
/// Why the rump kernel halted (set once, by [`halted`]).
static HALT_REASON: spin::Once<String> = spin::Once::new();
/// Callers waiting in [`call`] sleep here; a finished call or a halt wakes them.
static CALLERS: WaitQueue = WaitQueue::new("rump-client");

/// Whether components were linked into this kernel.
pub const LINKED: bool = cfg!(rump_components);

/// Told by the host that the rump kernel halted (registered at start-up).
pub fn halted(reason: &str) {
    HALT_REASON.call_once(|| String::from(reason));
    CALLERS.wake_all();
}

/// Why the rump kernel halted, if it has.
pub fn halt_reason() -> Option<&'static str> {
    HALT_REASON.get().map(String::as_str)
}

/// Why a call into the rump kernel gave no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallFailure {
    /// The rump kernel halted (its client thread is parked for good).
    Halted,
    /// The call is still running after the time limit; it goes on in the background.
    StillRunning,
    /// No thread could be started for it.
    NoThread,
}

/// Runs `work` on a fresh client thread and waits for it, or for the rump kernel to halt.
pub fn call<T: Send + 'static>(name: &str, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    call_with_limit(name, None, work).ok()
}

/// [`call`] that stops waiting after `limit_nanos` (the call itself cannot be interrupted:
/// it carries on, and its result is dropped when it finishes).
pub fn call_with_limit<T: Send + 'static>(
    name: &str,
    limit_nanos: Option<u64>,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CallFailure> {
    if halt_reason().is_some() {
        return Err(CallFailure::Halted);
    }
    let deadline = limit_nanos.map(|limit| crate::time::monotonic_nanos().saturating_add(limit));
    let result: Arc<IrqSpinLock<Option<T>>> = Arc::new(IrqSpinLock::new("rump-call", None));
    let done = Arc::new(AtomicBool::new(false));
    let mut builder = Builder::new(name);
    builder.uses_fpu = true; // foreign C code; its build flags decide whether it uses SSE
    builder.stack_pages = 32;
    let (slot, finished) = (Arc::clone(&result), Arc::clone(&done));
    let work: Box<dyn FnOnce() -> T + Send> = Box::new(work);
    let handle = match sched::spawn(builder, move || {
        let value = work();
        *slot.lock() = Some(value);
        finished.store(true, Ordering::Release);
        CALLERS.wake_all();
        0
    }) {
        Ok(handle) => handle,
        Err(error) => {
            log::error!("rump: cannot start a client thread: {error:?}");
            return Err(CallFailure::NoThread);
        }
    };
    loop {
        if done.load(Ordering::Acquire) {
            handle.join();
            return result.lock().take().ok_or(CallFailure::NoThread);
        }
        if halt_reason().is_some() {
            handle.detach(); // parked by the host; nobody will join it
            return Err(CallFailure::Halted);
        }
        if deadline.is_some_and(|deadline| crate::time::monotonic_nanos() >= deadline) {
            handle.detach();
            return Err(CallFailure::StillRunning);
        }
        CALLERS.wait_once(deadline, || {
            done.load(Ordering::Acquire) || halt_reason().is_some()
        });
    }
}

/// Client threads kept for [`call_pooled`]: enough for several processes reading at once.
const POOL_LIMIT: usize = 8;

type Job = Box<dyn FnOnce() + Send>;

/// Work for the pooled client threads, the number of them and how many wait for work.
static POOL_JOBS: IrqSpinLock<alloc::collections::VecDeque<Job>> =
    IrqSpinLock::new("rump-pool", alloc::collections::VecDeque::new());
static POOL_THREADS: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);
static POOL_IDLE: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);
static POOL_WAKE: WaitQueue = WaitQueue::new("rump-pool");

fn pool_worker() -> u64 {
    #[cfg(rump_components)]
    take_permanent_lwp();
    loop {
        let job = POOL_JOBS.lock().pop_front();
        match job {
            Some(job) => job(),
            None => {
                POOL_IDLE.fetch_add(1, Ordering::AcqRel);
                POOL_WAKE.wait_until(None, || !POOL_JOBS.lock().is_empty());
                POOL_IDLE.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

/// Gives this pooled client thread an lwp of its own in the rump kernel's process 0 (where
/// the lwps of threads without one run, so descriptors stay shared between pooled threads).
/// Without it every call from the thread has `rump_schedule()` make a temporary lwp and free
/// it again — NetBSD's slow path for occasional callers, most of the cost of a 4 KiB read
/// through the bridge.
#[cfg(rump_components)]
fn take_permanent_lwp() {
    if INIT_RESULT.load(Ordering::Acquire) != 0 || halt_reason().is_some() {
        return;
    }
    // SAFETY: the rump kernel is up and this host thread has no lwp yet; newlwp(0) makes
    // one in process 0 and makes it this thread's (contract §2.9's service-thread pattern,
    // through the public entry point).
    let error = unsafe { rump_api::rump_pub_lwproc_newlwp(0) };
    if error != 0 {
        log::warn!("rump: no permanent lwp for a pooled client thread (error {error}); it uses temporary ones");
    }
}

/// Queues `work` for a pooled client thread without waiting for it (for work that must not
/// block its caller, such as a close from a context that may not sleep).
pub fn call_detached(work: impl FnOnce() + Send + 'static) {
    POOL_JOBS.lock().push_back(Box::new(work));
    if POOL_IDLE.load(Ordering::Acquire) == 0 && POOL_THREADS.load(Ordering::Acquire) == 0 {
        // No thread yet: the first pooled call starts one and it finds this job too.
        log::debug!("rump: a detached call waits for the first pooled client thread");
    }
    POOL_WAKE.wake_one();
}

/// Runs `wake` with the threads it wakes queued on this CPU (`Thread::wakes_run_here`): for a
/// hand-over whose waker blocks right after, so the woken thread runs when it does instead of
/// waiting for an IPI to another CPU (two of those made up most of a pooled call's cost: about
/// 85 µs of a 4 KiB read's 140 µs under TCG).
fn waking_here(wake: impl FnOnce()) {
    let thread = sched::current_thread();
    let before = thread.wakes_run_here.swap(true, Ordering::Relaxed);
    wake();
    thread.wakes_run_here.store(before, Ordering::Relaxed);
}

/// [`call`] on one of a few long-lived client threads instead of a fresh one: for calls that
/// come often and finish quickly (processes' file access through `bridge`). A call that
/// never returns keeps its thread; when all are busy the caller waits for one.
pub fn call_pooled<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CallFailure> {
    if halt_reason().is_some() {
        return Err(CallFailure::Halted);
    }
    let result: Arc<IrqSpinLock<Option<T>>> = Arc::new(IrqSpinLock::new("rump-call", None));
    let done = Arc::new(AtomicBool::new(false));
    let (slot, finished) = (Arc::clone(&result), Arc::clone(&done));
    POOL_JOBS.lock().push_back(Box::new(move || {
        let value = work();
        *slot.lock() = Some(value);
        finished.store(true, Ordering::Release);
        // The pooled thread looks for more work and sleeps: the caller runs here after it.
        waking_here(|| {
            CALLERS.wake_all();
        });
    }));
    if POOL_IDLE.load(Ordering::Acquire) == 0 && POOL_THREADS.load(Ordering::Acquire) < POOL_LIMIT {
        POOL_THREADS.fetch_add(1, Ordering::AcqRel);
        let mut builder = Builder::new("rump-pool");
        builder.uses_fpu = true;
        builder.stack_pages = 32;
        match sched::spawn(builder, pool_worker) {
            Ok(handle) => handle.detach(),
            Err(error) => {
                POOL_THREADS.fetch_sub(1, Ordering::AcqRel);
                log::warn!("rump: no new pooled client thread ({error:?}); waiting for one");
            }
        }
    }
    // The caller sleeps next: the pooled thread runs on its CPU when it does.
    waking_here(|| {
        POOL_WAKE.wake_one();
    });
    loop {
        if done.load(Ordering::Acquire) {
            return result.lock().take().ok_or(CallFailure::NoThread);
        }
        if halt_reason().is_some() {
            return Err(CallFailure::Halted);
        }
        CALLERS.wait_once(None, || {
            done.load(Ordering::Acquire) || halt_reason().is_some()
        });
    }
}

/// How long the shell waits for one `rump` command (`rump_call_timeout=SECONDS` on the kernel
/// command line; 120 s by default, generous for emulation).
fn shell_call_limit_nanos() -> u64 {
    let seconds = crate::boot::info()
        .option("rump_call_timeout")
        .and_then(|value| value.parse::<u64>().ok())
        .unwrap_or(120);
    seconds.saturating_mul(1_000_000_000)
}

/// Boots the linked rump kernel, if any (contract §10.1), on a client thread: a panic during
/// `rump_init()` halts the rump kernel and start-up continues without it.
pub fn boot() {
    #[cfg(rump_components)]
    {
        log::info!("rump: calling rump_init()");
        // SAFETY: the hypercall host is installed and the component archives are linked;
        // rump_init takes no arguments and is called once.
        match call("rump-init", || unsafe { rump_api::rump_init() }) {
            Some(result) => {
                INIT_RESULT.store(result, Ordering::Release);
                if result == 0 {
                    log::info!("rump: rump_init() returned 0; the rump kernel is up");
                    bridge::register();
                    audio::processes::register();
                    #[cfg(rump_net)]
                    start_network();
                } else {
                    log::error!("rump: rump_init() failed with error {result}");
                }
            }
            None => log::error!("rump: the rump kernel halted during rump_init()"),
        }
    }
}

/// Configures NetBSD's `wm0` and offers its stack to the kernel's socket API.
#[cfg(rump_net)]
fn start_network() {
    match call("rump-net", net::configure) {
        Some(Ok(())) => crate::net::socket::register(&net::RUMP),
        Some(Err(error)) => log::error!("rump: wm0 not configured: {error}"),
        None => log::error!("rump: the rump kernel halted while configuring wm0"),
    }
}

/// The rump kernel's state in one line, for `rump` and `ps`-like reports.
pub fn status() -> String {
    if let Some(reason) = halt_reason() {
        return alloc::format!("rump kernel halted: {reason}");
    }
    if !LINKED {
        return String::from(
            "rump: no components linked (build with RUMP_COMPONENTS=DIR; see docs/components.md)",
        );
    }
    match INIT_RESULT.load(Ordering::Acquire) {
        i32::MIN => String::from("rump: components linked, rump_init() not called"),
        0 => {
            #[cfg(rump_components)]
            let open = bridge::open_files();
            #[cfg(not(rump_components))]
            let open = 0;
            alloc::format!(
                "rump: components linked, rump kernel running (rump_init() = 0), {open} files open for the VFS"
            )
        }
        error => alloc::format!("rump: components linked, rump_init() failed with error {error}"),
    }
}

/// The `rump` shell command: status, `panic` (stop the rump kernel on purpose), or
/// `mount DEV PATH [rw]`, `umount PATH [DEV]`, `ls PATH`, `cat PATH`, `read PATH`,
/// `write PATH TEXT` through the rump kernel.
pub fn shell(arguments: &str) {
    let words: alloc::vec::Vec<String> = arguments.split_whitespace().map(String::from).collect();
    if words.is_empty() {
        crate::println!("{}", status());
        return;
    }
    if let Some(reason) = halt_reason() {
        crate::println!("rump: the rump kernel has halted ({reason}); only a reboot restarts it");
        return;
    }
    if words[0] == "panic" {
        force_panic();
        return;
    }
    if !LINKED {
        crate::println!("{}", status());
        return;
    }
    let command = alloc::format!("rump {}", words[0]);
    shell_call(&command, move || subcommand(&words));
}

/// Runs `work` for the shell command `command` on a client thread with the shell's time limit
/// (`rump_call_timeout`); says on the console why there is no result when there is none (the
/// rump kernel halted, is not running, or is still busy with the call).
pub fn shell_call<T: Send + 'static>(
    command: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    if let Some(reason) = halt_reason() {
        crate::println!("{command}: the rump kernel has halted ({reason})");
        return None;
    }
    if LINKED && INIT_RESULT.load(Ordering::Acquire) != 0 {
        crate::println!("{command}: the rump kernel is not running");
        return None;
    }
    let limit = shell_call_limit_nanos();
    match call_with_limit("rump-client", Some(limit), work) {
        Ok(value) => Some(value),
        Err(CallFailure::Halted) => {
            crate::println!(
                "{command}: the rump kernel halted during the call ({})",
                halt_reason().unwrap_or("no reason recorded")
            );
            None
        }
        Err(CallFailure::StillRunning) => {
            crate::println!(
                "{command}: no answer from the rump kernel after {} s; the call goes on in the background (thread 'rump-client')",
                limit / 1_000_000_000
            );
            None
        }
        Err(CallFailure::NoThread) => {
            crate::println!("{command}: no thread for the call");
            None
        }
    }
}

/// Starts `work` on a client thread and returns at once (the shell's `... &`); false when the
/// rump kernel cannot take calls. The work reports its own result.
pub fn shell_call_in_background(command: &str, work: impl FnOnce() + Send + 'static) -> bool {
    if let Some(reason) = halt_reason() {
        crate::println!("{command}: the rump kernel has halted ({reason})");
        return false;
    }
    if LINKED && INIT_RESULT.load(Ordering::Acquire) != 0 {
        crate::println!("{command}: the rump kernel is not running");
        return false;
    }
    match call_with_limit("rump-background", Some(0), work) {
        Ok(()) | Err(CallFailure::StillRunning) => true,
        Err(CallFailure::Halted) => {
            crate::println!("{command}: the rump kernel halted");
            false
        }
        Err(CallFailure::NoThread) => {
            crate::println!("{command}: no thread for the call");
            false
        }
    }
}

/// `rump panic`: with components, asks the rump kernel to take its panic path
/// (`reboot(RB_DUMP)`); without them, runs the host's panic drill, a stand-in rump kernel in C
/// that starts threads and panics.
fn force_panic() {
    #[cfg(rump_components)]
    {
        if INIT_RESULT.load(Ordering::Acquire) != 0 {
            crate::println!("rump panic: the rump kernel is not running");
            return;
        }
        crate::println!("rump panic: asking the rump kernel to panic (reboot with RB_DUMP)");
        // SAFETY: rump_sys_reboot takes a flag word and an optional NUL-terminated string.
        let returned = call("rump-client", || unsafe {
            rump_api::rump___sysimpl_reboot(rump_api::RB_DUMP, core::ptr::null_mut())
        });
        if let Some(result) = returned {
            crate::println!("rump panic: reboot returned {result}; the rump kernel did not halt");
        }
    }
    #[cfg(not(rump_components))]
    {
        extern "C" {
            fn contract_panic_drill();
        }
        crate::println!(
            "rump panic: no components linked; running the panic drill (a stand-in rump kernel)"
        );
        // SAFETY: the drill only calls hypercalls; it ends in rumpuser_exit and never returns.
        if call("rump-drill", || unsafe { contract_panic_drill() }).is_some() {
            crate::println!("rump panic: the drill returned; the rump kernel did not halt");
        }
    }
    crate::println!("{}", status());
}

#[cfg(not(rump_components))]
fn subcommand(_words: &[String]) {}

/// `rump mount DEV PATH [rw]`: NetBSD's ext2fs mounts DEV (a kernel disk such as `vdb`, or a
/// disk of the rump kernel such as `/dev/sd0a`) at PATH in the rump kernel and, through the
/// bridge, at the same PATH in the VFS, where the file commands and processes reach it.
#[cfg(rump_components)]
fn mount(device: &str, path: &str, writable: bool) -> Result<(), String> {
    let source = if device.starts_with('/') {
        String::from(device)
    } else {
        alloc::format!("/dev/{device}")
    };
    let message = crate::vfs::mount::mount_foreign("rump-ext2fs", &source, path, !writable)
        .map_err(|error| alloc::format!("{error}"))?;
    crate::println!("{message}");
    Ok(())
}

/// `rump umount PATH`: unmounts in the rump kernel (refused while files are open there) and
/// removes the mount from the VFS; a kernel disk's etfs registration goes with it.
#[cfg(rump_components)]
fn unmount(path: &str) -> Result<(), String> {
    match crate::vfs::mount::umount(path) {
        Ok(message) => {
            crate::println!("{message}");
            Ok(())
        }
        // Mounted in the rump kernel only (by an earlier call through its own API).
        Err(crate::vfs::VfsError::NotMounted) => fs::unmount(path, None),
        Err(error) => Err(alloc::format!("{error}")),
    }
}

#[cfg(rump_components)]
fn subcommand(words: &[String]) {
    let words: alloc::vec::Vec<&str> = words.iter().map(String::as_str).collect();
    let result = match words.as_slice() {
        ["mount", device, path] => mount(device, path, false),
        ["mount", device, path, "rw"] => mount(device, path, true),
        ["write", "--bench", path, mib] => fs::bench_write(path, mib),
        ["write", path, rest @ ..] if !rest.is_empty() => fs::write_text(path, &rest.join(" ")),
        ["umount", path] | ["umount", path, _] => unmount(path),
        ["ls", path] => fs::list(path),
        ["mkdir", path] => fs::make_directory(path),
        ["rm", path] => fs::remove(path),
        ["mv", from, to] => fs::rename(from, to),
        ["disks"] => fs::disks(),
        #[cfg(rump_autoconf)]
        ["devices"] => devices::list(),
        #[cfg(not(rump_autoconf))]
        ["devices"] => Err("the linked components have no autoconf device list (librumpdev)".into()),
        ["cat", path] => fs::cat(path),
        ["read", path] => fs::timed_read(path),
        ["read", "--bench", path] => fs::bench_read(path),
        ["read", "--profile", path] => fs::profile_read(path, false),
        ["read", "--trace", path] => fs::profile_read(path, true),
        ["read", "--random", path, count] => fs::bench_random_read(path, count),
        _ => Err("usage: rump [mount DEV PATH [rw] | umount PATH [DEV] | ls PATH | cat PATH | read [--bench|--profile] PATH | read --random PATH COUNT | write PATH TEXT | write --bench PATH MIB | mkdir PATH | rm PATH | mv FROM TO | disks | devices | panic]".into()),
    };
    if let Err(error) = result {
        crate::println!("rump {}: {error}", words[0]);
    }
}
