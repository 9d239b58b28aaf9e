//! The rumpuser hypercall layer (filled by its issue).
#![no_std]
