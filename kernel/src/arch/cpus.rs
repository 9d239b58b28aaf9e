//! The CPU table, the same on every architecture: which CPUs the firmware reported, by hardware
//! ID (the local APIC ID on x86_64, the MPIDR affinity on aarch64), and how many run.
//!
//! Index 0 is always the boot CPU; other indices follow the firmware's order. The names keep
//! x86_64's words (`apic_id_of`, `index_of_apic`) for the hardware ID.

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// Most CPUs the kernel manages.
pub const MAX_CPUS: usize = 64;

static APIC_IDS: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(u32::MAX) }; MAX_CPUS];
static CPU_COUNT: AtomicUsize = AtomicUsize::new(1);
static ONLINE: AtomicUsize = AtomicUsize::new(1);

/// Records the firmware's CPU list; the boot CPU (`bsp_apic_id`) becomes index 0.
pub fn register_cpus(bsp_apic_id: u32, apic_ids: impl Iterator<Item = u32>) -> usize {
    APIC_IDS[0].store(bsp_apic_id, Ordering::Relaxed);
    let mut count = 1;
    for id in apic_ids.filter(|&id| id != bsp_apic_id) {
        if count == MAX_CPUS {
            log::warn!("more than {MAX_CPUS} CPUs; ignoring hardware ID {id:#x} and above");
            break;
        }
        APIC_IDS[count].store(id, Ordering::Relaxed);
        count += 1;
    }
    CPU_COUNT.store(count, Ordering::Release);
    count
}

/// Index of the CPU with `apic_id` (0 if unknown).
pub fn index_of_apic(apic_id: u32) -> usize {
    let count = CPU_COUNT.load(Ordering::Acquire);
    APIC_IDS[..count]
        .iter()
        .position(|id| id.load(Ordering::Relaxed) == apic_id)
        .unwrap_or(0)
}

/// APIC ID of CPU `index`.
pub fn apic_id_of(index: usize) -> Option<u32> {
    (index < CPU_COUNT.load(Ordering::Acquire)).then(|| APIC_IDS[index].load(Ordering::Relaxed))
}

/// CPUs the firmware reported.
pub fn cpu_count() -> usize {
    CPU_COUNT.load(Ordering::Acquire)
}

/// CPUs running kernel code.
pub fn online_count() -> usize {
    ONLINE.load(Ordering::Acquire)
}

/// Counts one more CPU as running kernel code.
pub(in crate::arch) fn count_online() {
    ONLINE.fetch_add(1, Ordering::AcqRel);
}
