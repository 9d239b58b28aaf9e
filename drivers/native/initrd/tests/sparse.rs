//! Sparse files archived by GNU tar in all four of its sparse formats (old GNU `S`, pax 0.0, 0.1
//! and 1.0), plain and LZ4-compressed: real names, real sizes, holes read as zeros, and the
//! entries after them kept.

mod common;

use std::fs::{self, File};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use common::{content, lz4_compress, tar_create, tar_listing, write_file, TempDir};
use initrd::{Format, Initrd, NodeKind, NodeRef};

/// A sparse source file: its apparent size and what is written where; the rest are holes.
struct Spec {
    path: &'static str,
    size: u64,
    writes: Vec<(u64, Vec<u8>)>,
}

const GIB: u64 = 1 << 30;
/// Files up to this size are compared whole against the source file on disk.
const WHOLE: u64 = 64 << 20;

fn specs() -> Vec<Spec> {
    let spec = |path, size, writes: &[(u64, usize)]| Spec {
        path,
        size,
        writes: writes
            .iter()
            .enumerate()
            .map(|(index, &(offset, length))| (offset, content(index as u64 + 1, length)))
            .collect(),
    };
    vec![
        spec(
            "sparse/regions.bin",
            300_000,
            &[(0, 5000), (100_000, 20_000), (250_000, 50_000)],
        ),
        spec("sparse/ends-in-hole.bin", 1_000_000, &[(10_000, 3000)]),
        spec("sparse/only-hole.bin", 200_000, &[]),
        // 30 regions: 4 in the old GNU header, then two extension headers of 21.
        Spec {
            path: "sparse/many-regions.bin",
            size: 30 * 65_536,
            writes: (0..30)
                .map(|index| (index * 65_536 + 100, content(index, 700)))
                .collect(),
        },
        // Offsets past 4 GiB, and past 8 GiB, where old GNU numbers need base-256.
        spec(
            "sparse/huge.bin",
            9 * GIB,
            &[
                (0, 4096),
                (4 * GIB + 12_345, 10_000),
                (8 * GIB + 777, 5000),
                (9 * GIB - 1000, 1000),
            ],
        ),
    ]
}

