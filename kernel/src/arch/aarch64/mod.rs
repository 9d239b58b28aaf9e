//! aarch64: EL1 set-up, exception vectors and trap dispatch, the GIC (v3, or v2 where that is all
//! the machine has), the generic timer, the CPU table, PSCI CPU start-up, TLB maintenance, FP/SIMD
//! state, context switch, per-CPU base (`TPIDR_EL1`), the PL011 serial port.
//!
//! May import: nothing from the kernel (only crates). What it needs from the layers above (a
//! fault reporter, the preemption hook, stacks, a clock) is handed in at start-up.
//!
//! Everything that touches system registers lives here, behind small safe functions. The module
//! names match `arch/x86_64` where the job is the same (`cpu`, `cpus`, `percpu`, `traps`, `tlb`,
//! `fpu`, `switch`, `smp`, `serial`, `ipi`, `user`), so the layers above need no `cfg`.

pub mod cpu;
pub use super::cpus;
pub mod fpu;
pub mod gic;
pub mod its;
pub mod percpu;
pub mod psci;
pub mod semihosting;
pub mod serial;
pub mod smp;
pub mod switch;
pub mod timer;
pub mod tlb;
pub mod traps;
pub mod user;

core::arch::global_asm!(include_str!("boot.S"));
core::arch::global_asm!(include_str!("vectors.S"));
core::arch::global_asm!(include_str!("switch.S"));

/// Message-signalled interrupts, named the same on every architecture: through the GICv3 ITS.
pub mod msi {
    /// Whether MSI and MSI-X can be used (an ITS was found and set up).
    pub fn available() -> bool {
        super::its::available()
    }

    /// The (address, data) message that makes the PCI function with `requester` ID raise
    /// kernel `vector` (`_destination` is the x86_64 interface's target APIC ID: LPIs go to
    /// the boot CPU).
    pub fn message(requester: u16, vector: u8, _destination: u32) -> Option<(u64, u32)> {
        match super::its::message(requester, vector) {
            Ok(message) => Some(message),
            Err(error) => {
                log::warn!("no MSI for requester {requester:#06x}: {error}");
                None
            }
        }
    }
}

/// Inter-processor interrupts, named the same on every architecture.
pub mod ipi {
    /// Sends kernel `vector` (a software-generated interrupt) to the CPU whose hardware ID (its
    /// MPIDR affinity) is `hardware_id`.
    pub fn send(hardware_id: u32, vector: u8) {
        if let Some(sgi) = super::traps::sgi_of_vector(vector) {
            super::gic::send_sgi(hardware_id, sgi);
        }
    }
}
