//! Secondary-CPU start-up through PSCI `CPU_ON`: each CPU enters `secondary_entry` (boot.S) with
//! the MMU off and the physical address of its own start block in x0, turns the MMU on with the
//! kernel's tables, and continues in Rust on the stack the block names.
//!
//! Each CPU has its own block, so a slow CPU (a busy host delays a virtual CPU for seconds)
//! never reads another CPU's parameters. The boot CPU waits for each CPU in turn; a CPU that
//! does not arrive in time is given up (with the CPUs after it), and one that turns up later
//! halts itself: the same handshake as x86_64's AP start-up.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use super::{cpu, cpus, psci};

/// The block a new CPU reads first (boot.S reads it by offset).
#[repr(C)]
pub struct SecondaryStart {
    /// Physical address of the kernel's TTBR1 root table.
    pub root: u64,
    /// Top of the CPU's boot stack (virtual).
    pub stack_top: u64,
    /// The CPU's index in the CPU table.
    pub index: u64,
}

static READY: AtomicBool = AtomicBool::new(false);
/// The start-up handshake: a state in the high half, the CPU index in the low half. The new
/// CPU turns `STARTING(i)` into `ARRIVED(i)` as its first act in Rust, or the boot CPU, at its
/// deadline, turns it into `ABANDONED(i)`: one compare-and-swap settles which happened.
static HANDSHAKE: AtomicU64 = AtomicU64::new(0);
const STARTING: u64 = 1 << 32;
const ARRIVED: u64 = 2 << 32;
const ABANDONED: u64 = 3 << 32;
/// How long a CPU may take to reach the kernel after `CPU_ON`.
const ARRIVAL_DEADLINE_NANOS: u64 = 5_000_000_000;
/// How long a CPU that reached the kernel may take to finish its set-up.
const ONLINE_DEADLINE_NANOS: u64 = 10_000_000_000;
/// The CPU index told to arrive late (`usize::MAX` = none).
static LATE_CPU: AtomicUsize = AtomicUsize::new(usize::MAX);
/// The continuation of a new CPU, as a `fn(usize) -> !` (set before the first start-up).
static CONTINUATION: AtomicUsize = AtomicUsize::new(0);

extern "C" {
    fn secondary_entry();
}

/// What starting the other CPUs needs from the layers above.
pub struct StartParameters<'a> {
    /// Physical address of the kernel's TTBR1 root table.
    pub page_table_root: u64,
    /// Offset to subtract from a kernel-image address to get its physical address.
    pub kernel_virtual_offset: u64,
    /// For CPU `index`: the top of a fresh boot stack, and a start block that is both writable
    /// at its virtual address and identity-mapped in the boot tables (physical address below
    /// 2 GiB); `None` when memory ran out.
    pub prepare: &'a mut dyn FnMut(usize) -> Option<(u64, *mut SecondaryStart, u64)>,
    /// Busy-waits some nanoseconds.
    pub delay_nanos: &'a dyn Fn(u64),
    /// Monotonic nanoseconds.
    pub now_nanos: &'a dyn Fn() -> u64,
    /// Where each new CPU continues, with its index, once its exception vectors are loaded.
    pub continuation: fn(usize) -> !,
    /// A CPU to hold back until the boot CPU gave up on it (`late_cpu=N`, for tests).
    pub late_cpu: Option<usize>,
}

/// Starts every CPU of the CPU table; returns how many CPUs are online.
///
/// # Safety
/// The page-table root must map the kernel image at its linked addresses; the blocks handed
/// out by `prepare` must stay untouched by anything else until the CPU reports online.
pub unsafe fn start_secondary_processors(parameters: StartParameters<'_>) -> usize {
    CONTINUATION.store(parameters.continuation as usize, Ordering::Release);
    LATE_CPU.store(parameters.late_cpu.unwrap_or(usize::MAX), Ordering::Release);
    let entry = secondary_entry as *const () as u64 - parameters.kernel_virtual_offset;
    for index in 1..cpus::cpu_count() {
        let Some(hardware_id) = cpus::apic_id_of(index) else {
            continue;
        };
        let Some((stack_top, block, block_physical)) = (parameters.prepare)(index) else {
            log::error!("no memory to start cpu {index}");
            break;
        };
        // SAFETY: `prepare` handed out a writable block that nothing else uses.
        unsafe {
            block.write(SecondaryStart {
                root: parameters.page_table_root,
                stack_top,
                index: index as u64,
            })
        };
        READY.store(false, Ordering::Release);
        HANDSHAKE.store(STARTING | index as u64, Ordering::Release);
        // SAFETY: the block is written and cleaned to memory by the DSB before the CPU starts
        // with its caches off; `secondary_entry` runs with the MMU off.
        unsafe { core::arch::asm!("dsb sy", options(nostack, preserves_flags)) };
        let mpidr = u64::from(hardware_id & 0xff_ffff) | (u64::from(hardware_id >> 24) << 32);
        // SAFETY: see above; the entry is boot.S's MMU-off secondary path.
        if let Err(error) = unsafe { psci::cpu_on(mpidr, entry, block_physical) } {
            log::error!("PSCI CPU_ON for cpu {index} (MPIDR {mpidr:#x}) failed: {error}");
            continue;
        }
        let start = (parameters.now_nanos)();
        let tag = index as u64;
        // First the arrival, settled by one compare-and-swap with the new CPU.
        while HANDSHAKE.load(Ordering::Acquire) == STARTING | tag {
            if (parameters.now_nanos)() > start + ARRIVAL_DEADLINE_NANOS
                && HANDSHAKE
                    .compare_exchange(
                        STARTING | tag,
                        ABANDONED | tag,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    )
                    .is_ok()
            {
                // Given up: it halts by itself if it ever arrives. Later CPUs are not started
                // either, so a half-started CPU never shares the machine with a new one.
                let later = cpus::cpu_count() - index - 1;
                log::error!(
                    "cpu {index} (MPIDR {mpidr:#x}) did not reach the kernel within {} s; running without it and the {later} CPU(s) after it",
                    ARRIVAL_DEADLINE_NANOS / 1_000_000_000
                );
                return cpus::online_count();
            }
            (parameters.delay_nanos)(100_000);
        }
        // Then its set-up, which cannot be abandoned half-way.
        let arrival = (parameters.now_nanos)();
        while !READY.load(Ordering::Acquire) {
            if (parameters.now_nanos)() > arrival + ONLINE_DEADLINE_NANOS {
                panic!(
                    "cpu {index} (MPIDR {mpidr:#x}) entered the kernel but did not finish its start-up within {} s",
                    ONLINE_DEADLINE_NANOS / 1_000_000_000
                );
            }
            (parameters.delay_nanos)(100_000);
        }
    }
    cpus::online_count()
}

/// Called by a new CPU's continuation once it takes interrupts: counts it online and lets the
/// boot CPU start the next one.
pub fn report_online() {
    cpus::count_online();
    READY.store(true, Ordering::Release);
}

#[no_mangle]
extern "C" fn secondary_kernel_entry(index: u64) -> ! {
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
    super::traps::load_vectors_this_cpu();
    cpu::unmask_system_errors();
    cpu::disable_low_half();
    let continuation = CONTINUATION.load(Ordering::Acquire);
    // SAFETY: CONTINUATION holds the `fn(usize) -> !` stored before any CPU was started.
    let continuation = unsafe { core::mem::transmute::<usize, fn(usize) -> !>(continuation) };
    continuation(index as usize)
}
