//! A hypercall profile: how often each kind of hypercall (and each host service behind them)
//! ran, and for how long, while profiling is switched on. Off by default; then each counted
//! place costs one relaxed load.
//!
//! Times come from [`Host::timestamp`](crate::Host::timestamp) (a free-running counter, the
//! TSC on x86_64) and are inclusive: a `rumpuser_cv_wait` counts the upcalls and host waits
//! inside it, which are counted again under their own kinds.

extern crate alloc;

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::host::WaitOutcome;
use crate::install::host;

macro_rules! kinds {
    ($($kind:ident = $name:literal,)*) => {
        /// What a profile entry counts.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(usize)]
        pub enum Kind {
            $($kind,)*
        }

        /// Every kind with its printed name, in [`Kind`] order.
        pub const KINDS: &[(Kind, &str)] = &[$((Kind::$kind, $name),)*];
    };
}

kinds! {
    MutexEnter = "mutex_enter",
    MutexEnterBlocked = "mutex_enter, contended (vCPU released)",
    MutexEnterNowrap = "mutex_enter_nowrap",
    MutexTryenter = "mutex_tryenter",
    MutexExit = "mutex_exit",
    RwEnter = "rw_enter",
    RwTryenter = "rw_tryenter",
    RwExit = "rw_exit",
    CvWait = "cv_wait",
    CvWaitNowrap = "cv_wait_nowrap",
    CvTimedwait = "cv_timedwait",
    CvSignal = "cv_signal",
    CvBroadcast = "cv_broadcast",
    Malloc = "malloc",
    Free = "free",
    Curlwp = "curlwp",
    Curlwpop = "curlwpop",
    ClockGettime = "clock_gettime",
    ClockSleep = "clock_sleep",
    Bio = "bio (submit)",
    BioDone = "biodone (completion thread, state S)",
    BioBatch = "completion thread wake-ups",
    Unschedule = "upcall backend_unschedule",
    Schedule = "upcall backend_schedule",
    MutexSpin = "mutex spins (contended acquires)",
    MutexSpinWon = "mutex spins that got the lock",
    MutexSleep = "host wait on a mutex",
    MutexWake = "host wake of a mutex",
    CvSleep = "host wait on a cv",
    CvWake = "host wake of a cv",
    RwSleep = "host wait on a rwlock",
    RwWake = "host wake of a rwlock",
    BioSleep = "host wait of the completion thread",
    BioWake = "host wake of the completion thread",
    BioComplete = "bio completed by the host",
    Woken = "threads the host's wakes woke",
    Other = "other hypercalls",
}

const COUNT: usize = KINDS.len();

static ENABLED: AtomicBool = AtomicBool::new(false);
static CALLS: [AtomicU64; COUNT] = [const { AtomicU64::new(0) }; COUNT];
static TICKS: [AtomicU64; COUNT] = [const { AtomicU64::new(0) }; COUNT];

/// Entries of the event trace (a ring; the newest overwrite the oldest).
pub const TRACE_ENTRIES: usize = 8192;

static TRACING: AtomicBool = AtomicBool::new(false);
static TRACE_NEXT: AtomicU64 = AtomicU64::new(0);
/// Per entry: the timestamp, then `thread << 16 | kind << 2 | phase`.
static TRACE: [AtomicU64; 2 * TRACE_ENTRIES] = [const { AtomicU64::new(0) }; 2 * TRACE_ENTRIES];

/// Switches profiling on or off (the counts are kept).
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::SeqCst);
}

/// Switches the event trace on or off (implies nothing about the counts).
pub fn set_tracing(on: bool) {
    if on {
        TRACE_NEXT.store(0, Ordering::SeqCst);
    }
    TRACING.store(on, Ordering::SeqCst);
}

/// Where an event of the trace stands in its call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Begin,
    End,
    Point,
}

/// One event of the trace.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub timestamp: u64,
    /// Low bits of the calling thread's `curlwp` (0 without one).
    pub thread: u64,
    pub name: &'static str,
    pub phase: Phase,
}

