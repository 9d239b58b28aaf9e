//! TLB shootdown: flush a range on this CPU, then on every other running CPU through an IPI,
//! and wait until all have done so.

use core::sync::atomic::{AtomicU64, Ordering};

use super::{cpu, cpus, lapic, percpu, traps};

/// Vector of the TLB-shootdown IPI.
pub const VECTOR_SHOOTDOWN: u8 = 0xe2;

/// Serialises shootdowns: one request is in flight at a time. Taken only with interrupts off.
static SHOOTDOWN: spin::Mutex<()> = spin::Mutex::new(());
static SHOOTDOWN_PENDING: AtomicU64 = AtomicU64::new(0);
static SHOOTDOWN_ARGUMENTS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Flushes `pages` pages from `start` on this CPU only.
pub fn flush_local(start: u64, pages: u64) {
    if pages > 64 {
        x86_64::instructions::tlb::flush_all();
    } else {
        for i in 0..pages {
            x86_64::instructions::tlb::flush(x86_64::VirtAddr::new(start + i * 4096));
        }
    }
}

fn service_shootdown() {
    let bit = 1u64 << (percpu::this().index % 64);
    if SHOOTDOWN_PENDING.load(Ordering::Acquire) & bit != 0 {
        let start = SHOOTDOWN_ARGUMENTS[0].load(Ordering::Acquire);
        let pages = SHOOTDOWN_ARGUMENTS[1].load(Ordering::Acquire);
        flush_local(start, pages);
        SHOOTDOWN_PENDING.fetch_and(!bit, Ordering::AcqRel);
    }
}

/// Installs the shootdown IPI handler (once, before other CPUs start).
pub fn init() {
    traps::set_handler(VECTOR_SHOOTDOWN, |_| service_shootdown());
}

/// Flushes `[start, start + pages * 4 KiB)` from every online CPU's TLB and waits until all
/// have done so. The caller must hold no spin lock other CPUs might wait for.
pub fn shootdown(start: u64, pages: u64) {
    // Stay on one CPU for the whole request: `me` must stay true.
    let interrupts_were_enabled = cpu::disable_interrupts();
    flush_local(start, pages);
    if cpus::online_count() < 2 || !percpu::is_initialised() {
        cpu::restore_interrupts(interrupts_were_enabled);
        return;
    }
    let me = percpu::this().index;
    // Serve incoming requests while waiting for the lock, so two senders cannot deadlock.
    let guard = loop {
        if let Some(guard) = SHOOTDOWN.try_lock() {
            break guard;
        }
        service_shootdown();
        core::hint::spin_loop();
    };
    // Only CPUs that really run (a CPU that failed to start has no per-CPU block).
    let others = || (0..cpus::cpu_count()).filter(move |&i| i != me && percpu::of(i).is_some());
    let mut targets = 0u64;
    for index in others() {
        targets |= 1 << (index % 64);
    }
    SHOOTDOWN_ARGUMENTS[0].store(start, Ordering::Release);
    SHOOTDOWN_ARGUMENTS[1].store(pages, Ordering::Release);
    SHOOTDOWN_PENDING.store(targets, Ordering::Release);
    for index in others() {
        if let Some(apic_id) = cpus::apic_id_of(index) {
            lapic::send_ipi(apic_id, lapic::IpiKind::Fixed(VECTOR_SHOOTDOWN));
        }
    }
    while SHOOTDOWN_PENDING.load(Ordering::Acquire) != 0 {
        core::hint::spin_loop();
    }
    drop(guard);
    cpu::restore_interrupts(interrupts_were_enabled);
}
