//! x86_64: CPU set-up, descriptor tables, traps, interrupt controllers, the CPU table, AP
//! start-up, TLB shootdown, FPU state, context switch, per-CPU base, serial port.
//!
//! May import: nothing from the kernel (only crates). What it needs from the layers above (a
//! fault reporter, the preemption hook, stacks, a clock) is handed in at start-up.
//!
//! Everything that touches privileged CPU state lives here, behind small safe functions. Code above
//! this layer never executes `in`/`out`, `wrmsr` or control-register writes itself.

pub mod cpu;
pub use super::cpus;
pub mod fpu;
pub mod gdt;
pub mod idt;
pub mod ioapic;
pub mod lapic;
pub mod percpu;
pub mod pic;
pub mod serial;
pub mod smp;
pub mod switch;
pub mod tlb;
pub mod traps;
pub mod user;

core::arch::global_asm!(include_str!("boot.S"), options(att_syntax));
core::arch::global_asm!(include_str!("traps.S"), options(att_syntax));
core::arch::global_asm!(include_str!("switch.S"), options(att_syntax));
core::arch::global_asm!(include_str!("user.S"), options(att_syntax));
core::arch::global_asm!(include_str!("trampoline.S"), options(att_syntax));

/// Message-signalled interrupts, named the same on every architecture: the local APIC's
/// message format (Intel SDM vol. 3 section 11.11).
pub mod msi {
    /// MSI and MSI-X always work through the local APIC.
    pub fn available() -> bool {
        true
    }

    /// The (address, data) message that raises `vector` on the CPU with local APIC ID
    /// `destination` (the requester ID does not matter here).
    pub fn message(_requester: u16, vector: u8, destination: u32) -> Option<(u64, u32)> {
        Some((
            u64::from(0xfee0_0000 | ((destination & 0xff) << 12)),
            u32::from(vector),
        ))
    }
}

/// Inter-processor interrupts, named the same on every architecture.
pub mod ipi {
    /// Sends `vector` to the CPU whose hardware ID (local APIC ID) is `hardware_id`.
    pub fn send(hardware_id: u32, vector: u8) {
        super::lapic::send_ipi(hardware_id, super::lapic::IpiKind::Fixed(vector));
    }
}

/// Port I/O in one place so that every `in`/`out` has the same safety argument.
pub mod port {
    use x86_64::instructions::port::Port;

    /// Writes a byte to an I/O port.
    pub fn write_u8(port: u16, value: u8) {
        // SAFETY: the kernel runs at CPL 0 and only addresses ports of devices it owns
        // (serial, PIC, PIT, CMOS, debug-exit, PCI config); a write cannot break memory safety.
        unsafe { Port::<u8>::new(port).write(value) }
    }

    /// Reads a byte from an I/O port.
    pub fn read_u8(port: u16) -> u8 {
        // SAFETY: as for `write_u8`; port reads of these devices have no memory effects.
        unsafe { Port::<u8>::new(port).read() }
    }

    /// Writes a 16-bit word to an I/O port.
    pub fn write_u16(port: u16, value: u16) {
        // SAFETY: as for `write_u8`.
        unsafe { Port::<u16>::new(port).write(value) }
    }

    /// Writes a 32-bit word to an I/O port.
    pub fn write_u32(port: u16, value: u32) {
        // SAFETY: as for `write_u8`.
        unsafe { Port::<u32>::new(port).write(value) }
    }

    /// Reads a 32-bit word from an I/O port.
    pub fn read_u32(port: u16) -> u32 {
        // SAFETY: as for `read_u8`.
        unsafe { Port::<u32>::new(port).read() }
    }
}
