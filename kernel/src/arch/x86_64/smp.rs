//! Application-processor start-up: INIT-SIPI-SIPI through a real-mode trampoline at 0x8000.
//!
//! The caller (the kernel's start-up code) provides what this layer cannot own: the trampoline
//! page mapped and identity-mapped, a boot stack per CPU, a clock, and the function each new CPU
//! continues in once it runs 64-bit code with its IDT loaded.
//!
//! A CPU that is slow to start (a busy host delays a virtual CPU for seconds) must never run on
//! another CPU's start-up parameters or find the trampoline gone. So the boot CPU and each new
//! CPU settle its fate with one compare-and-swap on `HANDSHAKE`: the new CPU turns
//! `STARTING(i)` into `ARRIVED(i)` as its first act in Rust, or the boot CPU, at its deadline,
//! turns it into `ABANDONED(i)`. An abandoned CPU that turns up later halts itself without
//! touching anything; the boot CPU starts no further CPUs after abandoning one (their parameters
//! would share the trampoline with it) and leaves the trampoline mapped.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use super::{cpu, cpus, idt, lapic};

/// Physical page the AP trampoline runs from (below 1 MiB, never handed out as a frame).
pub const TRAMPOLINE_PHYSICAL: u64 = 0x8000;

static AP_READY: AtomicBool = AtomicBool::new(false);
/// The start-up handshake: a state in the high half, the CPU index in the low half.
static HANDSHAKE: AtomicU64 = AtomicU64::new(0);
const STARTING: u64 = 1 << 32;
const ARRIVED: u64 = 2 << 32;
const ABANDONED: u64 = 3 << 32;
/// How long a CPU may take to reach the kernel after its first start-up IPI.
const ARRIVAL_DEADLINE_NANOS: u64 = 5_000_000_000;
/// How long a CPU that reached the kernel may take to finish its set-up.
const ONLINE_DEADLINE_NANOS: u64 = 10_000_000_000;
/// The continuation of a new CPU, as a `fn(usize) -> !` (set before the first start-up).
static CONTINUATION: AtomicUsize = AtomicUsize::new(0);
/// The CPU index told to arrive late (`usize::MAX` = none).
static LATE_CPU: AtomicUsize = AtomicUsize::new(usize::MAX);

extern "C" {
    static ap_trampoline_start: u8;
    static ap_trampoline_end: u8;
    static ap_cr3: u8;
    static ap_stack: u8;
    static ap_entry: u8;
    static ap_argument: u8;
}

fn trampoline_offset(symbol: &u8) -> usize {
    // SAFETY: only the address of a linker symbol is taken.
    let start = unsafe { &ap_trampoline_start as *const u8 as usize };
    symbol as *const u8 as usize - start
}

/// What starting the other CPUs needs from the layers above.
pub struct StartParameters<'a> {
    /// A writable mapping of the trampoline page; the page must also be identity-mapped
    /// (virtual = physical) while start-up runs, because the trampoline enables paging there.
    pub trampoline: *mut u8,
    /// Physical address of the kernel's top-level page table.
    pub page_table_root: u64,
    /// Top of a fresh boot stack for CPU `index`; the stack is the CPU's for good.
    pub boot_stack: &'a mut dyn FnMut(usize) -> Option<u64>,
    /// Busy-waits this many nanoseconds.
    pub delay_nanos: &'a dyn Fn(u64),
    /// The monotonic clock in nanoseconds.
    pub now_nanos: &'a dyn Fn() -> u64,
    /// For tests: this CPU reaches the kernel only after the boot CPU has given up on it, the
    /// way a CPU of a badly overloaded host can.
    pub late_cpu: Option<usize>,
    /// Where each new CPU continues (with its index) after loading the IDT; it must call
    /// [`report_online`] once the CPU can take interrupts, and never return.
    pub continuation: fn(usize) -> !,
}

/// What [`start_application_processors`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartOutcome {
    /// CPUs online, the boot CPU included.
    pub online: usize,
    /// A CPU was abandoned and may still run the trampoline: keep its page mapped for good.
    pub trampoline_in_use: bool,
}

