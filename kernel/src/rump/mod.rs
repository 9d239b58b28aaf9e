//! The kernel as a rump *client*: it boots the linked rump kernel (`RUMP_COMPONENTS=DIR`),
//! mounts through it and serves the shell's `rump` command.
//!
//! Every call into the rump kernel runs on a client thread of its own ([`call`]) while the
//! caller waits for it or for the rump kernel to halt: a rump panic parks the client thread
//! (docs/contract.md §13), and the caller — the boot thread or the shell — carries on.
//!
//! May import: `sched`, `sync`, `time`, `block`, `console`.
//!
//! Never the host below the rump kernel (`rumphost`): it tells this module that the rump kernel
//! halted through [`halted`], which the start-up code registers with it.

#[cfg(rump_components)]
mod fs;

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

/// Runs `work` on a fresh client thread and waits for it. Returns `None` when the rump kernel
/// halted before the work finished (the client thread is then parked by the host for good).
pub fn call<T: Send + 'static>(name: &str, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    if halt_reason().is_some() {
        return None;
    }
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
            return None;
        }
    };
    loop {
        if done.load(Ordering::Acquire) {
            handle.join();
            return result.lock().take();
        }
        if halt_reason().is_some() {
            handle.detach(); // parked by the host; nobody will join it
            return None;
        }
        CALLERS.wait_once(None, || {
            done.load(Ordering::Acquire) || halt_reason().is_some()
        });
    }
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
                } else {
                    log::error!("rump: rump_init() failed with error {result}");
                }
            }
            None => log::error!("rump: the rump kernel halted during rump_init()"),
        }
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
        0 => String::from("rump: components linked, rump kernel running (rump_init() = 0)"),
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
    if INIT_RESULT.load(Ordering::Acquire) != 0 {
        crate::println!("rump: the rump kernel is not running");
        return;
    }
    let command = words[0].clone();
    if call("rump-client", move || subcommand(&words)).is_none() {
        crate::println!(
            "rump {command}: the rump kernel halted during the call ({})",
            halt_reason().unwrap_or("no reason recorded")
        );
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

#[cfg(rump_components)]
fn subcommand(words: &[String]) {
    let words: alloc::vec::Vec<&str> = words.iter().map(String::as_str).collect();
    let result = match words.as_slice() {
        ["mount", device, path] => fs::mount(device, path, false),
        ["mount", device, path, "rw"] => fs::mount(device, path, true),
        ["write", path, rest @ ..] if !rest.is_empty() => fs::write_text(path, &rest.join(" ")),
        ["umount", path] => fs::unmount(path, None),
        ["umount", path, device] => fs::unmount(path, Some(device)),
        ["ls", path] => fs::list(path),
        ["cat", path] => fs::cat(path),
        ["read", path] => fs::timed_read(path),
        _ => Err("usage: rump [mount DEV PATH [rw] | umount PATH [DEV] | ls PATH | cat PATH | read PATH | write PATH TEXT | panic]".into()),
    };
    if let Err(error) = result {
        crate::println!("rump {}: {error}", words[0]);
    }
}
