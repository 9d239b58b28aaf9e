//! Seeded mutation test: thousands of damaged archives must parse without panicking or hanging.
//!
//! The fuzz target in `fuzz/` explores much further; this keeps a deterministic slice of that
//! in every `cargo test` run, over its committed seeds (`fuzz/seeds/`) too.

mod common;

use std::fs;
use std::os::unix::fs::FileExt;

use common::{fix_checksum, lz4_compress, tar_create, write_file, TarBuilder, TempDir};
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
    seeds.extend(sparse_seeds(&temp));
    seeds
}

/// GNU tar archives of two small sparse files, in each sparse format, plain and LZ4.
fn sparse_seeds(temp: &TempDir) -> Vec<Vec<u8>> {
    let source = temp.join("sparse");
    let file = |name: &str, size: u64, writes: &[(u64, &[u8])]| {
        write_file(&source.join(name), b"", 0o644);
        let file = fs::OpenOptions::new()
            .write(true)
            .open(source.join(name))
            .unwrap();
        file.set_len(size).unwrap();
        for (offset, data) in writes {
            file.write_all_at(data, *offset).unwrap();
        }
    };
    file("holes.bin", 20_000, &[(0, b"head"), (9000, b"middle")]);
    // Seven regions: the old GNU header holds four, an extension header the rest. GNU tar
    // archives a file as sparse only if it has fewer blocks than its size needs: 4 KiB apart.
    let regions: Vec<(u64, &[u8])> = (0..7).map(|index| (index * 8192 + 3, &b"rr"[..])).collect();
    file("regions.bin", 7 * 8192, &regions);
    write_file(&source.join("z-after"), b"after\n", 0o644);
    let mut seeds = Vec::new();
    for (format, version) in [
        ("gnu", None),
        ("posix", Some("0.0")),
        ("posix", Some("0.1")),
        ("posix", Some("1.0")),
    ] {
        // Holes found by reading, in 512-byte blocks, and no padding: small seeds.
        let mut options = vec!["--sparse", "--hole-detection=raw", "--blocking-factor=1"];
        let version = version.map(|version| format!("--sparse-version={version}"));
        options.extend(version.as_deref());
        let archive = temp.join("sparse.tar");
        tar_create(format, &source, &archive, &options);
        let tar = fs::read(&archive).unwrap();
        lz4_compress(&archive, &temp.join("sparse.lz4"), &["-B4"]);
        for seed in [tar, fs::read(temp.join("sparse.lz4")).unwrap()] {
            let (initrd, diagnostics) = Initrd::parse(&seed).unwrap();
            assert!(
                diagnostics.is_empty(),
                "{format} {version:?}: {diagnostics:?}"
            );
            let holes = initrd.lookup("holes.bin").unwrap();
            assert!(holes.is_sparse(), "{format} {version:?}");
            assert_eq!(holes.stat().size, 20_000);
            let mut buffer = [0; 8];
            assert_eq!(holes.read(8998, &mut buffer), Ok(8));
            assert_eq!(&buffer, b"\0\0middle");
            let regions = initrd.lookup("regions.bin").unwrap();
            assert!(regions.is_sparse(), "{format} {version:?}");
            assert_eq!(regions.stat().size, 7 * 8192);
            assert_eq!(initrd.data("z-after").unwrap(), b"after\n");
            seeds.push(seed);
        }
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
                    // Mode, ids, size, mtime; old GNU sparse map entries and real size.
                    let field = [100, 108, 116, 124, 136, 386, 398, 410, 483][rng.below(9)];
                    let digit = b'0' + rng.below(10) as u8;
                    input[block + field + rng.below(11)] = digit;
                    fix_checksum(&mut input[block..block + 512]);
                }
            }
            5 => {
                let block = rng.below(length / 512) * 512;
                if block + 512 <= length {
                    input[block + 156] = b"0125LKxgV3DS"[rng.below(12)];
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
        let end = node.stat().size;
        let _ = node.read(end.saturating_sub(40), &mut buffer);
        let _ = node.read(end / 2, &mut buffer);
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
    for iteration in 0..8000 {
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

#[test]
fn committed_fuzz_seeds() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let mut count = 0;
    for entry in fs::read_dir(&directory).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let seed = fs::read(&path).unwrap();
        match Initrd::parse(&seed) {
            Err(error) => assert_eq!(
                (name.as_str(), error),
                ("skippable-then-zstd", initrd::Error::Zstd)
            ),
            Ok((initrd, diagnostics)) => {
                assert!(diagnostics.is_empty(), "{name}: {diagnostics:?}");
                for file in ["holes.bin", "regions.bin"] {
                    assert!(initrd.lookup(file).unwrap().is_sparse(), "{name}: {file}");
                }
                assert_eq!(initrd.data("z-after").unwrap(), b"after\n");
            }
        }
        let mut rng = Rng(count + 1);
        for _ in 0..200 {
            let mut input = seed.clone();
            mutate(&mut rng, &mut input);
            exercise(&input);
        }
        count += 1;
    }
    assert_eq!(count, 8, "seeds in {}", directory.display());
}
