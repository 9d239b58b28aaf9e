//! rumpuser: the NetBSD rump hypercall layer (v17 + `rumpcomp_pci_*`) over a `Host` trait.
//!
//! This crate exports every function of `include/rumpuser.h` with the exact C ABI and
//! implements the contract's protocol (`../shared/rumpuser/CONTRACT.md`): the scheduling
//! upcalls around blocking (§2), lock semantics (§1.11-§1.13), curlwp per host thread (§3),
//! block I/O completion on service threads (§5.3), interrupt dispatch (§9.7). The machine
//! underneath is a [`Host`], installed once with [`install`]. It is `no_std` + `alloc`; the
//! `hosted` feature adds [`hosted::HostedHost`], a std/Linux host for tests and user space.
//!
//! It must not know about x86 or the kernel, and it must not upcall from any path the
//! contract marks "never" (§2.4, §2.7).

#![no_std]

#[cfg(feature = "hosted")]
extern crate std;

pub mod abi;
pub mod abi_table;
mod bio;
pub mod errno;
pub mod exports;
pub mod host;
mod install;
pub mod memory;
mod pci;
mod sched;
pub mod sync;

#[cfg(feature = "hosted")]
pub mod hosted;

pub use errno::Errno;
pub use host::{
    Access, FileInfo, FileKind, Host, IrqLine, JoinToken, OpenFlags, SyncFlags, ThreadAttrs,
    ThreadStart, WaitOutcome,
};
pub use install::{install, installed, AlreadyInstalled};
