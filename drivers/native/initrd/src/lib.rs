//! Initrd reader: the kernel's first file system, read from a boot-loader module.
//!
//! Accepts a tar archive (ustar, GNU or pax), optionally compressed as LZ4 frames, and builds a
//! read-only ramfs index over it. File data is never copied out of an uncompressed archive;
//! for LZ4 the decompressed buffer is the backing store. Parsing is lenient: damage keeps what
//! came before it and is reported as a [`Diagnostic`]. This crate does no I/O, has no global
//! state, contains no unsafe code and must not panic on any input.
//!
//! ```no_run
//! # fn demo(module: &'static [u8]) -> Result<(), initrd::Error> {
//! let (initrd, diagnostics) = initrd::Initrd::parse(module)?;
//! for diagnostic in &diagnostics {
//!     // e.g. "duplicate entry replaces an earlier file at byte 1024, in entry `etc/motd`"
//!     let _ = diagnostic;
//! }
//! let motd = initrd.data("/etc/motd");
//! # let _ = motd; Ok(()) }
//! ```
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod error;
mod initrd;
mod lz4;
mod node;
mod path;
mod pax;
mod sparse;
mod tar;

pub use error::{Diagnostic, DiagnosticKind, Error, FsError, Lz4Damage, SparseMapError};
pub use initrd::{Format, Initrd, DEFAULT_MAX_DECOMPRESSED, MAX_SYMLINK_HOPS};
pub use node::{NodeId, NodeKind, NodeRef, ReadDir, Stat, Walk};
