//! Sparse files archived by GNU tar in all four of its sparse formats (old GNU `S`, pax 0.0, 0.1
//! and 1.0), plain and LZ4-compressed: real names, real sizes, holes read as zeros, and the
//! entries after them kept. A malformed map skips its entry and nothing else.

mod common;

use std::fs::{self, File};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use common::{
    content, fix_checksum, lz4_compress, pax_record, tar_create, tar_listing, write_file,
    TarBuilder, TempDir,
};
use initrd::{DiagnosticKind, Format, Initrd, NodeKind, NodeRef, SparseMapError};

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

/// Pax records, key and value.
type Records = &'static [(&'static str, &'static str)];

/// A pax sparse member: its extended header records, header name and stored bytes.
fn pax_sparse(builder: &mut TarBuilder, records: &[(&str, &str)], name: &str, stored: &[u8]) {
    let records: String = records
        .iter()
        .map(|(key, value)| pax_record(key, value))
        .collect();
    builder.entry(b"PaxHeaders/sparse", b'x', b"", records.as_bytes());
    builder.file(name, stored);
}

/// Parses `tar`, expecting one note about `entry` and the file after it intact.
fn refused(tar: &[u8], entry: &str) -> DiagnosticKind {
    let (initrd, diagnostics) = Initrd::parse(tar).unwrap();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let diagnostic = &diagnostics[0];
    assert!(!diagnostic.is_damage(), "{diagnostic}");
    assert_eq!(diagnostic.entry.as_deref(), Some(entry));
    assert!(
        diagnostic.to_string().contains("malformed sparse map"),
        "{diagnostic}"
    );
    assert!(initrd.lookup(entry).is_none());
    assert!(initrd
        .walk()
        .all(|(_, node)| !node.path().contains("GNUSparse")));
    assert_eq!(initrd.data("after").unwrap(), b"after");
    diagnostic.kind.clone()
}

#[test]
fn malformed_pax_maps_skip_the_entry() {
    let cases: &[(Records, &[u8], SparseMapError)] = &[
        (
            &[("GNU.sparse.size", "100"), ("GNU.sparse.map", "50,10,0,10")],
            &[1; 20],
            SparseMapError::Unordered { offset: 0 },
        ),
        (
            &[("GNU.sparse.size", "100"), ("GNU.sparse.map", "95,10")],
            &[1; 10],
            SparseMapError::PastRealSize {
                offset: 95,
                length: 10,
                real_size: 100,
            },
        ),
        (
            &[("GNU.sparse.size", "100"), ("GNU.sparse.map", "0,10,50")],
            &[1; 10],
            SparseMapError::Incomplete,
        ),
        (
            &[("GNU.sparse.size", "100"), ("GNU.sparse.map", "0,1x")],
            &[1; 10],
            SparseMapError::UnreadableNumber,
        ),
        (
            &[
                ("GNU.sparse.size", "100"),
                ("GNU.sparse.numblocks", "3"),
                ("GNU.sparse.map", "0,10"),
            ],
            &[1; 10],
            SparseMapError::Count {
                declared: 3,
                found: 1,
            },
        ),
        // 0.0: regions describe 15 bytes, the entry stores 20.
        (
            &[
                ("GNU.sparse.size", "100"),
                ("GNU.sparse.offset", "0"),
                ("GNU.sparse.numbytes", "10"),
                ("GNU.sparse.offset", "20"),
                ("GNU.sparse.numbytes", "5"),
            ],
            &[1; 20],
            SparseMapError::StoredSize {
                described: 15,
                stored: 20,
            },
        ),
        (
            &[("GNU.sparse.size", "100"), ("GNU.sparse.numbytes", "5")],
            &[1; 5],
            SparseMapError::Incomplete,
        ),
        (
            &[("GNU.sparse.map", "0,5")],
            &[1; 5],
            SparseMapError::MissingRealSize,
        ),
        (
            &[
                ("GNU.sparse.major", "2"),
                ("GNU.sparse.minor", "0"),
                ("GNU.sparse.realsize", "100"),
            ],
            &[1; 5],
            SparseMapError::UnsupportedVersion { major: 2, minor: 0 },
        ),
        // 1.0: the map declares more entries than it holds before the data ends.
        (
            &[
                ("GNU.sparse.major", "1"),
                ("GNU.sparse.minor", "0"),
                ("GNU.sparse.realsize", "100"),
            ],
            b"5\n0\n10\n",
            SparseMapError::Incomplete,
        ),
    ];
    for (records, stored, error) in cases {
        let mut builder = TarBuilder::default();
        builder.file("before", b"before");
        let mut records = records.to_vec();
        records.push(("GNU.sparse.name", "real-name"));
        pax_sparse(&mut builder, &records, "GNUSparseFile.1/real-name", stored);
        builder.file("after", b"after");
        let tar = builder.finish();
        assert_eq!(
            refused(&tar, "real-name"),
            DiagnosticKind::BadSparseMap(*error),
            "{records:?}"
        );
    }
}

