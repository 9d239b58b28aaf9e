//! Per-CPU data reached through `TPIDR_EL1`: each CPU's `PerCpu` block, found in O(1) without
//! locks. There is no global "current thread"; it lives here.

use alloc::boxed::Box;
use core::arch::asm;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

/// One CPU's private block. Fields other CPUs read are atomics.
#[repr(C)]
pub struct PerCpu {
    /// Points at itself (the x86_64 block starts the same way).
    self_pointer: *const PerCpu,
    /// Top of this CPU's emergency stack, where a stack overflow is reported (offset 8, used by
    /// `vectors.S`); 0 until one is handed in.
    pub emergency_stack_top: AtomicU64,
    /// Index of this CPU (0 = boot CPU).
    pub index: usize,
    /// Hardware ID (MPIDR affinity); the name matches x86_64's local APIC ID.
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

// `vectors.S` reaches this field by a fixed offset.
const _: () = assert!(core::mem::offset_of!(PerCpu, emergency_stack_top) == 8);

// SAFETY: every field that other CPUs touch is atomic; `self_pointer` is immutable after set-up.
unsafe impl Sync for PerCpu {}

impl PerCpu {
    fn new(index: usize, hardware_id: u32) -> Self {
        Self {
            self_pointer: core::ptr::null(),
            emergency_stack_top: AtomicU64::new(0),
            index,
            apic_id: hardware_id,
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

/// Creates this CPU's block and points `TPIDR_EL1` at it.
pub fn init_this_cpu(index: usize, hardware_id: u32) -> &'static PerCpu {
    let block: &'static mut PerCpu = Box::leak(Box::new(PerCpu::new(index, hardware_id)));
    block.self_pointer = block as *const PerCpu;
    // SAFETY: the block lives forever (leaked); TPIDR_EL1 is used for nothing else.
    unsafe {
        asm!("msr tpidr_el1, {}", in(reg) block as *const PerCpu as u64, options(nostack, preserves_flags))
    };
    ALL[index].store(block as *mut PerCpu, Ordering::Release);
    block
}

fn base() -> *const PerCpu {
    let pointer: *const PerCpu;
    // SAFETY: reads a system register; no memory is touched.
    unsafe {
        asm!("mrs {}, tpidr_el1", out(reg) pointer, options(nomem, nostack, preserves_flags))
    };
    pointer
}

/// Whether `TPIDR_EL1` points at a per-CPU block yet (the boot code leaves it 0).
pub fn is_initialised() -> bool {
    !base().is_null()
}

/// The calling CPU's block. Interrupts may move a thread between CPUs between this call and the
/// use of the result; callers that care disable interrupts or preemption first.
#[inline]
pub fn this() -> &'static PerCpu {
    let pointer = base();
    debug_assert!(!pointer.is_null());
    // SAFETY: TPIDR_EL1 holds the address of a leaked, 'static PerCpu.
    unsafe { &*pointer }
}

/// The running thread's pointer. Reading the base register and the field are two instructions;
/// interrupts are masked between them so a preemption cannot mix two CPUs' values.
#[inline]
pub fn current_thread_pointer() -> *mut () {
    let was = super::cpu::disable_interrupts();
    let pointer = this().current.load(Ordering::Relaxed);
    super::cpu::restore_interrupts(was);
    pointer
}

/// The block of CPU `index`, if it is online.
pub fn of(index: usize) -> Option<&'static PerCpu> {
    let pointer = ALL.get(index)?.load(Ordering::Acquire);
    // SAFETY: non-null entries are leaked, 'static PerCpu blocks.
    unsafe { pointer.as_ref() }
}
