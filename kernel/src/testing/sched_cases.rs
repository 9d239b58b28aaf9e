//! Kernel tests of threads, the scheduler and the synchronisation primitives.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::sched::condvar::Condvar;
use crate::sched::mutex::Mutex;
use crate::sched::rwlock::RwLock;
use crate::sched::semaphore::Semaphore;
use crate::sched::{self, Builder};
use crate::{check, kernel_test, time};

fn spawn(
    name: &str,
    f: impl FnOnce() -> u64 + Send + 'static,
) -> Result<sched::JoinHandle, String> {
    sched::spawn(Builder::new(name), f).map_err(|e| alloc::format!("{e}"))
}

fn online() -> usize {
    crate::arch::cpus::online_count()
}

fn join_returns_the_exit_value() -> Result<(), String> {
    let handles: Vec<_> = (0..8u64)
        .map(|i| spawn("worker", move || i * 10))
        .collect::<Result<_, _>>()?;
    for (i, handle) in handles.into_iter().enumerate() {
        let value = handle.join();
        check!(value == i as u64 * 10, "thread {i} returned {value}");
    }
    Ok(())
}
kernel_test!(sched_join_returns_value, join_returns_the_exit_value);

fn stress_twenty_rounds() -> Result<(), String> {
    for round in 0..20 {
        stress_mutexes_rwlock_and_condvar_ping_pong()
            .map_err(|e| alloc::format!("round {round}: {e}"))?;
    }
    Ok(())
}

fn stress_mutexes_rwlock_and_condvar_ping_pong() -> Result<(), String> {
    const THREADS: usize = 64;
    const ITERATIONS: u64 = 60;
    struct Shared {
        mutexes: Vec<Mutex<(u64, u64)>>,
        rwlock: RwLock,
        rw_value: AtomicU64,
        rw_writers_inside: AtomicUsize,
        violations: AtomicUsize,
        ping: Mutex<u64>,
        ping_cv: Condvar,
    }
    let shared = Arc::new(Shared {
        mutexes: (0..8).map(|_| Mutex::new("stress", (0, 0))).collect(),
        rwlock: RwLock::new("stress-rw"),
        rw_value: AtomicU64::new(0),
        rw_writers_inside: AtomicUsize::new(0),
        violations: AtomicUsize::new(0),
        ping: Mutex::new("ping", 0),
        ping_cv: Condvar::new(),
    });
    let mut handles = Vec::new();
    for t in 0..THREADS {
        let s = shared.clone();
        handles.push(spawn("stress", move || {
            for i in 0..ITERATIONS {
                let m = &s.mutexes[(t + i as usize) % 8];
                {
                    let mut guard = m.lock();
                    // Two counters updated non-atomically: a torn pair proves a broken lock.
                    let (a, b) = *guard;
                    if a != b {
                        s.violations.fetch_add(1, Ordering::Relaxed);
                    }
                    *guard = (a + 1, b);
                    if i % 7 == 0 {
                        sched::yield_now();
                    }
                    guard.1 += 1;
                }
                if i % 4 == 0 {
                    s.rwlock.write();
                    if s.rw_writers_inside.fetch_add(1, Ordering::SeqCst) != 0 {
                        s.violations.fetch_add(1, Ordering::Relaxed);
                    }
                    s.rw_value.fetch_add(1, Ordering::Relaxed);
                    s.rw_writers_inside.fetch_sub(1, Ordering::SeqCst);
                    s.rwlock.unlock();
                } else {
                    s.rwlock.read();
                    if s.rw_writers_inside.load(Ordering::SeqCst) != 0 {
                        s.violations.fetch_add(1, Ordering::Relaxed);
                    }
                    s.rwlock.unlock();
                }
            }
            0
        })?);
    }
    // Condition-variable ping-pong between two threads on (possibly) different CPUs.
    let rounds = 500u64;
    let mut players = Vec::new();
    for parity in 0..2u64 {
        let s = shared.clone();
        players.push(spawn("ping-pong", move || {
            let mut guard = s.ping.lock();
            while *guard < 2 * rounds {
                if *guard % 2 == parity {
                    *guard += 1;
                    s.ping_cv.broadcast();
                } else {
                    s.ping_cv.wait(guard.mutex().raw());
                }
            }
            0
        })?);
    }
    for handle in handles.into_iter().chain(players) {
        handle.join();
    }
    let total: u64 = shared.mutexes.iter().map(|m| m.lock().0).sum();
    check!(
        shared.violations.load(Ordering::Relaxed) == 0,
        "{} mutual-exclusion violations",
        shared.violations.load(Ordering::Relaxed)
    );
    check!(
        total == THREADS as u64 * ITERATIONS,
        "mutex counters sum to {total}, expected {}",
        THREADS as u64 * ITERATIONS
    );
    let writes = shared.rw_value.load(Ordering::Relaxed);
    check!(
        writes == THREADS as u64 * ITERATIONS.div_ceil(4),
        "rwlock writes {writes}"
    );
    check!(*shared.ping.lock() == 2 * rounds, "ping-pong stopped early");
    Ok(())
}
kernel_test!(sched_stress_locks, stress_twenty_rounds);

