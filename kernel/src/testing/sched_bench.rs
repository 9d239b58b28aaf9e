//! Scheduler and lock benchmarks (`test=bench_sched`), printed as `bench:` lines in cycles.
//! Not run by the test suite; `cargo xtask bench` runs them.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::arch::cpu::rdtsc;
use crate::sched::condvar::Condvar;
use crate::sched::mutex::{Mutex, RawMutex};
use crate::sched::semaphore::Semaphore;
use crate::sched::{self, Builder};
use crate::{kernel_test, println, time};

fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values[values.len() / 2]
}

fn pinned(name: &str, cpu: usize) -> Builder<'_> {
    let mut builder = Builder::new(name);
    builder.affinity = Some(cpu);
    builder
}

fn report(what: &str, cycles: u64) {
    println!(
        "bench: {what}: {cycles} cycles ({} ns)",
        time::tsc::ticks_to_nanos(cycles)
    );
}

fn context_switch() -> u64 {
    const SWITCHES: u64 = 2000;
    let mut runs = Vec::new();
    for _ in 0..5 {
        let go = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let go = go.clone();
                sched::spawn(pinned("switcher", 0), move || {
                    while !go.load(Ordering::Acquire) {
                        sched::yield_now();
                    }
                    let start = rdtsc();
                    for _ in 0..SWITCHES {
                        sched::yield_now();
                    }
                    rdtsc() - start
                })
                .expect("thread")
            })
            .collect();
        go.store(true, Ordering::Release);
        let total: u64 = handles.into_iter().map(|h| h.join()).max().unwrap_or(0);
        // Each thread's loop spans its own and the other's yields: 2 switches per iteration.
        runs.push(total / (2 * SWITCHES));
    }
    median(runs)
}

fn cross_cpu_wakeup() -> Option<u64> {
    if crate::arch::cpus::online_count() < 2 {
        return None;
    }
    let semaphore = Arc::new(Semaphore::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let (s, t) = (semaphore.clone(), sent.clone());
    let waiter = sched::spawn(pinned("wakee", 1), move || {
        let mut samples = Vec::new();
        for _ in 0..200 {
            s.acquire();
            samples.push(rdtsc().saturating_sub(t.load(Ordering::Acquire)));
        }
        median(samples)
    })
    .ok()?;
    for _ in 0..200 {
        sched::sleep_until(time::monotonic_nanos() + 200_000);
        sent.store(rdtsc(), Ordering::Release);
        semaphore.release();
    }
    Some(waiter.join())
}

fn mutex_pair() -> u64 {
    let mutex = RawMutex::new("bench");
    let mut runs = Vec::new();
    for _ in 0..5 {
        let start = rdtsc();
        for _ in 0..100_000 {
            mutex.lock();
            mutex.unlock();
        }
        runs.push((rdtsc() - start) / 100_000);
    }
    median(runs)
}

fn condvar_ping_pong() -> Option<u64> {
    if crate::arch::cpus::online_count() < 2 {
        return None;
    }
    const ROUNDS: u64 = 1000;
    let state = Arc::new((Mutex::new("pingpong", 0u64), Condvar::new()));
    let other = state.clone();
    let responder = sched::spawn(pinned("pong", 1), move || {
        let (mutex, cv) = &*other;
        let mut guard = mutex.lock();
        while *guard < 2 * ROUNDS {
            if *guard % 2 == 1 {
                *guard += 1;
                cv.signal();
            } else {
                cv.wait(guard.mutex().raw());
            }
        }
        0
    })
    .ok()?;
    let (mutex, cv) = &*state;
    let start = rdtsc();
    {
        let mut guard = mutex.lock();
        while *guard < 2 * ROUNDS {
            if *guard % 2 == 0 {
                *guard += 1;
                cv.signal();
            } else {
                cv.wait(guard.mutex().raw());
            }
        }
    }
    let total = rdtsc() - start;
    responder.join();
    Some(total / ROUNDS)
}

fn create_join() -> u64 {
    let mut runs = Vec::new();
    for _ in 0..5 {
        let start = rdtsc();
        for _ in 0..200 {
            sched::spawn(Builder::new("short"), || 0)
                .expect("thread")
                .join();
        }
        runs.push((rdtsc() - start) / 200);
    }
    median(runs)
}

fn work(units: u64) -> u64 {
    let mut x = 0u64;
    for i in 0..units {
        x = core::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
    }
    x
}

fn throughput_ratio() -> Option<(u64, u64)> {
    if crate::arch::cpus::online_count() < 2 {
        return None;
    }
    const UNITS: u64 = 20_000_000;
    let start = rdtsc();
    sched::spawn(pinned("work", 0), || work(UNITS)).ok()?.join();
    let one = rdtsc() - start;
    let start = rdtsc();
    let a = sched::spawn(pinned("work", 0), || work(UNITS / 2)).ok()?;
    let b = sched::spawn(pinned("work", 1), || work(UNITS / 2)).ok()?;
    a.join();
    b.join();
    let two = rdtsc() - start;
    Some((one, two))
}

fn bench_scheduler() -> Result<(), String> {
    report("context switch (same CPU, yield)", context_switch());
    match cross_cpu_wakeup() {
        Some(c) => report("cross-CPU wake-up (semaphore release to waiter running)", c),
        None => println!("bench: cross-CPU wake-up: needs 2 CPUs"),
    }
    report("uncontended mutex enter+exit", mutex_pair());
    match condvar_ping_pong() {
        Some(c) => report("condvar ping-pong round trip across CPUs", c),
        None => println!("bench: condvar ping-pong: needs 2 CPUs"),
    }
    report("thread create+join", create_join());
    match throughput_ratio() {
        Some((one, two)) => println!(
            "bench: CPU-bound throughput 1->2 CPUs: {}.{:02}x",
            one / two,
            (one * 100 / two) % 100
        ),
        None => println!("bench: throughput ratio: needs 2 CPUs"),
    }
    Ok(())
}
kernel_test!(bench_sched, bench_scheduler);
