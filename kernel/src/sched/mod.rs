//! The scheduler: per-CPU run queues with three priority levels, preemption by the timer tick,
//! blocking and wake-up without lost wake-ups, load balancing by idle CPUs pulling work, and
//! reschedule IPIs to wake idle CPUs.
//!
//! Lock order: a thread's `transition` lock, then a run-queue lock. Stealing from another CPU's
//! queue uses `try_lock`, so two CPUs stealing from each other cannot deadlock.
//! Contexts: `spawn`, `join`, `sleep_until`, wait queues: threads only, interrupts enabled, no
//! spin lock held (checked). `wake`: any context, including interrupt handlers.
//!
//! The sleeping locks built on wait queues live here too: `mutex`, `rwlock`, `condvar`,
//! `semaphore` (threads that may sleep; `Semaphore::release` and condvar signals from anywhere).
//!
//! May import: `arch`, `sync`, `mm`, `time`.

pub mod condvar;
pub mod mutex;
pub mod rwlock;
pub mod semaphore;
pub mod thread;
pub mod timer;
pub mod wait;

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::cpus::MAX_CPUS;
use crate::arch::percpu::{self, PerCpu};
use crate::arch::{cpu, ipi, switch, traps};
use crate::mm::stack::KernelStack;
use crate::sync::spin::IrqSpinLock;
pub use thread::{
    Builder, JoinHandle, Priority, SpawnError, State, Thread, ThreadName, WakeReason,
};

/// Timer interrupts per second on every CPU.
pub const TICK_HZ: u64 = 1000;
/// Ticks a thread may run before yielding to an equal-priority thread.
const QUANTUM_TICKS: u64 = 10;
/// Vector of the reschedule IPI.
pub const VECTOR_RESCHEDULE: u8 = 0xe1;

struct RunQueue {
    levels: [VecDeque<Arc<Thread>>; 3],
    count: usize,
}

impl RunQueue {
    const fn new() -> Self {
        Self {
            levels: [VecDeque::new(), VecDeque::new(), VecDeque::new()],
            count: 0,
        }
    }

    fn push(&mut self, thread: Arc<Thread>) {
        self.levels[thread.priority as usize].push_back(thread);
        self.count += 1;
    }

    fn pop(&mut self) -> Option<Arc<Thread>> {
        let thread = self
            .levels
            .iter_mut()
            .rev()
            .find_map(|level| level.pop_front())?;
        self.count -= 1;
        Some(thread)
    }

    /// Takes a thread that may run on `cpu` (for load balancing), preferring the lowest
    /// priority and the most recently queued, which is the least cache-warm elsewhere.
    fn steal_for(&mut self, cpu: usize) -> Option<Arc<Thread>> {
        for level in self.levels.iter_mut().skip(1) {
            if let Some(position) = level
                .iter()
                .rposition(|t| t.affinity.is_none_or(|a| a == cpu))
            {
                let thread = level.remove(position)?;
                self.count -= 1;
                return Some(thread);
            }
        }
        None
    }

    fn highest_priority(&self) -> Option<Priority> {
        self.levels
            .iter()
            .rposition(|l| !l.is_empty())
            .map(|i| match i {
                0 => Priority::Idle,
                1 => Priority::Normal,
                _ => Priority::RealTime,
            })
    }
}

static RUN_QUEUES: [IrqSpinLock<RunQueue>; MAX_CPUS] =
    [const { IrqSpinLock::new("run-queue", RunQueue::new()) }; MAX_CPUS];

fn thread_from_raw(pointer: *mut ()) -> &'static Thread {
    // SAFETY: per-CPU `current` always holds a pointer made by `Arc::into_raw` whose reference
    // the CPU owns while the thread runs; the thread cannot be freed while it is current.
    unsafe { &*(pointer as *const Thread) }
}

/// The running thread (borrowed).
pub fn current_thread() -> &'static Thread {
    thread_from_raw(percpu::current_thread_pointer())
}