fn cpu_bound_threads_spread_over_all_cpus() -> Result<(), String> {
    let cpus = online();
    let busy_before: Vec<u64> = (0..cpus)
        .map(|c| {
            crate::arch::percpu::of(c)
                .map(|p| p.busy_nanos.load(Ordering::Relaxed))
                .unwrap_or(0)
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let start = time::monotonic_nanos();
    let mut handles = Vec::new();
    for _ in 0..8 {
        let stop = stop.clone();
        let mut builder = Builder::new("spinner");
        builder.start_cpu = Some(0);
        handles.push(
            sched::spawn(builder, move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = core::hint::black_box(x.wrapping_add(1));
                }
                x
            })
            .map_err(|e| alloc::format!("{e}"))?,
        );
    }
    sched::sleep_until(start + 300_000_000);
    stop.store(true, Ordering::Relaxed);
    let mut used = 0u64;
    for handle in handles {
        used |= handle.thread().cpus_used();
        handle.join();
    }
    let elapsed = time::monotonic_nanos() - start;
    for (cpu, before) in busy_before.iter().enumerate() {
        check!(
            used & (1 << cpu) != 0,
            "no spinner ever ran on cpu {cpu} (cpus used {used:#b})"
        );
        let busy = crate::arch::percpu::of(cpu)
            .map(|p| p.busy_nanos.load(Ordering::Relaxed))
            .unwrap_or(0)
            - before;
        check!(
            busy * 5 >= elapsed,
            "cpu {cpu} was busy only {busy} of {elapsed} ns"
        );
    }
    Ok(())
}
kernel_test!(sched_load_balancing, cpu_bound_threads_spread_over_all_cpus);

fn timed_waits_time_out_on_time() -> Result<(), String> {
    // Under KVM every wait must land within 2 ms. Under emulation on a shared host the vCPU
    // can be descheduled for tens of milliseconds at any moment, so the median lateness is
    // judged: a kernel that wakes late does so every time, a host stall only now and then.
    let strict = crate::boot::info().option("timing") == Some("strict");
    let slack = if strict { 2_000_000 } else { 30_000_000 };
    let mutex = Mutex::new("timed", ());
    let cv = Condvar::new();
    let mut lateness = [0u64; 11];
    for (i, late) in lateness.iter_mut().enumerate() {
        let guard = mutex.lock();
        let deadline = time::monotonic_nanos() + 5_000_000 + i as u64 * 1_000_000;
        let signalled = cv.wait_deadline(guard.mutex().raw(), Some(deadline));
        let now = time::monotonic_nanos();
        drop(guard);
        check!(!signalled, "timed wait reported a signal nobody sent");
        check!(
            now >= deadline,
            "timed wait returned {} ns early",
            deadline - now
        );
        *late = now - deadline;
    }
    lateness.sort_unstable();
    let (median, worst) = (lateness[lateness.len() / 2], lateness[lateness.len() - 1]);
    let judged = if strict { worst } else { median };
    check!(
        judged <= slack,
        "timed waits returned late: median {median} ns, worst {worst} ns (allowed {slack} for the {})",
        if strict { "worst" } else { "median" }
    );
    let semaphore = Semaphore::new(0);
    let deadline = time::monotonic_nanos() + 3_000_000;
    check!(
        !semaphore.acquire_deadline(Some(deadline)),
        "semaphore acquired without a permit"
    );
    check!(
        time::monotonic_nanos() >= deadline,
        "semaphore timeout early"
    );
    crate::println!(
        "timed waits: median lateness {} us, worst {} us",
        median / 1000,
        worst / 1000
    );
    Ok(())
}
kernel_test!(sched_timed_waits, timed_waits_time_out_on_time);

