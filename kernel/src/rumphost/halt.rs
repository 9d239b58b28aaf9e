//! A rump kernel that panics (or exits) stops the rump kernel, not the native one
//! (docs/contract.md §13.1).
//!
//! `rumpuser_exit` lands in [`halt`]: it records why, masks the interrupt lines of the devices
//! the rump kernel drives and turns off their bus mastering (so no DMA lands in memory nobody
//! owns any more), prints a report and parks the calling thread for good. Every other rump
//! thread parks at its next hypercall ([`checkpoint`]): rump code holds no native lock between
//! hypercalls, so a parked rump thread never blocks the native kernel.

use alloc::string::String;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::sched::wait::WaitQueue;
use crate::sync::spin::IrqSpinLock;

static HALTED: AtomicBool = AtomicBool::new(false);
static REASON: spin::Once<String> = spin::Once::new();
/// Parked rump threads sleep here; nothing ever wakes it.
static PARKED: WaitQueue = WaitQueue::new("rump-halted");
static PARKED_THREADS: AtomicUsize = AtomicUsize::new(0);
/// Who is told once the rump kernel halted (a `fn(&str)`; 0 = nobody).
static LISTENER: AtomicUsize = AtomicUsize::new(0);

/// The rump console's current line and its last `panic:` line (NetBSD prints the panic message
/// through `rumpuser_putchar` before it calls `rumpuser_exit`).
struct ConsoleLines {
    current: String,
    last: Option<String>,
    panic: Option<String>,
}

static CONSOLE: IrqSpinLock<ConsoleLines> = IrqSpinLock::new(
    "rump-console-lines",
    ConsoleLines {
        current: String::new(),
        last: None,
        panic: None,
    },
);

/// Longest console line kept for the report.
const LINE_LIMIT: usize = 240;

/// Notes one byte the rump kernel wrote to its console.
pub fn console_byte(byte: u8) {
    let mut lines = CONSOLE.lock();
    match byte {
        b'\n' => {
            let line = core::mem::take(&mut lines.current);
            if let Some(start) = line.find("panic: ") {
                lines.panic = Some(String::from(line[start..].trim_end()));
            }
            if !line.trim().is_empty() {
                lines.last = Some(String::from(line.trim_end()));
            }
        }
        b'\r' => {}
        _ if lines.current.len() < LINE_LIMIT => lines.current.push(byte as char),
        _ => {}
    }
}

/// Whether the rump kernel has halted.
pub fn is_halted() -> bool {
    HALTED.load(Ordering::Acquire)
}

/// Why the rump kernel halted, once it has.
pub fn reason() -> Option<&'static str> {
    REASON.get().map(String::as_str)
}

/// Rump threads parked so far.
pub fn parked_threads() -> usize {
    PARKED_THREADS.load(Ordering::Relaxed)
}

/// Sets who is told (with the reason) when the rump kernel halts.
pub fn set_listener(listener: fn(&str)) {
    LISTENER.store(listener as usize, Ordering::Release);
}

/// Parks the calling thread if the rump kernel has halted. Call only from thread context, with
/// no native lock held (hypercall entry and return points).
pub fn checkpoint() {
    if is_halted() {
        park()
    }
}

/// Parks the calling rump thread for good.
fn park() -> ! {
    PARKED_THREADS.fetch_add(1, Ordering::Relaxed);
    loop {
        PARKED.wait_once(None, || false);
    }
}

/// `rumpuser_exit(code)`: stops the rump kernel (`code` -1 = `RUMPUSER_PANIC`) and parks the
/// caller. The native kernel, its file systems and the shell carry on.
pub fn halt(code: i32) -> ! {
    if HALTED.swap(true, Ordering::AcqRel) {
        park(); // another rump thread got here first
    }
    let reason = {
        let lines = CONSOLE.lock();
        match (code, &lines.panic, &lines.last) {
            (-1, Some(panic), _) => panic.clone(),
            (-1, None, Some(last)) => alloc::format!("panic (last console line: {last})"),
            (-1, None, None) => String::from("panic (no message on the rump console)"),
            (code, _, _) => alloc::format!("exited with code {code}"),
        }
    };
    let reason = REASON.call_once(|| reason);
    let (lines, devices) = super::pci::quiesce();
    crate::println!("rump kernel halted: {reason}");
    crate::println!(
        "rump kernel halted: its threads are parked, {lines} interrupt line(s) masked, bus mastering off on {devices} device(s); the native kernel continues"
    );
    let listener = LISTENER.load(Ordering::Acquire);
    if listener != 0 {
        // SAFETY: only `set_listener` stores here, always a `fn(&str)`.
        let listener = unsafe { core::mem::transmute::<usize, fn(&str)>(listener) };
        listener(reason);
    }
    park()
}