/// The running thread (a new reference).
pub fn current() -> Arc<Thread> {
    let was = cpu::disable_interrupts();
    let pointer = percpu::this().current.load(Ordering::Acquire) as *const Thread;
    // SAFETY: see `thread_from_raw`; incrementing the count first keeps the CPU's own reference.
    let thread = unsafe {
        Arc::increment_strong_count(pointer);
        Arc::from_raw(pointer)
    };
    cpu::restore_interrupts(was);
    thread
}

/// Whether the scheduler runs on this CPU yet.
pub fn is_running() -> bool {
    percpu::is_initialised() && !percpu::this().current.load(Ordering::Acquire).is_null()
}

/// Name of the running thread, for reports.
pub fn current_name() -> ThreadName {
    current_thread().name
}

/// Whether the caller may block (interrupts enabled, so no spin lock held).
pub fn may_sleep() -> bool {
    cpu::interrupts_enabled()
}

/// Panics if the caller may not block: interrupts disabled (which includes holding a spin lock)
/// or no scheduler yet.
pub fn assert_may_sleep(what: &str) {
    if !cpu::interrupts_enabled() {
        panic!(
            "thread '{}' would sleep in {what} with interrupts disabled (holding a spin lock or in an interrupt handler)",
            current_name()
        );
    }
}

/// Makes this CPU's boot context a thread and creates its idle thread; called once per CPU.
pub fn init_this_cpu(per_cpu: &'static PerCpu, boot_name: &str) {
    let mut builder = Builder::new(boot_name);
    builder.affinity = Some(per_cpu.index);
    let boot = Thread::new(&builder, None, None);
    boot.set_state(State::Running);
    boot.on_cpu.store(true, Ordering::Relaxed);
    boot.cpu.store(per_cpu.index, Ordering::Relaxed);
    per_cpu
        .current
        .store(Arc::into_raw(boot) as *mut (), Ordering::Release);
    per_cpu
        .last_switch_nanos
        .store(crate::time::monotonic_nanos(), Ordering::Relaxed);

    let mut idle = Builder::new("idle");
    idle.priority = Priority::Idle;
    idle.affinity = Some(per_cpu.index);
    let idle_thread =
        create(&idle, alloc::boxed::Box::new(idle_loop)).expect("idle thread at boot");
    per_cpu
        .idle
        .store(Arc::into_raw(idle_thread) as *mut (), Ordering::Release);
    traps::set_handler(VECTOR_RESCHEDULE, |_| {});
}

fn create(builder: &Builder<'_>, entry: thread::Entry) -> Result<Arc<Thread>, SpawnError> {
    let stack = KernelStack::new(
        builder.stack_pages,
        builder.name,
        builder.affinity.unwrap_or(0),
    )
    .map_err(SpawnError::OutOfMemory)?;
    let top = stack.top();
    let thread = Thread::new(builder, Some(stack), Some(entry));
    // SAFETY: the top of the fresh stack is mapped and owned by this thread; nothing else can
    // see the thread yet, so writing its saved stack pointer races with nothing.
    unsafe {
        let frame = switch::prepare_stack(top, thread_start, Arc::as_ptr(&thread) as u64);
        *thread.saved_stack_pointer.get() = frame;
    }
    Ok(thread)
}