/// A GNU tar `--format=gnu --sparse` archive of a file with `regions` data regions and one
/// called `after`; returns the archive and the offset of the sparse file's header.
fn old_gnu_archive(regions: u64) -> (Vec<u8>, usize) {
    let temp = TempDir::new("sparse-old-gnu");
    let source = temp.join("source");
    write_file(&source.join("after"), b"after", 0o644);
    let file = File::create(source.join("sparse.bin")).unwrap();
    file.set_len(regions * 65_536).unwrap();
    for index in 0..regions {
        file.write_all_at(b"data", index * 65_536).unwrap();
    }
    let archive = temp.join("archive.tar");
    tar_create("gnu", &source, &archive, &["--sparse"]);
    let tar = fs::read(&archive).unwrap();
    let header = (0..tar.len() / 512)
        .map(|block| block * 512)
        .find(|&offset| tar[offset + 156] == b'S' && tar[offset..].starts_with(b"./sparse.bin"))
        .expect("an old GNU sparse header");
    (tar, header)
}

#[test]
fn malformed_old_gnu_maps_skip_the_entry() {
    let (tar, header) = old_gnu_archive(3);
    let (initrd, diagnostics) = Initrd::parse(&tar).unwrap();
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(initrd.stat("sparse.bin").unwrap().size, 3 * 65_536);

    // A real size smaller than the map.
    let mut small = tar.clone();
    small[header + 483..header + 495].copy_from_slice(b"00000000010\0");
    fix_checksum(&mut small[header..header + 512]);
    assert!(matches!(
        refused(&small, "./sparse.bin"),
        DiagnosticKind::BadSparseMap(SparseMapError::PastRealSize { real_size: 8, .. })
    ));
    // A map entry that is not a number.
    let mut garbage = tar.clone();
    garbage[header + 386 + 24..header + 386 + 30].copy_from_slice(b"12x456");
    fix_checksum(&mut garbage[header..header + 512]);
    assert_eq!(
        refused(&garbage, "./sparse.bin"),
        DiagnosticKind::BadSparseMap(SparseMapError::UnreadableNumber)
    );
    // Entries swapped: out of order.
    let mut swapped = tar.clone();
    let (first, second) = (header + 386, header + 386 + 24);
    let entry: Vec<u8> = swapped[first..second].to_vec();
    swapped.copy_within(second..second + 24, first);
    swapped[second..second + 24].copy_from_slice(&entry);
    fix_checksum(&mut swapped[header..header + 512]);
    assert!(matches!(
        refused(&swapped, "./sparse.bin"),
        DiagnosticKind::BadSparseMap(SparseMapError::Unordered { .. })
    ));
}

#[test]
fn old_gnu_extension_headers_cut_short() {
    // 30 regions: the header and two extension headers, the first saying another follows.
    let (tar, header) = old_gnu_archive(30);
    let (initrd, diagnostics) = Initrd::parse(&tar).unwrap();
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(initrd.stat("sparse.bin").unwrap().size, 30 * 65_536);
    assert_ne!(tar[header + 482], 0);
    assert_ne!(tar[header + 512 + 504], 0);
    let (initrd, diagnostics) = Initrd::parse(&tar[..header + 1024 + 100]).unwrap();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0].kind, DiagnosticKind::TruncatedHeader);
    assert_eq!(diagnostics[0].offset, header as u64);
    assert_eq!(diagnostics[0].entry.as_deref(), Some("./sparse.bin"));
    assert!(initrd.lookup("after").is_some());
}

#[test]
fn terabytes_claimed_by_a_tiny_archive_cost_nothing() {
    // 2^60 bytes of hole and 5 bytes of data, in an archive of a few kilobytes.
    let size = 1u64 << 60;
    let mut builder = TarBuilder::default();
    let map = format!("2\n0\n0\n{}\n5\n", size - 5);
    let mut stored = map.into_bytes();
    stored.resize(512, 0);
    stored.extend_from_slice(b"tail!");
    let size_text = size.to_string();
    pax_sparse(
        &mut builder,
        &[
            ("GNU.sparse.major", "1"),
            ("GNU.sparse.minor", "0"),
            ("GNU.sparse.name", "huge"),
            ("GNU.sparse.realsize", &size_text),
        ],
        "GNUSparseFile.7/huge",
        &stored,
    );
    builder.file("after", b"after");
    let tar = builder.finish();
    assert!(tar.len() <= 5 * 1024, "{}", tar.len());
    let (initrd, diagnostics) = Initrd::parse(&tar).unwrap();
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let node = initrd.lookup("huge").unwrap();
    assert_eq!(node.stat().size, size);
    let mut buffer = [0xEE; 16];
    assert_eq!(node.read(size - 11, &mut buffer), Ok(11));
    assert_eq!(&buffer[..11], b"\0\0\0\0\0\0tail!");
    assert_eq!(node.read(1 << 40, &mut buffer), Ok(16));
    assert_eq!(buffer, [0; 16]);
    assert_eq!(node.read(size, &mut buffer), Ok(0));
    assert_eq!(node.read(u64::MAX, &mut buffer), Ok(0));
    assert_eq!(initrd.data("after").unwrap(), b"after");
}
