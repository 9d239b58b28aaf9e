//! Per-CPU data reached through the GS base: each CPU's `PerCpu` block, found in O(1) without
//! locks. There is no global "current thread"; it lives here.

use alloc::boxed::Box;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

const IA32_GS_BASE: u32 = 0xc000_0101;

/// One CPU's private block. Fields other CPUs read are atomics.
#[repr(C)]
pub struct PerCpu {
    /// Points at itself: `gs:[0]` yields the block's address.
    self_pointer: *const PerCpu,
    /// Top of the running user thread's kernel stack: where `syscall` entry switches to
    /// (offset 8, used by `syscall.S`).
    pub kernel_stack_top: AtomicU64,
    /// The user stack pointer, parked here by `syscall` entry until the frame is built
    /// (offset 16, used by `syscall.S`).
    pub user_stack_scratch: AtomicU64,
    /// This CPU's TSS (its ring-0 stack field follows the running user thread).
    pub tss: AtomicU64,
    /// Page-table root loaded in CR3, to skip reloads of the same one.
    pub loaded_root: AtomicU64,
    /// Index of this CPU (0 = boot CPU).
    pub index: usize,
    /// Local APIC ID.
    pub apic_id: u32,
    /// The running thread (an `Arc<Thread>` turned into a raw pointer by the scheduler).
    pub current: AtomicPtr<()>,
    /// Thread that ran before the last switch, to finish its hand-over.
    pub previous: AtomicPtr<()>,
    /// This CPU's idle thread.
    pub idle: AtomicPtr<()>,
    /// Set when the running thread should yield at the next opportunity.
    pub need_reschedule: AtomicBool,
    /// Whether this CPU sits in its idle loop (wake-ups then need an IPI).
    pub idling: AtomicBool,
    /// Context switches performed.
    pub context_switches: AtomicU64,
    /// Timer ticks taken.
    pub ticks: AtomicU64,
    /// Nanoseconds spent in the idle thread.
    pub idle_nanos: AtomicU64,
    /// Nanoseconds spent running other threads.
    pub busy_nanos: AtomicU64,
    /// Monotonic time of the last switch (for accounting).
    pub last_switch_nanos: AtomicU64,
    /// Threads migrated to this CPU by load balancing.
    pub pulled_threads: AtomicUsize,
    /// Nesting depth of "preemption disabled" sections.
    pub preempt_disable: AtomicUsize,
}

// `syscall.S` reaches these two fields by fixed offsets.
const _: () = assert!(core::mem::offset_of!(PerCpu, kernel_stack_top) == 8);
const _: () = assert!(core::mem::offset_of!(PerCpu, user_stack_scratch) == 16);

// SAFETY: every field that other CPUs touch is atomic; `self_pointer` is immutable after set-up.
unsafe impl Sync for PerCpu {}

impl PerCpu {
    fn new(index: usize, apic_id: u32) -> Self {
        Self {
            self_pointer: core::ptr::null(),
            kernel_stack_top: AtomicU64::new(0),
            user_stack_scratch: AtomicU64::new(0),
            tss: AtomicU64::new(0),
            loaded_root: AtomicU64::new(0),
            index,
            apic_id,
            current: AtomicPtr::new(core::ptr::null_mut()),
            previous: AtomicPtr::new(core::ptr::null_mut()),
            idle: AtomicPtr::new(core::ptr::null_mut()),
            need_reschedule: AtomicBool::new(false),
            idling: AtomicBool::new(false),
            context_switches: AtomicU64::new(0),
            ticks: AtomicU64::new(0),
            idle_nanos: AtomicU64::new(0),
            busy_nanos: AtomicU64::new(0),
            last_switch_nanos: AtomicU64::new(0),
            pulled_threads: AtomicUsize::new(0),
            preempt_disable: AtomicUsize::new(0),
        }
    }
}

static ALL: [AtomicPtr<PerCpu>; super::cpus::MAX_CPUS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; super::cpus::MAX_CPUS];

/// Creates this CPU's block and points GS at it.
pub fn init_this_cpu(index: usize, apic_id: u32) -> &'static PerCpu {
    let block: &'static mut PerCpu = Box::leak(Box::new(PerCpu::new(index, apic_id)));
    block.self_pointer = block as *const PerCpu;
    // SAFETY: the block lives forever (leaked); GS is not otherwise used by the kernel.
    unsafe { super::cpu::write_msr(IA32_GS_BASE, block as *const PerCpu as u64) };
    ALL[index].store(block as *mut PerCpu, Ordering::Release);
    block
}

/// Whether GS points at a per-CPU block yet.
pub fn is_initialised() -> bool {
    super::cpu::read_msr(IA32_GS_BASE) != 0
}

/// The calling CPU's block. Interrupts may move a thread between CPUs between this call and the
/// use of the result; callers that care disable interrupts or preemption first.
#[inline]
pub fn this() -> &'static PerCpu {
    let pointer: *const PerCpu;
    // SAFETY: GS holds the address of a leaked PerCpu whose first field is its own address.
    unsafe {
        core::arch::asm!("mov {}, gs:[0]", out(reg) pointer, options(nostack, readonly, preserves_flags))
    };
    debug_assert!(!pointer.is_null());
    // SAFETY: see above; the block is 'static.
    unsafe { &*pointer }
}

/// The running thread's pointer, read with one GS-relative load so that preemption and
/// migration between "find my block" and "read its field" cannot mix two CPUs' values.
#[inline]
pub fn current_thread_pointer() -> *mut () {
    let pointer: *mut ();
    // SAFETY: GS points at this CPU's PerCpu block (checked by callers through the scheduler
    // being up); `current` is an aligned pointer-sized field read atomically by one `mov`.
    unsafe {
        core::arch::asm!(
            "mov {}, gs:[{offset}]",
            out(reg) pointer,
            offset = const core::mem::offset_of!(PerCpu, current),
            options(nostack, readonly, preserves_flags)
        )
    };
    pointer
}

/// The block of CPU `index`, if it is online.
pub fn of(index: usize) -> Option<&'static PerCpu> {
    let pointer = ALL.get(index)?.load(Ordering::Acquire);
    // SAFETY: non-null entries are leaked, 'static PerCpu blocks.
    unsafe { pointer.as_ref() }
}
