//! Seeded mutation test: thousands of damaged archives must parse without panicking or hanging.
//!
//! The fuzz target in `fuzz/` explores much further; this keeps a deterministic slice of that
//! in every `cargo test` run.

mod common;

use std::fs;

use common::{fix_checksum, lz4_compress, TarBuilder, TempDir};
use initrd::Initrd;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let mut builder = TarBuilder::default();
    builder.entry(b"pax_global_header", b'g', b"", b"14 uid=123456\n");
    builder.entry(
        b"././@LongLink",
        b'L',
        b"",
        format!("{}\0", "l".repeat(130)).as_bytes(),
    );
    builder.file("ignored", b"long name content");
    builder.entry(b"PaxHeaders/p", b'x', b"", b"16 path=dir/pax\n");
    builder.file("renamed-by-pax", &common::content(1, 3000));
    builder.entry(b"dir/", b'5', b"", b"");
    builder.entry(b"dir/sym", b'2', b"pax", b"");
    builder.entry(b"dir/hard", b'1', b"dir/pax", b"");
    builder.file("dir/sub/deeper/file", b"deep");
    let tar = builder.finish();

    let temp = TempDir::new("robustness");
    fs::write(temp.join("seed.tar"), &tar).unwrap();
    let mut seeds = vec![tar];
    for options in [
        &["-BX", "-B4"][..],
        &["-BD", "--content-size"],
        &["--no-frame-crc"],
    ] {
        lz4_compress(&temp.join("seed.tar"), &temp.join("seed.lz4"), options);
        seeds.push(fs::read(temp.join("seed.lz4")).unwrap());
    }
    // The seeds themselves are clean, so mutations start from deep inside the parsers.
    for seed in &seeds {
        let (initrd, diagnostics) = Initrd::parse(seed).unwrap();
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(
            initrd.data("l".repeat(130).as_str()).unwrap(),
            b"long name content"
        );
        assert_eq!(initrd.data("dir/pax").unwrap().len(), 3000);
        assert_eq!(initrd.stat("dir/hard").unwrap().uid, 123_456);
    }
    seeds
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let length = input.len();
        match rng.below(7) {
            0 => {
                let at = rng.below(length);
                if let Some(byte) = input.get_mut(at) {
                    *byte ^= 1 << rng.below(8);
                }
            }
            1 => input.truncate(rng.below(length)),
            2 => {
                let at = rng.below(length);
                let value = rng.next() as u8;
                input.insert(at.min(length), value);
            }
            3 => {
                // Overwrite a 4-byte word: block sizes, magics, checksums.
                let at = rng.below(length.saturating_sub(4));
                let word = (rng.next() as u32).to_le_bytes();
                if at + 4 <= length {
                    input[at..at + 4].copy_from_slice(&word);
                }
            }
            4 => {
                // Put digits into a tar numeric field, then make the checksum right again.
                let block = rng.below(length / 512) * 512;
                if block + 512 <= length {
                    let field = [100, 108, 116, 124, 136][rng.below(5)];
                    let digit = b'0' + rng.below(10) as u8;
                    input[block + field + rng.below(11)] = digit;
                    fix_checksum(&mut input[block..block + 512]);
                }
            }
            5 => {
                let block = rng.below(length / 512) * 512;
                if block + 512 <= length {
                    input[block + 156] = b"0125LKxgV3D"[rng.below(11)];
                    fix_checksum(&mut input[block..block + 512]);
                }
            }
            _ => {
                let from = rng.below(length);
                let count = rng.below(600).min(length - from.min(length));
                let chunk = input[from..from + count].to_vec();
                let at = rng.below(length);
                input.splice(at..at, chunk);
            }
        }
    }
}

/// Parses and touches everything the kernel could touch.
fn exercise(input: &[u8]) {
    let Ok((initrd, diagnostics)) = Initrd::parse_with_limit(input, 16 << 20) else {
        return;
    };
    for diagnostic in &diagnostics {
        let _ = diagnostic.to_string();
    }
    let mut buffer = [0u8; 64];
    for (_, node) in initrd.walk() {
        let path = node.path();
        let _ = node.stat();
        let _ = node.read(7, &mut buffer);
        let _ = initrd.resolve(&path);
        let _ = initrd.read_dir(&path).map(Iterator::count);
        assert!(
            initrd.lookup(&path).is_some(),
            "walked path `{path}` not found"
        );
    }
}

#[test]
fn mutated_archives_never_panic() {
    let seeds = seeds();
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for iteration in 0..4000 {
        let mut input = seeds[iteration % seeds.len()].clone();
        mutate(&mut rng, &mut input);
        exercise(&input);
    }
}

#[test]
fn random_inputs_never_panic() {
    let mut rng = Rng(0x0BAD_F00D_0000_0001);
    let prefixes: [&[u8]; 3] = [b"", &[0x04, 0x22, 0x4D, 0x18], &[0x5F, 0x2A, 0x4D, 0x18]];
    for iteration in 0..2000 {
        let mut input = prefixes[iteration % prefixes.len()].to_vec();
        let length = rng.below(2048);
        input.extend((0..length).map(|_| rng.next() as u8));
        if iteration % 2 == 0 && input.len() >= 512 {
            fix_checksum(&mut input[..512]);
        }
        exercise(&input);
    }
}