/// Creates a thread running `f` and makes it runnable on the least-loaded allowed CPU.
pub fn spawn<F>(builder: Builder<'_>, f: F) -> Result<JoinHandle, SpawnError>
where
    F: FnOnce() -> u64 + Send + 'static,
{
    if let Some(cpu) = builder.affinity {
        if percpu::of(cpu).is_none() {
            return Err(SpawnError::NoSuchCpu(cpu));
        }
    }
    let thread = create(&builder, alloc::boxed::Box::new(f))?;
    let target = builder
        .affinity
        .or(builder.start_cpu.filter(|&c| percpu::of(c).is_some()))
        .unwrap_or_else(least_loaded_cpu);
    thread.cpu.store(target, Ordering::Relaxed);
    enqueue(target, thread.clone());
    Ok(JoinHandle::new(thread))
}

fn load_of(cpu: usize) -> usize {
    let queued = RUN_QUEUES[cpu].lock().count;
    let busy = percpu::of(cpu).is_some_and(|p| !p.idling.load(Ordering::Relaxed));
    queued + usize::from(busy)
}

fn least_loaded_cpu() -> usize {
    let here = percpu::this().index;
    // Started CPUs only: one that failed to start has no per-CPU block.
    (0..crate::arch::cpus::cpu_count())
        .filter(|&c| percpu::of(c).is_some())
        .min_by_key(|&c| (load_of(c), c != here))
        .unwrap_or(here)
}

/// Queues a runnable thread on `cpu` and makes sure that CPU notices.
fn enqueue(cpu: usize, thread: Arc<Thread>) {
    // Stay on this CPU while deciding whether it is the target.
    let interrupts_were_enabled = cpu::disable_interrupts();
    enqueue_pinned(cpu, thread);
    cpu::restore_interrupts(interrupts_were_enabled);
}

/// Reschedule IPIs sent so far (for profiles: each costs the sender tens of microseconds
/// under TCG).
static RESCHEDULE_IPIS: AtomicU64 = AtomicU64::new(0);

/// Reschedule IPIs sent since boot.
pub fn reschedule_ipis() -> u64 {
    RESCHEDULE_IPIS.load(Ordering::Relaxed)
}

fn enqueue_pinned(cpu: usize, thread: Arc<Thread>) {
    let priority = thread.priority;
    RUN_QUEUES[cpu].lock().push(thread);
    let Some(target) = percpu::of(cpu) else {
        return;
    };
    if cpu == percpu::this().index {
        let current = current_thread();
        if priority > current.priority || target.idling.load(Ordering::Acquire) {
            target.need_reschedule.store(true, Ordering::Release);
        }
    } else if target.idling.load(Ordering::Acquire) {
        // The IPI ends its `hlt`; the flag makes the interrupt return switch at once even if
        // the CPU picked up other work meanwhile.
        target.need_reschedule.store(true, Ordering::Release);
        RESCHEDULE_IPIS.fetch_add(1, Ordering::Relaxed);
        ipi::send(target.apic_id, VECTOR_RESCHEDULE);
    } else if priority > Priority::Normal {
        target.need_reschedule.store(true, Ordering::Release);
        RESCHEDULE_IPIS.fetch_add(1, Ordering::Relaxed);
        ipi::send(target.apic_id, VECTOR_RESCHEDULE);
    }
}

/// Wakes a blocked thread; returns false if it was not blocked. Any context.
pub fn wake(thread: &Arc<Thread>, reason: WakeReason) -> bool {
    wake_if_generation(thread, reason, None)
}

/// Wakes `thread` if it is blocked (in wait number `generation`, when given).
pub(crate) fn wake_if_generation(
    thread: &Arc<Thread>,
    reason: WakeReason,
    generation: Option<u64>,
) -> bool {
    let _transition = thread.transition.lock();
    if thread.state() != State::Blocked {
        return false;
    }
    if generation.is_some_and(|g| thread.wait_generation.load(Ordering::Acquire) != g) {
        return false;
    }
    thread.wake_reason.store(reason as u8, Ordering::Release);
    thread.set_state(State::Runnable);
    if thread.on_cpu.load(Ordering::Acquire) {
        // Still switching out on some CPU: that CPU queues it when it is off its stack.
        thread.wake_pending.store(true, Ordering::Release);
    } else {
        let target = match thread.affinity {
            Some(cpu) => cpu,
            // An interrupt that woke an idle CPU runs what it wakes right there: the thread's
            // previous CPU, even idle, would cost an IPI (under TCG ~20 µs of the waker's
            // time, and a halted virtual CPU to wake).
            None if percpu::this().idling.load(Ordering::Relaxed) => percpu::this().index,
            // A hand-over (see `Thread::wakes_run_here`).
            None if current_thread().wakes_run_here.load(Ordering::Relaxed) => percpu::this().index,
            None => {
                let last = thread.cpu();
                if percpu::of(last).is_some_and(|p| p.idling.load(Ordering::Relaxed)) {
                    last
                } else {
                    least_loaded_cpu()
                }
            }
        };
        enqueue(target, thread.clone());
    }
    true
}

fn try_steal(cpu: usize) -> Option<Arc<Thread>> {
    let busiest = (0..crate::arch::cpus::cpu_count())
        .filter(|&c| c != cpu && percpu::of(c).is_some())
        .max_by_key(|&c| RUN_QUEUES[c].try_lock().map(|q| q.count).unwrap_or(0))?;
    let stolen = RUN_QUEUES[busiest].try_lock()?.steal_for(cpu)?;
    if let Some(p) = percpu::of(cpu) {
        p.pulled_threads.fetch_add(1, Ordering::Relaxed);
    }
    Some(stolen)
}

/// Picks and switches to the next thread. Interrupts must be disabled.
pub fn schedule() {
    debug_assert!(!cpu::interrupts_enabled());
    let per_cpu = percpu::this();
    per_cpu.need_reschedule.store(false, Ordering::Relaxed);
    let previous = thread_from_raw(per_cpu.current.load(Ordering::Acquire));
    let idle_pointer = per_cpu.idle.load(Ordering::Acquire);
    let previous_is_idle = core::ptr::eq(previous, idle_pointer as *const Thread);

    // A thread woken before it managed to switch out just keeps running.
    let keep_running = {
        let _transition = previous.transition.lock();
        match previous.state() {
            State::Runnable if previous.wake_pending.swap(false, Ordering::AcqRel) => {
                previous.set_state(State::Running);
                true
            }
            State::Running => true,
            _ => false,
        }
    };

    let next = {
        let mut queue = RUN_QUEUES[per_cpu.index].lock();
        let must_yield = keep_running
            && !previous_is_idle
            && queue
                .highest_priority()
                .is_some_and(|p| p >= previous.priority);
        if keep_running && !previous_is_idle && !must_yield {
            return;
        }
        queue.pop()
    };
    let next = match next.or_else(|| try_steal(per_cpu.index)) {
        Some(next) => next,
        None if keep_running => return,
        None => {
            // SAFETY: the idle pointer was made by `Arc::into_raw` at init and is never freed.
            unsafe {
                Arc::increment_strong_count(idle_pointer as *const Thread);
                Arc::from_raw(idle_pointer as *const Thread)
            }
        }
    };
    if core::ptr::eq(Arc::as_ptr(&next), previous) {
        return;
    }
    switch_to(per_cpu, previous, next);
}

fn switch_to(per_cpu: &'static PerCpu, previous: &'static Thread, next: Arc<Thread>) {
    // The next thread may still be leaving another CPU (woken while switching out there).
    while next.on_cpu.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
    {
        let _transition = next.transition.lock();
        next.set_state(State::Running);
        next.on_cpu.store(true, Ordering::Release);
    }
    next.cpu.store(per_cpu.index, Ordering::Relaxed);
    next.last_cpu_set
        .fetch_or(1u64 << (per_cpu.index % 64), Ordering::Relaxed);

    let now = crate::time::monotonic_nanos();
    let elapsed = now.saturating_sub(per_cpu.last_switch_nanos.swap(now, Ordering::Relaxed));
    previous.run_nanos.fetch_add(elapsed, Ordering::Relaxed);
    if core::ptr::eq(
        previous,
        per_cpu.idle.load(Ordering::Relaxed) as *const Thread,
    ) {
        per_cpu.idle_nanos.fetch_add(elapsed, Ordering::Relaxed);
    } else {
        per_cpu.busy_nanos.fetch_add(elapsed, Ordering::Relaxed);
    }
    per_cpu.context_switches.fetch_add(1, Ordering::Relaxed);
    // `idling` means "runs its idle thread": wakers use it to decide on an IPI.
    let next_is_idle = core::ptr::eq(
        Arc::as_ptr(&next),
        per_cpu.idle.load(Ordering::Relaxed) as *const Thread,
    );
    per_cpu.idling.store(next_is_idle, Ordering::SeqCst);

    if let Some(state) = &previous.fpu {
        state.save();
    }
    if let Some(state) = &next.fpu {
        state.restore();
    }
    match &next.user {
        Some(user) => crate::arch::user::activate(
            user.root.load(Ordering::Acquire),
            user.fs_base.load(Ordering::Relaxed),
            next.stack_top(),
        ),
        None => crate::arch::user::activate_kernel(),
    }
    let next_stack = {
        // SAFETY: `on_cpu` was false (the previous CPU published the pointer before clearing it).
        unsafe { *next.saved_stack_pointer.get() }
    };
    per_cpu
        .previous
        .store(per_cpu.current.load(Ordering::Relaxed), Ordering::Relaxed);
    per_cpu
        .current
        .store(Arc::into_raw(next) as *mut (), Ordering::Release);
    // SAFETY: both stacks are valid kernel stacks; the previous thread's pointer is written before
    // any other CPU can resume it (it is queued only in `finish_switch`, after this returns there).
    unsafe { switch::switch(previous.saved_stack_pointer.get(), next_stack) };
    finish_switch();
}

/// Completes a switch on the new thread's stack: hands the previous thread over.
fn finish_switch() {
    let per_cpu = percpu::this();
    let pointer = per_cpu
        .previous
        .swap(core::ptr::null_mut(), Ordering::AcqRel);
    if pointer.is_null() {
        return;
    }
    // SAFETY: `previous` holds the reference that `current` owned for the thread we left.
    let previous = unsafe { Arc::from_raw(pointer as *const Thread) };
    let is_idle = core::ptr::eq(pointer, per_cpu.idle.load(Ordering::Relaxed));
    let requeue = {
        let _transition = previous.transition.lock();
        previous.on_cpu.store(false, Ordering::Release);
        match previous.state() {
            State::Running => {
                previous.set_state(State::Runnable);
                !is_idle
            }
            State::Runnable => previous.wake_pending.swap(false, Ordering::AcqRel) && !is_idle,
            State::Blocked | State::Dead => false,
        }
    };
    if requeue {
        let cpu = previous.affinity.unwrap_or(per_cpu.index);
        enqueue(cpu, previous);
    }
}

extern "C" fn thread_start(thread: u64) -> ! {
    finish_switch();
    cpu::enable_interrupts();
    // SAFETY: the pointer was stored by `create` and the thread is current, so alive.
    let thread = unsafe { &*(thread as *const Thread) };
    let entry = thread
        .entry
        .lock()
        .take()
        .expect("a new thread has an entry point");
    let value = entry();
    exit(value)
}

/// Ends the current thread with `value`.
pub fn exit(value: u64) -> ! {
    let me = current();
    me.finish(value);
    cpu::disable_interrupts();
    {
        let _transition = me.transition.lock();
        me.set_state(State::Dead);
    }
    me.joiners.wake_all();
    drop(me);
    schedule();
    unreachable!("a dead thread was scheduled again");
}

/// Gives the CPU to another runnable thread of equal or higher priority, if any.
pub fn yield_now() {
    let was = cpu::disable_interrupts();
    schedule();
    cpu::restore_interrupts(was);
}

static SLEEPERS: wait::WaitQueue = wait::WaitQueue::new("sleep");

/// Sleeps until the monotonic clock reaches `deadline` (nanoseconds).
pub fn sleep_until(deadline: u64) {
    while crate::time::monotonic_nanos() < deadline {
        SLEEPERS.wait_once(Some(deadline), || {
            crate::time::monotonic_nanos() >= deadline
        });
    }
}

/// Called from the timer interrupt on every CPU.
pub fn tick() {
    let per_cpu = percpu::this();
    let ticks = per_cpu.ticks.fetch_add(1, Ordering::Relaxed) + 1;
    timer::expire(crate::time::monotonic_nanos());
    let current = thread_from_raw(per_cpu.current.load(Ordering::Acquire));
    let is_idle = core::ptr::eq(
        current,
        per_cpu.idle.load(Ordering::Relaxed) as *const Thread,
    );
    let queued = RUN_QUEUES[per_cpu.index]
        .try_lock()
        .map(|q| q.count)
        .unwrap_or(0);
    if (is_idle && (queued > 0 || ticks.is_multiple_of(4)))
        || (queued > 0 && ticks.is_multiple_of(QUANTUM_TICKS))
    {
        per_cpu.need_reschedule.store(true, Ordering::Release);
    }
    // Busy CPUs balance too, less often: pull one thread when another queue is longer by two.
    // CPUs offset their checks so they do not all pull from the same queue at once.
    if !is_idle && (ticks + per_cpu.index as u64 * 7).is_multiple_of(BALANCE_TICKS) {
        balance(per_cpu.index, queued);
    }
}

/// Ticks between balancing checks on a busy CPU.
const BALANCE_TICKS: u64 = 50;

fn balance(cpu: usize, queued_here: usize) {
    let longest = (0..crate::arch::cpus::cpu_count())
        .filter(|&c| c != cpu && percpu::of(c).is_some())
        .map(|c| RUN_QUEUES[c].try_lock().map(|q| q.count).unwrap_or(0))
        .max()
        .unwrap_or(0);
    if longest >= queued_here + 2 {
        if let Some(thread) = try_steal(cpu) {
            thread.cpu.store(cpu, Ordering::Relaxed);
            RUN_QUEUES[cpu].lock().push(thread);
        }
    }
}

/// Called at the end of interrupt dispatch, after EOI: preempts if a switch is due.
pub fn preempt_if_needed() {
    if !percpu::is_initialised() {
        return;
    }
    let per_cpu = percpu::this();
    if per_cpu.need_reschedule.load(Ordering::Acquire)
        && per_cpu.preempt_disable.load(Ordering::Relaxed) == 0
        && !per_cpu.current.load(Ordering::Relaxed).is_null()
    {
        schedule();
    }
}

fn idle_loop() -> u64 {
    let per_cpu = percpu::this();
    loop {
        cpu::disable_interrupts();
        per_cpu.idling.store(true, Ordering::SeqCst);
        schedule();
        // Nothing to run: sleep until the next interrupt (timer tick or reschedule IPI).
        cpu::enable_interrupts_and_halt();
        per_cpu.idling.store(false, Ordering::SeqCst);
    }
}

/// Threads alive (not yet freed).
pub fn live_threads() -> usize {
    thread::LIVE_THREADS.load(Ordering::Relaxed)
}

/// Threads queued on `cpu`.
pub fn queued_on(cpu: usize) -> usize {
    RUN_QUEUES.get(cpu).map(|q| q.lock().count).unwrap_or(0)
}

/// Every known thread, for `ps`: registered on creation, dropped when freed.
pub mod registry {
    use alloc::sync::{Arc, Weak};
    use alloc::vec::Vec;

    use super::Thread;
    use crate::sync::spin::IrqSpinLock;

    static THREADS: IrqSpinLock<Vec<Weak<Thread>>> =
        IrqSpinLock::new("thread-registry", Vec::new());

    /// Records a thread.
    pub fn add(thread: &Arc<Thread>) {
        let mut threads = THREADS.lock();
        threads.retain(|t| t.strong_count() > 0);
        threads.push(Arc::downgrade(thread));
    }

    /// Live threads.
    pub fn snapshot() -> Vec<Arc<Thread>> {
        THREADS.lock().iter().filter_map(Weak::upgrade).collect()
    }
}
