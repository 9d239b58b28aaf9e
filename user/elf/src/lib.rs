//! ELF loader: what the kernel's exec needs to know about a program before it maps it.
//!
//! Three pieces, all pure functions over bytes:
//!
//! - [`parse`] checks a static ELF64 x86_64 executable (`ET_EXEC`, as Debian's busybox-static
//!   and bash-static are, or a static PIE: `ET_DYN` without `PT_INTERP`) and returns its
//!   loadable segments, entry point and the facts the auxiliary vector carries. A program that
//!   asks for a dynamic linker is refused by name.
//! - [`parse_shebang`] reads a script's `#!` line the way Linux does.
//! - [`stack::build`] lays out the initial process stack (argc, argv, envp, auxv and the
//!   strings) as bytes to copy below a stack top.
//!
//! The crate maps nothing, reads no files, keeps no state and contains no unsafe code; no
//! input makes it panic (the tests truncate, flip and mutate real binaries, and `fuzz/` runs
//! the parsers under libFuzzer).
//!
//! ```
//! # fn demo(bytes: &[u8]) -> Result<(), elf_loader::ElfError> {
//! let image = elf_loader::parse(bytes)?;
//! let bias = image.bias_for(0x5555_5555_0000);
//! for segment in &image.segments {
//!     let start = segment.vaddr.wrapping_add(bias);
//!     // map [start, start + mem_size) with segment.permissions, copy file_size bytes from
//!     // file_offset, zero the rest
//!     # let _ = start;
//! }
//! let entry = image.entry.wrapping_add(bias);
//! # let _ = entry; Ok(()) }
//! ```
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod error;
mod image;
mod shebang;
pub mod stack;

pub use error::{ElfError, ENOEXEC};
pub use image::{parse, Image, Kind, Permissions, Segment};
pub use shebang::{parse_shebang, Shebang};

/// The page size segments are mapped with; `p_offset` and `p_vaddr` must agree modulo it.
pub const PAGE_SIZE: u64 = 4096;
/// End of the user half, exclusive: no segment may reach it. Linux's `TASK_SIZE_MAX` on
/// x86_64 with 4-level paging, one page below 2^47 (a `syscall` in the last page would return
/// to a non-canonical address).
pub const USER_END: u64 = 0x0000_7fff_ffff_f000;
/// Most program headers [`parse`] accepts (real static programs have about ten).
pub const MAX_PROGRAM_HEADERS: usize = 64;
/// Most bytes of a `#!` line, its newline included.
pub const MAX_SHEBANG_LINE: usize = 256;
