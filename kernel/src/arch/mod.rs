//! The architecture layer: the only code that knows which CPU the kernel runs on.
//!
//! May import: nothing from the kernel. Everything above uses the CPU through the interface
//! re-exported here (`cpu`, `cpus`, `percpu`, `traps`, `tlb`, `fpu`, `switch`, `smp`, `ipi`,
//! the interrupt controllers and the serial port); `target_arch` picks the implementation.

pub mod cpus;

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

#[cfg(target_arch = "aarch64")]
pub use self::aarch64::*;
#[cfg(target_arch = "x86_64")]
pub use self::x86_64::*;
