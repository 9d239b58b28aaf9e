//! Fuzz target: arbitrary argument and environment strings through `stack::build`; a stack it
//! returns must have the promised size and alignment and start with the right argc.
#![no_main]

use elf_loader::stack::{build, AT_PAGESZ};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First byte: how many of the NUL-separated pieces are arguments; the rest, environment.
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let pieces: Vec<&[u8]> = rest.split(|&byte| byte == 0).collect();
    let (argv, envp) = pieces.split_at(usize::from(split).min(pieces.len()));
    let top = 0x7fff_ffff_e000;
    let Ok(image) = build(top, argv, envp, b"/fuzz", &[(AT_PAGESZ, 4096)], [7; 16]) else {
        return;
    };
    assert_eq!(image.sp % 16, 0);
    assert_eq!(image.bytes.len() as u64, top - image.sp);
    let argc = u64::from_le_bytes(image.bytes[..8].try_into().unwrap());
    assert_eq!(argc, argv.len() as u64);
});
