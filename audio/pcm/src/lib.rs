//! PCM audio for the kernel's `tone`, `play` and `mixer` commands and for the host-side checks:
//! [`wav`] reads and writes RIFF/WAVE files, [`tone`] makes sine tones. No I/O, no `unsafe`;
//! the parser takes untrusted bytes and never panics.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod tone;
pub mod wav;