/// Writes the sparse files and ordinary files before and after them; returns the specs.
fn make_source(root: &Path) -> Vec<Spec> {
    write_file(
        &root.join("a-before.txt"),
        b"before the sparse files\n",
        0o644,
    );
    write_file(
        &root.join("z-after.txt"),
        b"after the sparse files\n",
        0o644,
    );
    let specs = specs();
    for spec in &specs {
        let path = root.join(spec.path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let file = File::create(&path).unwrap();
        file.set_len(spec.size).unwrap();
        for (offset, bytes) in &spec.writes {
            file.write_all_at(bytes, *offset).unwrap();
        }
    }
    let huge = fs::metadata(root.join("sparse/huge.bin")).unwrap();
    assert!(
        huge.blocks() * 512 < 64 << 20,
        "the temporary directory's file system does not keep holes"
    );
    fs::hard_link(
        root.join("sparse/regions.bin"),
        root.join("sparse/regions-link.bin"),
    )
    .unwrap();
    specs
}

/// The expected bytes of `spec` in `[start, start + length)`.
fn expected(spec: &Spec, start: u64, length: usize) -> Vec<u8> {
    let mut bytes = vec![0; length];
    let end = start + length as u64;
    for (offset, data) in &spec.writes {
        let data_end = offset + data.len() as u64;
        if *offset < end && data_end > start {
            let from = start.max(*offset);
            let to = end.min(data_end);
            bytes[(from - start) as usize..(to - start) as usize]
                .copy_from_slice(&data[(from - offset) as usize..(to - offset) as usize]);
        }
    }
    bytes
}

/// The whole file through `read`, in uneven pieces.
fn read_all(node: NodeRef<'_>) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buffer = vec![0; 70_001];
    loop {
        let count = node.read(all.len() as u64, &mut buffer).unwrap();
        if count == 0 {
            return all;
        }
        all.extend_from_slice(&buffer[..count]);
    }
}

fn check_file(initrd: &Initrd<'_>, spec: &Spec, source: &Path, label: &str) {
    let node = initrd
        .lookup(spec.path)
        .unwrap_or_else(|| panic!("{label}: `{}` missing", spec.path));
    let stat = node.stat();
    assert_eq!(stat.kind, NodeKind::File, "{label}: {}", spec.path);
    assert_eq!(stat.size, spec.size, "{label}: size of {}", spec.path);
    assert_eq!(stat.mode, 0o644, "{label}: {}", spec.path);
    assert_eq!(stat.mtime, 1_700_000_000, "{label}: {}", spec.path);
    if spec.size <= WHOLE {
        let on_disk = fs::read(source.join(spec.path)).unwrap();
        assert!(
            read_all(node) == on_disk,
            "{label}: content of {}",
            spec.path
        );
        return;
    }
    // Too big to compare whole in every variant: every written byte, the edges of each
    // region, and windows across holes; `huge_file_read_whole` reads one variant entirely.
    let mut windows = vec![(0, 100), (spec.size - 100, 200), (GIB, 1 << 20)];
    for (offset, data) in &spec.writes {
        windows.push((offset.saturating_sub(5000), data.len() + 10_000));
    }
    for (start, length) in windows {
        let mut buffer = vec![0xEE; length];
        let count = node.read(start, &mut buffer).unwrap();
        let length = length.min((spec.size - start) as usize);
        assert_eq!(count, length, "{label}: read at {start}");
        assert!(
            buffer[..count] == expected(spec, start, count),
            "{label}: {} at {start}",
            spec.path
        );
    }
}

/// Archives the tree in one sparse format and checks the plain and the LZ4 archive.
fn round_trip(format: &str, options: &[&str]) {
    let temp = TempDir::new(&format!("sparse-{format}"));
    let source = temp.join("source");
    let specs = make_source(&source);
    let archive = temp.join("archive.tar");
    tar_create(format, &source, &archive, options);
    let listing = tar_listing(&archive);
    assert!(listing.len() >= 9, "{listing:?}");
    let compressed = temp.join("archive.tar.lz4");
    lz4_compress(&archive, &compressed, &[]);
    for (path, expected_format) in [(&archive, Format::Tar), (&compressed, Format::Lz4Tar)] {
        let label = format!("{format} {options:?} {expected_format:?}");
        let bytes = fs::read(path).unwrap();
        let (initrd, diagnostics) = Initrd::parse(&bytes).unwrap();
        assert!(diagnostics.is_empty(), "{label}: {diagnostics:?}");
        assert_eq!(initrd.format(), expected_format);
        // Names and sizes as GNU tar lists them; nothing under a `GNUSparseFile.N/` name.
        for entry in &listing {
            let node = initrd
                .lookup(&entry.path)
                .unwrap_or_else(|| panic!("{label}: `{}` missing", entry.path));
            if entry.type_char == '-' {
                assert_eq!(node.stat().size, entry.size, "{label}: {}", entry.path);
            }
        }
        assert!(initrd
            .walk()
            .all(|(_, node)| !node.path().contains("GNUSparse")));
        for spec in &specs {
            check_file(&initrd, spec, &source, &label);
        }
        let link = initrd.lookup("sparse/regions-link.bin").unwrap();
        assert!(link.is_sparse());
        assert_eq!(
            read_all(link),
            fs::read(source.join("sparse/regions.bin")).unwrap()
        );
        assert_eq!(
            initrd.data("z-after.txt").unwrap(),
            b"after the sparse files\n"
        );
        assert_eq!(
            initrd.data("a-before.txt").unwrap(),
            b"before the sparse files\n"
        );
    }
}

#[test]
fn old_gnu_sparse() {
    round_trip("gnu", &["--sparse"]);
}

#[test]
fn pax_sparse_0_0() {
    round_trip("posix", &["--sparse", "--sparse-version=0.0"]);
}

#[test]
fn pax_sparse_0_1() {
    round_trip("posix", &["--sparse", "--sparse-version=0.1"]);
}

#[test]
fn pax_sparse_1_0() {
    round_trip("posix", &["--sparse", "--sparse-version=1.0"]);
}

#[test]
fn huge_file_read_whole() {
    let temp = TempDir::new("sparse-whole");
    let source = temp.join("source");
    let specs = make_source(&source);
    let spec = specs.iter().find(|spec| spec.size > WHOLE).unwrap();
    for (format, options) in [
        ("gnu", &["--sparse"][..]),
        ("posix", &["--sparse", "--sparse-version=1.0"]),
    ] {
        let archive = temp.join("archive.tar");
        tar_create(format, &source, &archive, options);
        let bytes = fs::read(&archive).unwrap();
        let (initrd, diagnostics) = Initrd::parse(&bytes).unwrap();
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let node = initrd.lookup(spec.path).unwrap();
        assert!(node.data().is_none());
        assert!(initrd.data(spec.path).is_err());
        // Every byte, in 8 MiB reads, against what was written.
        let mut buffer = vec![0; 8 << 20];
        let mut offset = 0;
        while offset < spec.size {
            let count = node.read(offset, &mut buffer).unwrap();
            assert!(count > 0);
            assert!(
                buffer[..count] == expected(spec, offset, count),
                "{format}: at {offset}"
            );
            offset += count as u64;
        }
        assert_eq!(offset, spec.size);
    }
}
