//! Seeded mutation test, the fuzz target's work on stable Rust: 300 000 deterministic
//! corruptions of a real static program's headers (and of `#!` lines) go through `parse` and
//! `parse_shebang`. Every outcome must be an error or an image that keeps every promise; a
//! failure names the iteration, which reproduces it.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::invariants::check_image;
use common::{build_elf, minimal_elf, static_program, Header, Rng, PF_R, PF_W, PF_X};
use elf_loader::{parse, parse_shebang, MAX_SHEBANG_LINE, PAGE_SIZE, USER_END};

const ITERATIONS: usize = 300_000;

/// Values that sit on the edges of the checks.
fn interesting(rng: &mut Rng, file_size: u64) -> u64 {
    const EDGES: [u64; 16] = [
        0,
        1,
        8,
        56,
        64,
        PAGE_SIZE - 1,
        PAGE_SIZE,
        PAGE_SIZE + 1,
        0x40_0000,
        USER_END - PAGE_SIZE,
        USER_END,
        1 << 47,
        0xffff_8000_0000_0000,
        u64::MAX - PAGE_SIZE + 1,
        u64::MAX,
        0xffff,
    ];
    match rng.below(4) {
        0 => file_size.wrapping_add(rng.next() % 3).wrapping_sub(1),
        1 => rng.next(),
        _ => EDGES[rng.below(EDGES.len())],
    }
}

/// Applies one to four random changes to the header region `bytes[..region]`.
fn mutate(rng: &mut Rng, bytes: &mut [u8], region: usize) {
    let file_size = bytes.len() as u64;
    for _ in 0..1 + rng.below(4) {
        match rng.below(6) {
            0 => bytes[rng.below(region)] ^= 1 << rng.below(8),
            1 => bytes[rng.below(region)] = rng.next() as u8,
            2 => {
                // A whole 8-byte field of a program header or the file header.
                let at = rng.below(region / 8) * 8;
                let value = interesting(rng, file_size).to_le_bytes();
                bytes[at..at + 8].copy_from_slice(&value);
            }
            3 => {
                // A 2-byte field (counts, sizes, type, machine).
                let at = rng.below(region / 2) * 2;
                let value = (interesting(rng, file_size) as u16).to_le_bytes();
                bytes[at..at + 2].copy_from_slice(&value);
            }
            4 => {
                // One program header copied over another (duplicates, overlaps).
                let count = (region - 64) / 56;
                let (from, to) = (64 + 56 * rng.below(count), 64 + 56 * rng.below(count));
                bytes.copy_within(from..from + 56, to);
            }
            _ => {
                // A 4-byte field (p_type, p_flags): a type from the interesting set.
                let at = rng.below(region / 4) * 4;
                let types = [1u32, 3, 6, 7, 0x6474_e551, 0, 0xffff_ffff];
                bytes[at..at + 4].copy_from_slice(&types[rng.below(types.len())].to_le_bytes());
            }
        }
    }
}

fn run(seed: &[u8], label: &str) -> (usize, usize) {
    let image = parse(seed).unwrap();
    let region = 64 + 56 * usize::from(image.phdr_count);
    let mut bytes = seed.to_vec();
    let mut rng = Rng::new(0x5eed_e1f0);
    let (mut accepted, mut refused) = (0, 0);
    for iteration in 0..ITERATIONS {
        mutate(&mut rng, &mut bytes, region);
        // Now and then a cut file too.
        let length = if rng.below(8) == 0 {
            rng.below(bytes.len() + 1)
        } else {
            bytes.len()
        };
        let input = &bytes[..length];
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let result = parse(input);
            if let Ok(image) = &result {
                check_image(image, input.len() as u64);
            }
            let _ = parse_shebang(input);
            result.is_ok()
        }));
        match outcome {
            Ok(true) => accepted += 1,
            Ok(false) => refused += 1,
            Err(_) => panic!("{label}: iteration {iteration} panicked"),
        }
        bytes[..region].copy_from_slice(&seed[..region]);
    }
    (accepted, refused)
}

#[test]
fn mutated_real_program() {
    let Some(seed) = static_program() else {
        return;
    };
    let (accepted, refused) = run(seed, "gcc -static");
    println!("gcc -static: {accepted} accepted, {refused} refused");
    assert!(accepted > 1000 && refused > 1000);
}

#[test]
fn mutated_synthetic_program() {
    // Runs without gcc: a hand-made program with more headers to corrupt.
    let (mut headers, _) = minimal_elf();
    headers.push(Header {
        kind: 6,
        flags: PF_R,
        offset: 64,
        vaddr: 0x40_0040,
        file_size: 56 * 4,
        mem_size: 56 * 4,
        align: 8,
    });
    headers.push(Header {
        kind: 0x6474_e551,
        flags: PF_R | PF_W | PF_X,
        ..headers[2]
    });
    let seed = build_elf(2, 0x40_0200, &headers, 0x1100);
    let (accepted, refused) = run(&seed, "synthetic");
    assert!(accepted > 1000 && refused > 1000);
}

#[test]
fn mutated_shebang_lines() {
    let mut rng = Rng::new(0x5eb4);
    let alphabet = b" \t\n\r\0#!/abcxyz-\xc3\xa9\xff";
    for iteration in 0..20_000 {
        let length = rng.below(MAX_SHEBANG_LINE + 40);
        let mut bytes = b"#!".to_vec();
        bytes.extend((0..length).map(|_| alphabet[rng.below(alphabet.len())]));
        let outcome = parse_shebang(&bytes).expect("starts with #!");
        if let Ok(shebang) = outcome {
            let line_end = bytes
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(bytes.len());
            assert!(line_end < MAX_SHEBANG_LINE, "iteration {iteration}");
            assert!(!shebang.interpreter.is_empty(), "iteration {iteration}");
            for text in std::iter::once(&shebang.interpreter).chain(&shebang.argument) {
                assert!(!text.contains('\n') && !text.contains('\0'));
                assert!(!text.starts_with([' ', '\t']) && !text.ends_with([' ', '\t']));
            }
            assert!(!shebang.interpreter.contains([' ', '\t']));
        }
    }
}
