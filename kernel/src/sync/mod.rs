//! Synchronisation primitives. `spin` holds the IRQ-safe spin lock every other lock builds on.

pub mod spin;
