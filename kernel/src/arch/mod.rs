//! The architecture layer: the only code that knows which CPU the kernel runs on.
//!
//! May import: nothing from the kernel. Everything above uses the CPU through the interface
//! re-exported here (`cpu`, `cpus`, `percpu`, `traps`, `tlb`, `fpu`, `switch`, `smp`, the
//! interrupt controllers and the serial port), so a second architecture can sit beside x86_64.

pub mod x86_64;

pub use self::x86_64::*;