fn create_join_cycles_return_memory() -> Result<(), String> {
    let cycles = 10_000;
    // Warm up per-CPU structures (timer heaps, run queues) so their growth is not counted.
    for _ in 0..64 {
        spawn("warm", || 0)?.join();
    }
    let heap_before = crate::mm::heap::statistics().allocated_bytes;
    let frames_before = crate::mm::frames::statistics().0;
    let threads_before = sched::live_threads();
    for i in 0..cycles {
        let value = spawn("cycle", move || i)?.join();
        check!(value == i, "cycle {i} returned {value}");
    }
    let heap_after = crate::mm::heap::statistics().allocated_bytes;
    let frames_after = crate::mm::frames::statistics().0;
    check!(
        sched::live_threads() == threads_before,
        "{} threads alive, {} before",
        sched::live_threads(),
        threads_before
    );
    check!(
        frames_after == frames_before,
        "free frames {frames_after}, before {frames_before}"
    );
    check!(
        heap_after <= heap_before + 4096,
        "heap grew from {heap_before} to {heap_after} bytes"
    );
    Ok(())
}
kernel_test!(sched_create_join_no_leak, create_join_cycles_return_memory);

fn pinned_thread_never_migrates() -> Result<(), String> {
    if online() < 2 {
        return Ok(()); // nothing to migrate to on one CPU
    }
    let mut builder = Builder::new("pinned");
    builder.affinity = Some(1);
    let handle = sched::spawn(builder, || {
        let mut wrong = 0;
        for _ in 0..200 {
            if crate::arch::percpu::this().index != 1 {
                wrong += 1;
            }
            if wrong == 0 {
                sched::yield_now();
                sched::sleep_until(time::monotonic_nanos() + 100_000);
            }
        }
        wrong
    })
    .map_err(|e| alloc::format!("{e}"))?;
    // Load the other CPUs so that balancing would love to move it.
    let spinners: Vec<_> = (0..online() * 2)
        .map(|_| {
            spawn("load", || {
                let end = time::monotonic_nanos() + 50_000_000;
                while time::monotonic_nanos() < end {}
                0
            })
        })
        .collect::<Result<_, _>>()?;
    let thread = handle.thread().clone();
    let wrong = handle.join();
    let used = thread.cpus_used();
    for s in spinners {
        s.join();
    }
    check!(wrong == 0, "pinned thread ran {wrong} times off cpu 1");
    check!(used == 1 << 1, "pinned thread ran on cpus {used:#b}");
    Ok(())
}
kernel_test!(sched_affinity, pinned_thread_never_migrates);

fn sleep_until_waits_long_enough() -> Result<(), String> {
    for ms in [1u64, 3, 10] {
        let deadline = time::monotonic_nanos() + ms * 1_000_000;
        sched::sleep_until(deadline);
        check!(
            time::monotonic_nanos() >= deadline,
            "woke before the {ms} ms deadline"
        );
    }
    Ok(())
}
kernel_test!(sched_sleep, sleep_until_waits_long_enough);