/// The newest `count` events of the trace, oldest first.
pub fn trace(count: usize) -> alloc::vec::Vec<Event> {
    let next = TRACE_NEXT.load(Ordering::SeqCst) as usize;
    let count = count.min(next).min(TRACE_ENTRIES);
    (next - count..next)
        .map(|index| {
            let slot = index % TRACE_ENTRIES;
            let word = TRACE[2 * slot + 1].load(Ordering::Relaxed);
            Event {
                timestamp: TRACE[2 * slot].load(Ordering::Relaxed),
                thread: word >> 16,
                name: KINDS
                    .get((word >> 2 & 0x3fff) as usize)
                    .map_or("?", |k| k.1),
                phase: match word & 3 {
                    0 => Phase::Begin,
                    1 => Phase::End,
                    _ => Phase::Point,
                },
            }
        })
        .collect()
}

#[inline]
fn record(kind: Kind, phase: u64, timestamp: u64) {
    if TRACING.load(Ordering::Relaxed) {
        let slot = TRACE_NEXT.fetch_add(1, Ordering::Relaxed) as usize % TRACE_ENTRIES;
        let thread = (host().curlwp() as u64 >> 4) & 0xffff_ffff_ffff;
        TRACE[2 * slot].store(timestamp, Ordering::Relaxed);
        TRACE[2 * slot + 1].store(thread << 16 | (kind as u64) << 2 | phase, Ordering::Relaxed);
    }
}

/// Whether profiling is on.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Sets every count to zero.
pub fn reset() {
    for (calls, ticks) in CALLS.iter().zip(TICKS.iter()) {
        calls.store(0, Ordering::Relaxed);
        ticks.store(0, Ordering::Relaxed);
    }
}

/// One kind's figures: calls, and time in [`Host::timestamp`](crate::Host::timestamp) ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    pub name: &'static str,
    pub calls: u64,
    pub ticks: u64,
}

/// The figures of every kind, in [`KINDS`] order.
pub fn snapshot() -> [Entry; COUNT] {
    core::array::from_fn(|index| Entry {
        kind: KINDS[index].0,
        name: KINDS[index].1,
        calls: CALLS[index].load(Ordering::Relaxed),
        ticks: TICKS[index].load(Ordering::Relaxed),
    })
}

/// Counts one event without timing it.
#[inline]
pub(crate) fn count(kind: Kind) {
    if enabled() {
        CALLS[kind as usize].fetch_add(1, Ordering::Relaxed);
        record(kind, 2, host().timestamp());
    }
}

/// Adds `n` to the count of `kind` (for hosts reporting what happens below the trait).
#[inline]
pub fn add(kind: Kind, n: u64) {
    if enabled() {
        CALLS[kind as usize].fetch_add(n, Ordering::Relaxed);
    }
}

/// Times the rest of the enclosing scope as one call of its kind.
#[must_use = "the time is taken when the value drops"]
pub(crate) struct Timed {
    kind: Kind,
    start: Option<u64>,
}

impl Timed {
    #[inline]
    pub(crate) fn new(kind: Kind) -> Self {
        let start = enabled().then(|| host().timestamp());
        if let Some(start) = start {
            record(kind, 0, start);
        }
        Timed { kind, start }
    }
}

impl Drop for Timed {
    #[inline]
    fn drop(&mut self) {
        if let Some(start) = self.start {
            let now = host().timestamp();
            record(self.kind, 1, now);
            let spent = now.wrapping_sub(start);
            CALLS[self.kind as usize].fetch_add(1, Ordering::Relaxed);
            TICKS[self.kind as usize].fetch_add(spent, Ordering::Relaxed);
        }
    }
}

/// [`Host::wait`](crate::Host::wait), counted as `kind`.
#[inline]
pub(crate) fn wait(
    kind: Kind,
    word: &core::sync::atomic::AtomicU32,
    expected: u32,
    deadline: Option<core::time::Duration>,
) -> WaitOutcome {
    let _timed = Timed::new(kind);
    host().wait(word, expected, deadline)
}

/// [`Host::wake`](crate::Host::wake), counted as `kind`.
#[inline]
pub(crate) fn wake(kind: Kind, word: &core::sync::atomic::AtomicU32, count: u32) {
    let _timed = Timed::new(kind);
    host().wake(word, count)
}
