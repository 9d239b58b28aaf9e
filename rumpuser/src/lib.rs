//! rumpuser: the NetBSD rump hypercall layer (v17 + `rumpcomp_pci_*`) over a `Host` trait.
//!
//! This crate exports every function of `include/rumpuser.h` with the exact C ABI and
//! implements the protocol of the hypercall contract, docs/contract.md ("contract §N" in this
//! crate means its section N): the scheduling upcalls around blocking (contract §2), lock
//! semantics (contract §1.11-§1.13), curlwp per host thread (contract §3), block I/O completion
//! on service threads (contract §5.3), interrupt dispatch (contract §9.7). The machine
//! underneath is a [`Host`], installed once with [`install()`]. It is `no_std` + `alloc`; the
//! `hosted` feature adds `hosted::HostedHost`, a std/Linux host for tests and user space.
//!
//! It must not know about x86 or the kernel, and it must not upcall from any path the
//! contract marks "never" (contract §2.4, §2.7).

#![no_std]

#[cfg(feature = "hosted")]
extern crate std;

pub mod abi;
pub mod abi_table;
mod bio;
pub mod deferred;
pub mod errno;
pub mod exports;
pub mod host;
mod install;
pub mod memory;
pub mod pci;
mod sched;
mod service;
pub mod stats;
pub mod sync;

#[cfg(feature = "hosted")]
pub mod hosted;

pub use bio::{async_completions, BioOperation, BioRequest};
pub use errno::Errno;
pub use host::{
    Access, FileInfo, FileKind, Host, IrqLine, JoinToken, OpenFlags, SyncFlags, ThreadAttrs,
    ThreadStart, WaitOutcome,
};
pub use install::{install, installed, AlreadyInstalled};
