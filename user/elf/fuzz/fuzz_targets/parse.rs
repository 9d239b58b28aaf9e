//! Fuzz target: arbitrary bytes through `parse` and `parse_shebang`; every image `parse`
//! accepts must keep the promises the host tests check (`tests/common/invariants.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/invariants.rs"]
mod invariants;

fuzz_target!(|data: &[u8]| {
    if let Ok(image) = elf_loader::parse(data) {
        invariants::check_image(&image, data.len() as u64);
    }
    if let Some(Ok(shebang)) = elf_loader::parse_shebang(data) {
        assert!(!shebang.interpreter.is_empty());
        assert!(!shebang.interpreter.contains([' ', '\t', '\n', '\0']));
    }
});