fn rwlock_try_upgrade_and_downgrade() -> Result<(), String> {
    let lock = RwLock::new("upgrade");
    check!(lock.try_read(), "free lock refused a reader");
    check!(lock.try_upgrade(), "sole reader could not upgrade");
    check!(
        lock.write_held() && !lock.try_read(),
        "upgrade did not give exclusive hold"
    );
    lock.downgrade();
    check!(
        !lock.write_held() && lock.read_held(),
        "downgrade did not leave a shared hold"
    );
    check!(lock.try_read(), "second reader refused after downgrade");
    check!(!lock.try_upgrade(), "upgrade allowed with two readers");
    lock.unlock();
    lock.unlock();
    check!(lock.try_write(), "lock not free after unlocks");
    lock.unlock();
    Ok(())
}
kernel_test!(
    sync_rwlock_upgrade_downgrade,
    rwlock_try_upgrade_and_downgrade
);

fn semaphore_counts() -> Result<(), String> {
    let semaphore = Arc::new(Semaphore::new(2));
    check!(
        semaphore.try_acquire() && semaphore.try_acquire(),
        "two permits not available"
    );
    check!(!semaphore.try_acquire(), "third permit appeared");
    let s = semaphore.clone();
    let waiter = spawn("sem-wait", move || {
        s.acquire();
        1
    })?;
    sched::sleep_until(time::monotonic_nanos() + 2_000_000);
    semaphore.release();
    check!(waiter.join() == 1, "waiter did not get the permit");
    Ok(())
}
kernel_test!(sync_semaphore, semaphore_counts);

fn vector_state_survives_context_switches() -> Result<(), String> {
    let mut handles = Vec::new();
    for value in [0x1111_2222_3333_4444u64, 0x5555_6666_7777_8888] {
        let mut builder = Builder::new("fpu-user");
        builder.uses_fpu = true;
        handles.push(
            sched::spawn(builder, move || {
                let mut bad = 0;
                for _ in 0..100 {
                    #[cfg(target_arch = "x86_64")]
                    let back = {
                        // SAFETY: the thread was created with FPU state, so xmm0 belongs to it.
                        unsafe { core::arch::asm!("movq xmm0, {}", in(reg) value) };
                        sched::yield_now();
                        let back: u64;
                        // SAFETY: as above.
                        unsafe { core::arch::asm!("movq {}, xmm0", out(reg) back) };
                        back
                    };
                    // The thread owns FP/SIMD state, so v0 is its own across the yield.
                    #[cfg(target_arch = "aarch64")]
                    let back = crate::arch::fpu::v0_round_trip(value, sched::yield_now);
                    if back != value {
                        bad += 1;
                    }
                }
                bad
            })
            .map_err(|e| alloc::format!("{e}"))?,
        );
    }
    for handle in handles {
        let bad = handle.join();
        check!(bad == 0, "xmm0 was clobbered {bad} times across switches");
    }
    Ok(())
}
kernel_test!(
    sched_fpu_state_preserved,
    vector_state_survives_context_switches
);

fn monotonic_clock_is_monotonic_across_cpus() -> Result<(), String> {
    // Every thread publishes its latest reading; a reading taken after observing another CPU's
    // published value must not be smaller than it.
    let published = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..online())
        .map(|cpu| {
            let published = published.clone();
            let mut builder = Builder::new("clock-reader");
            builder.affinity = Some(cpu);
            sched::spawn(builder, move || {
                let mut backwards = 0;
                for _ in 0..20_000 {
                    let seen = published.load(Ordering::Acquire);
                    let now = time::monotonic_nanos();
                    if now < seen {
                        backwards += 1;
                    }
                    published.fetch_max(now, Ordering::AcqRel);
                }
                backwards
            })
            .map_err(|e| alloc::format!("{e}"))
        })
        .collect::<Result<_, _>>()?;
    let backwards: u64 = handles.into_iter().map(|h| h.join()).sum();
    check!(
        backwards == 0,
        "the clock went backwards {backwards} times between CPUs"
    );
    Ok(())
}
kernel_test!(
    time_monotonic_across_cpus,
    monotonic_clock_is_monotonic_across_cpus
);
