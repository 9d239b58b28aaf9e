//! The terminal line discipline (Linux's `N_TTY`) as a pure state machine.
//!
//! The kernel wraps one [`LineDiscipline`] around each terminal (the serial port): every byte
//! the device receives goes through [`LineDiscipline::receive`], which edits the input line,
//! says what to echo and which signal to send to the foreground process group, and whether to
//! wake readers; `read` hands out lines (canonical mode) or bytes (raw mode); everything
//! written to the terminal, echo included, goes through [`LineDiscipline::process_output`].
//! The modes are the kernel's `struct termios` from `linux-abi`, set with `TCSETS` and read
//! with `TCGETS`.
//!
//! What the kernel keeps for itself: the device, the foreground process group and session,
//! blocking and the `VTIME` timer (the discipline exposes [`LineDiscipline::read_ready`],
//! `VMIN` and `VTIME` as data), and holding output while [`LineDiscipline::output_stopped`].
//!
//! No I/O, no clocks, no unsafe code; behaviour follows a Linux pseudo-terminal, which the
//! tests use as a reference peer when the host has one.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod discipline;
mod input;
mod output;

pub use discipline::{Flow, Input, LineDiscipline, ReadOutcome, Signal, BUFFER_SIZE};