/// Starts every application processor, one at a time.
///
/// # Safety
/// `parameters.trampoline` must be a writable mapping of the page at [`TRAMPOLINE_PHYSICAL`]
/// that nothing else uses, identity-mapped as described on [`StartParameters`].
pub unsafe fn start_application_processors(parameters: StartParameters<'_>) -> StartOutcome {
    let count = cpus::cpu_count();
    let mut outcome = StartOutcome {
        online: 1,
        trampoline_in_use: false,
    };
    if count == 1 {
        return outcome;
    }
    CONTINUATION.store(parameters.continuation as usize, Ordering::Release);
    LATE_CPU.store(parameters.late_cpu.unwrap_or(usize::MAX), Ordering::Release);
    // SAFETY: only addresses of linker symbols are taken.
    let (start, end) = unsafe {
        (
            &ap_trampoline_start as *const u8,
            &ap_trampoline_end as *const u8,
        )
    };
    let length = end as usize - start as usize;
    let base = parameters.trampoline;
    // SAFETY: the caller gives a writable page that nothing else uses; the trampoline is smaller
    // than a page.
    unsafe { core::ptr::copy_nonoverlapping(start, base, length) };
    let write = |symbol: &u8, value: u64| {
        // SAFETY: the parameter slots lie inside the copied trampoline page.
        unsafe { (base.add(trampoline_offset(symbol)) as *mut u64).write_volatile(value) }
    };
    // SAFETY: addresses of linker symbols only.
    let (cr3_slot, stack_slot, entry_slot, argument_slot) =
        unsafe { (&ap_cr3, &ap_stack, &ap_entry, &ap_argument) };
    write(cr3_slot, parameters.page_table_root);
    write(
        entry_slot,
        application_processor_entry as *const () as usize as u64,
    );
    for index in 1..count {
        let Some(apic_id) = cpus::apic_id_of(index) else {
            continue;
        };
        let Some(stack_top) = (parameters.boot_stack)(index) else {
            log::error!("no boot stack for cpu {index}");
            break;
        };
        write(stack_slot, stack_top);
        write(argument_slot, index as u64);
        AP_READY.store(false, Ordering::Release);
        HANDSHAKE.store(STARTING | index as u64, Ordering::Release);
        log::debug!("starting cpu {index} (APIC ID {apic_id}): INIT");
        lapic::send_ipi(apic_id, lapic::IpiKind::Init);
        (parameters.delay_nanos)(10_000_000);
        let arrived = || HANDSHAKE.load(Ordering::Acquire) == ARRIVED | index as u64;
        let startup = || {
            lapic::send_ipi(
                apic_id,
                lapic::IpiKind::Startup((TRAMPOLINE_PHYSICAL >> 12) as u8),
            )
        };
        let first = (parameters.now_nanos)();
        startup();
        // A second start-up IPI if the first went unnoticed (ignored by a CPU already running).
        while !arrived() && (parameters.now_nanos)() < first + 200_000_000 {
            core::hint::spin_loop();
        }
        if !arrived() {
            log::debug!("cpu {index}: second start-up IPI");
            startup();
        }
        while !arrived() && (parameters.now_nanos)() < first + ARRIVAL_DEADLINE_NANOS {
            core::hint::spin_loop();
        }
        let abandoned = HANDSHAKE
            .compare_exchange(
                STARTING | index as u64,
                ABANDONED | index as u64,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok();
        if abandoned {
            // It may still be on its way through the trampoline: put it back to sleep, keep the
            // trampoline as it is, and start nobody else on it.
            lapic::send_ipi(apic_id, lapic::IpiKind::Init);
            outcome.trampoline_in_use = true;
            log::error!(
                "cpu {index} (APIC ID {apic_id}) did not reach the kernel within {} s; running without it and the {} CPU(s) after it",
                ARRIVAL_DEADLINE_NANOS / 1_000_000_000,
                count - index - 1
            );
            break;
        }
        // It arrived: it owns its parameters now and must finish.
        let arrival = (parameters.now_nanos)();
        while !AP_READY.load(Ordering::Acquire) {
            if (parameters.now_nanos)() > arrival + ONLINE_DEADLINE_NANOS {
                panic!(
                    "cpu {index} (APIC ID {apic_id}) entered the kernel but did not finish its start-up within {} s",
                    ONLINE_DEADLINE_NANOS / 1_000_000_000
                );
            }
            core::hint::spin_loop();
        }
    }
    outcome.online = cpus::online_count();
    outcome
}

/// Called by a new CPU's continuation once it takes interrupts: counts it online and lets the
/// boot CPU start the next one.
pub fn report_online() {
    cpus::count_online();
    AP_READY.store(true, Ordering::Release);
}

extern "C" fn application_processor_entry(index: u64) -> ! {
    if LATE_CPU.load(Ordering::Acquire) == index as usize {
        while HANDSHAKE.load(Ordering::Acquire) != ABANDONED | index {
            core::hint::spin_loop();
        }
    }
    // Claim the start-up before touching anything shared: if the boot CPU gave up on this CPU,
    // it must not run on (or fault in) a kernel that no longer expects it.
    if HANDSHAKE
        .compare_exchange(
            STARTING | index,
            ARRIVED | index,
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .is_err()
    {
        cpu::halt_forever();
    }
    // The IDT first: from here on a fault is reported instead of becoming a triple fault (the
    // trampoline's GDT has the kernel's code selector, which the IDT gates name).
    idt::load_this_cpu();
    let features = cpu::features();
    cpu::enable_vector_state(&features);
    cpu::enable_protections(&features);
    let continuation = CONTINUATION.load(Ordering::Acquire);
    // SAFETY: CONTINUATION holds the `fn(usize) -> !` stored before any CPU was started.
    let continuation = unsafe { core::mem::transmute::<usize, fn(usize) -> !>(continuation) };
    continuation(index as usize)
}
