//! A Rust x86_64 kernel built to host NetBSD rump kernel components.
//!
//! The modules that need bare metal only build for `target_os = "none"`; the pure ones (boot
//! information parsing, the frame bitmap) also build and test on the host with `cargo test`.
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
#[cfg(target_os = "none")]
pub mod firmware;
#[cfg(target_os = "none")]
pub mod init;
#[cfg(target_os = "none")]
#[deny(unsafe_code)]
pub mod interrupts;
#[cfg(target_os = "none")]
#[deny(unsafe_code)]
pub mod net;
#[cfg(target_os = "none")]
pub mod pci;
#[cfg(target_os = "none")]
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
