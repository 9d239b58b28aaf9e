//! The Linux x86_64 user ABI as data: what a process expects of the kernel, in numbers and
//! byte layouts.
//!
//! System call numbers and names ([`syscall`]), error numbers ([`errno`]), signals and the
//! handler frame ([`signal`], [`signal_frame`]), the structures system calls copy in and out
//! with their exact x86_64 layouts, and the flag and request constants. Every structure has
//! `to_bytes` and a `from_bytes` that returns `None` on short input instead of panicking, so the
//! kernel can decode user memory without unsafe code. Values are facts of the ABI; the tests
//! compare them with the host's C headers and with offsets a C compiler reports.
//!
//! This crate holds no state, does no I/O, and contains no unsafe code.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod bytes;

pub mod dirent;
pub mod errno;
pub mod fcntl;
pub mod io;
pub mod ioctl;
pub mod mman;
pub mod process;
pub mod resource;
pub mod signal;
pub mod signal_frame;
pub mod stat;
pub mod syscall;
pub mod termios;
pub mod time;
pub mod utsname;
