//! A Rust kernel built to host NetBSD rump kernel components, on x86_64 and aarch64.
//!
//! The modules that need bare metal only build for `target_os = "none"`; the pure ones (boot
//! information parsing, the frame bitmap) also build and test on the host with `cargo test`.
//! On aarch64 the modules that still speak only x86 (ACPI firmware tables, user processes) are
//! left out; docs/architecture.md says so.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

#[deny(unsafe_code)]
pub mod boot;
pub mod mm;

#[cfg(target_os = "none")]
pub mod arch;
#[cfg(target_os = "none")]
pub mod block;
#[cfg(target_os = "none")]
#[deny(unsafe_code)]
pub mod console;
#[cfg(target_os = "none")]
pub mod diagnostics;
#[cfg(all(target_os = "none", target_arch = "x86_64"))]
pub mod firmware;
#[cfg(all(target_os = "none", target_arch = "x86_64"))]
pub mod init;
#[cfg(all(target_os = "none", target_arch = "aarch64"))]
#[path = "init_aarch64.rs"]
pub mod init;
#[cfg(target_os = "none")]
#[deny(unsafe_code)]
pub mod interrupts;
#[cfg(target_os = "none")]
#[deny(unsafe_code)]
pub mod net;
#[cfg(target_os = "none")]
pub mod pci;
#[cfg(all(target_os = "none", target_arch = "x86_64"))]
#[deny(unsafe_code)]
pub mod process;
#[cfg(target_os = "none")]
#[deny(unsafe_code)]
pub mod qemu;
#[cfg(target_os = "none")]
#[deny(unsafe_code)]
pub mod rootfs;
#[cfg(target_os = "none")]
pub mod rump;
#[cfg(target_os = "none")]
pub mod rumphost;
#[cfg(target_os = "none")]
pub mod sched;
#[cfg(target_os = "none")]
#[deny(unsafe_code)]
pub mod shell;
#[cfg(target_os = "none")]
pub mod sync;
#[cfg(target_os = "none")]
pub mod testing;
#[cfg(target_os = "none")]
#[deny(unsafe_code)]
pub mod time;
#[cfg(target_os = "none")]
#[deny(unsafe_code)]
pub mod vfs;
#[cfg(target_os = "none")]
pub mod virtio;
