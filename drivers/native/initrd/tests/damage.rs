//! Damaged, hostile and degenerate inputs: each keeps what precedes the damage and reports it.

mod common;

use std::fs;

use common::{
    fix_checksum, lz4_compress, make_tree, pax_record, run, tar_create, TarBuilder, TempDir,
};
use initrd::{Diagnostic, DiagnosticKind, Error, FsError, Initrd, Lz4Damage, NodeKind};

/// Three files; returns the archive and the header offsets of the second and third.
fn three_files() -> (Vec<u8>, usize, usize) {
    let mut builder = TarBuilder::default();
    builder.file("first.txt", &[b'1'; 100]);
    let second = builder.file("second.txt", &[b'2'; 5000]);
    let third = builder.file("third.txt", b"3");
    (builder.finish(), second, third)
}

fn only_damage(diagnostics: &[Diagnostic]) -> &Diagnostic {
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert!(diagnostics[0].is_damage());
    &diagnostics[0]
}

fn compress(tar: &[u8], options: &[&str]) -> Vec<u8> {
    let temp = TempDir::new("compress");
    fs::write(temp.join("in"), tar).unwrap();
    lz4_compress(&temp.join("in"), &temp.join("out"), options);
    fs::read(temp.join("out")).unwrap()
}

#[test]
fn truncated_archive_keeps_earlier_entries() {
    let (tar, second, _) = three_files();
    let (initrd, diagnostics) = Initrd::parse(&tar[..second + 512 + 1000]).unwrap();
    let damage = only_damage(&diagnostics);
    assert_eq!(
        damage.kind,
        DiagnosticKind::DataPastEnd {
            size: 5000,
            available: 1000
        }
    );
    assert_eq!(damage.offset, second as u64);
    assert_eq!(damage.entry.as_deref(), Some("second.txt"));
    assert_eq!(damage.to_string(), "entry size 5000 runs past the end of the archive (1000 bytes left) at byte 1024, in entry `second.txt`");
    assert_eq!(initrd.data("first.txt").unwrap(), &[b'1'; 100]);
    assert!(initrd.lookup("second.txt").is_none());

    // Cut inside a header, and cut exactly before the end marker.
    let (_, diagnostics) = Initrd::parse(&tar[..second + 100]).unwrap();
    assert_eq!(
        only_damage(&diagnostics).kind,
        DiagnosticKind::TruncatedHeader
    );
    let end = tar.len() - 1024;
    let (initrd, diagnostics) = Initrd::parse(&tar[..end]).unwrap();
    assert_eq!(
        only_damage(&diagnostics).kind,
        DiagnosticKind::MissingEndMarker
    );
    assert_eq!(initrd.data("third.txt").unwrap(), b"3");
}

#[test]
fn truncated_gnu_tar_archive() {
    let temp = TempDir::new("truncated");
    let source = temp.join("source");
    make_tree(&source, true);
    tar_create("gnu", &source, &temp.join("a.tar"), &[]);
    let tar = fs::read(temp.join("a.tar")).unwrap();
    for cut in [tar.len() / 3, tar.len() / 2, tar.len() - 5000] {
        let (initrd, diagnostics) = Initrd::parse(&tar[..cut]).unwrap();
        let damage = only_damage(&diagnostics);
        assert!(damage.offset <= cut as u64, "{damage}");
        assert!(initrd.walk().count() > 1);
    }
}

#[test]
fn bad_header_checksum_stops_there() {
    let (mut tar, second, _) = three_files();
    tar[second + 3] ^= 0x20; // "second" -> "secOnd", checksum no longer matches
    let (initrd, diagnostics) = Initrd::parse(&tar).unwrap();
    let damage = only_damage(&diagnostics);
    assert!(matches!(
        damage.kind,
        DiagnosticKind::BadHeaderChecksum {
            stored: Some(_),
            ..
        }
    ));
    assert_eq!(damage.offset, second as u64);
    assert_eq!(damage.entry.as_deref(), Some("secOnd.txt"));
    assert!(initrd.lookup("first.txt").is_some());
    assert!(initrd.lookup("third.txt").is_none());
}

#[test]
fn signed_checksum_is_accepted() {
    let mut builder = TarBuilder::default();
    let offset = builder.file("caf\u{e9}.txt", b"x");
    let mut tar = builder.finish();
    // Recompute the checksum with signed bytes, as some historical tars did.
    let header = &mut tar[offset..offset + 512];
    header[148..156].copy_from_slice(b"        ");
    let sum: i32 = header.iter().map(|&byte| i32::from(byte as i8)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let (initrd, diagnostics) = Initrd::parse(&tar).unwrap();
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert!(initrd.lookup("caf\u{e9}.txt").is_some());
}

#[test]
fn size_past_end() {
    let (mut tar, _, third) = three_files();
    let header = &mut tar[third..third + 512];
    header[124..136].copy_from_slice(b"77777777777\0");
    fix_checksum(header);
    let (initrd, diagnostics) = Initrd::parse(&tar).unwrap();
    let damage = only_damage(&diagnostics);
    assert!(matches!(
        damage.kind,
        DiagnosticKind::DataPastEnd {
            size: 0o77777777777,
            ..
        }
    ));
    assert_eq!(damage.entry.as_deref(), Some("third.txt"));
    assert_eq!(initrd.data("second.txt").unwrap().len(), 5000);
}

#[test]
fn dot_dot_paths_are_skipped() {
    let mut builder = TarBuilder::default();
    builder.file("a", b"a");
    builder.file("../evil", b"evil");
    builder.file("b/../../x", b"x");
    builder.file("ok/./fine/", b"");
    builder.file("c", b"c");
    let tar = builder.finish();
    let (initrd, diagnostics) = Initrd::parse(&tar).unwrap();
    assert_eq!(diagnostics.len(), 2, "{diagnostics:?}");
    assert!(diagnostics
        .iter()
        .all(|d| d.kind == DiagnosticKind::UnsafePath && !d.is_damage()));
    assert_eq!(diagnostics[0].entry.as_deref(), Some("../evil"));
    let names: Vec<String> = initrd.walk().map(|(_, node)| node.path()).collect();
    assert_eq!(names, ["", "a", "c", "ok", "ok/fine"]);
    assert_eq!(
        initrd.lookup("ok/fine").unwrap().kind(),
        NodeKind::Directory
    );
    // Lookups with `..` stay inside the root.
    assert_eq!(initrd.lookup("../../a").unwrap().path(), "a");
}

#[test]
fn absolute_paths_become_relative() {
    let mut builder = TarBuilder::default();
    builder.file("/abs/file", b"abs");
    builder.file("//twice//slashed", b"two");
    let tar = builder.finish();
    let (initrd, diagnostics) = Initrd::parse(&tar).unwrap();
    assert_eq!(diagnostics.len(), 2);
    assert!(diagnostics
        .iter()
        .all(|d| d.kind == DiagnosticKind::AbsolutePathStripped));
    assert_eq!(initrd.data("abs/file").unwrap(), b"abs");
    assert_eq!(initrd.data("/twice/slashed").unwrap(), b"two");

    // GNU tar keeps a leading '/' with -P.
    let temp = TempDir::new("absolute");
    let file = temp.join("file.txt");
    fs::write(&file, b"absolute\n").unwrap();
    let archive = temp.join("a.tar");
    run(
        "tar",
        &[
            "--format=ustar",
            "-P",
            "-cf",
            archive.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
        None,
    );
    let bytes = fs::read(&archive).unwrap();
    let (initrd, diagnostics) = Initrd::parse(&bytes).unwrap();
    assert!(diagnostics
        .iter()
        .any(|d| d.kind == DiagnosticKind::AbsolutePathStripped));
    assert_eq!(initrd.data(file.to_str().unwrap()).unwrap(), b"absolute\n");
}

#[test]
fn duplicate_entry_later_wins() {
    let temp = TempDir::new("duplicate");
    let source = temp.join("source");
    common::write_file(&source.join("etc/motd"), b"old\n", 0o644);
    let archive = temp.join("a.tar");
    tar_create("gnu", &source, &archive, &[]);
    common::write_file(&source.join("etc/motd"), b"new content\n", 0o600);
    // Append the changed file, as `tar -r` does when updating an archive.
    run(
        "tar",
        &[
            "--format=gnu",
            "-rf",
            archive.to_str().unwrap(),
            "./etc/motd",
        ],
        Some(&source),
    );
    let bytes = fs::read(&archive).unwrap();
    let (initrd, diagnostics) = Initrd::parse(&bytes).unwrap();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        diagnostics[0].kind,
        DiagnosticKind::Duplicate {
            replaced: NodeKind::File
        }
    );
    assert_eq!(diagnostics[0].entry.as_deref(), Some("./etc/motd"));
    assert!(!diagnostics[0].is_damage());
    assert_eq!(initrd.data("etc/motd").unwrap(), b"new content\n");
    assert_eq!(initrd.stat("etc/motd").unwrap().mode, 0o600);
}

#[test]
fn corrupt_lz4_block() {
    let (tar, _, _) = three_files();
    // Block checksums pin the damage to the block.
    let mut lz4 = compress(&tar, &["-BX", "-B4"]);
    let middle = lz4.len() / 2;
    lz4[middle] ^= 0xFF;
    let (_, diagnostics) = Initrd::parse(&lz4).unwrap();
    let damage = only_damage(&diagnostics);
    assert!(
        matches!(
            damage.kind,
            DiagnosticKind::Lz4(Lz4Damage::BlockChecksum { .. })
        ),
        "{damage}"
    );

    // Without checksums: a block whose match offset points before the output start.
    let block = [0x1F, b'a', 0xFF, 0xFF, 0, 0, 0, 0];
    let mut frame = frame_header(0x60);
    frame.extend_from_slice(&(block.len() as u32).to_le_bytes());
    frame.extend_from_slice(&block);
    frame.extend_from_slice(&0u32.to_le_bytes());
    let (initrd, diagnostics) = Initrd::parse(&frame).unwrap();
    assert_eq!(
        only_damage(&diagnostics).kind,
        DiagnosticKind::Lz4(Lz4Damage::CorruptBlock)
    );
    assert_eq!(only_damage(&diagnostics).offset, 7);
    assert_eq!(initrd.walk().count(), 1);
}

/// An LZ4 frame header with the given FLG byte (version bit included), 4 MiB blocks.
fn frame_header(flags: u8) -> Vec<u8> {
    let mut frame = 0x184D_2204u32.to_le_bytes().to_vec();
    let descriptor = [flags, 0x70];
    frame.extend_from_slice(&descriptor);
    frame.push((xxh32(&descriptor) >> 8) as u8);
    frame
}

/// xxHash32 with seed 0, written out here so the test does not share the crate's dependency.
fn xxh32(input: &[u8]) -> u32 {
    const P1: u32 = 0x9E37_79B1;
    const P2: u32 = 0x85EB_CA77;
    const P3: u32 = 0xC2B2_AE3D;
    const P4: u32 = 0x27D4_EB2F;
    const P5: u32 = 0x1656_67B1;
    assert!(input.len() < 16, "short inputs only");
    let mut hash = P5.wrapping_add(input.len() as u32);
    let mut rest = input;
    while rest.len() >= 4 {
        let word = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        hash = hash
            .wrapping_add(word.wrapping_mul(P3))
            .rotate_left(17)
            .wrapping_mul(P4);
        rest = &rest[4..];
    }
    for &byte in rest {
        hash = hash
            .wrapping_add(u32::from(byte).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    hash ^= hash >> 15;
    hash = hash.wrapping_mul(P2);
    hash ^= hash >> 13;
    hash = hash.wrapping_mul(P3);
    hash ^ (hash >> 16)
}

#[test]
fn truncated_lz4_frame_names_the_cut_entry() {
    let temp = TempDir::new("truncated-lz4");
    // Several 64 KiB blocks, so the cut falls after some of them decoded.
    let noise: Vec<u8> = common::content(7, 500_000);
    let mut builder = TarBuilder::default();
    builder.file("before.txt", b"intact\n");
    builder.file("noise.bin", &noise[100_000..]);
    builder.file("after.txt", b"lost\n");
    let archive = builder.finish();
    fs::write(temp.join("a.tar"), &archive).unwrap();
    lz4_compress(&temp.join("a.tar"), &temp.join("a.lz4"), &["-B4"]);
    let lz4 = fs::read(temp.join("a.lz4")).unwrap();
    let (initrd, diagnostics) = Initrd::parse(&lz4[..lz4.len() / 2]).unwrap();
    let damage = only_damage(&diagnostics);
    assert_eq!(damage.kind, DiagnosticKind::Lz4(Lz4Damage::Truncated));
    assert_eq!(damage.entry.as_deref(), Some("noise.bin"));
    assert!(
        damage
            .to_string()
            .contains("LZ4 frame truncated at compressed byte"),
        "{damage}"
    );
    assert_eq!(initrd.data("before.txt").unwrap(), b"intact\n");
    assert!(initrd.lookup("noise.bin").is_none());
}

#[test]
fn bad_content_checksum_keeps_data() {
    let (tar, _, _) = three_files();
    let mut lz4 = compress(&tar, &[]);
    let last = lz4.len() - 1;
    lz4[last] ^= 1;
    let (initrd, diagnostics) = Initrd::parse(&lz4).unwrap();
    let damage = only_damage(&diagnostics);
    assert!(matches!(
        damage.kind,
        DiagnosticKind::Lz4(Lz4Damage::ContentChecksum { .. })
    ));
    assert_eq!(damage.offset, (lz4.len() - 4) as u64);
    assert_eq!(initrd.data("third.txt").unwrap(), b"3");
}

#[test]
fn unknown_format() {
    let error = Initrd::parse(b"hello, this is not an archive at all").unwrap_err();
    assert_eq!(
        error,
        Error::UnknownFormat {
            first_bytes: *b"hell"
        }
    );
    assert!(error.to_string().starts_with("unknown format"));
    assert!(matches!(
        Initrd::parse(&[0x42; 2000]),
        Err(Error::UnknownFormat { .. })
    ));
    assert!(matches!(
        Initrd::parse(b"ab"),
        Err(Error::UnknownFormat { .. })
    ));
    // LZ4 around something that is not tar.
    let lz4 = compress(&[b'x'; 4000], &[]);
    assert!(matches!(
        Initrd::parse(&lz4),
        Err(Error::UnknownCompressedFormat { .. })
    ));
    // The legacy LZ4 format is named as such.
    let legacy = compress(&[b'x'; 4000], &["-l"]);
    assert_eq!(Initrd::parse(&legacy).unwrap_err(), Error::Lz4Legacy);
}

#[test]
fn empty_archives() {
    assert_eq!(Initrd::parse(b"").unwrap_err(), Error::Empty);
    let temp = TempDir::new("empty");
    let archive = temp.join("empty.tar");
    run(
        "tar",
        &[
            "--format=ustar",
            "-cf",
            archive.to_str().unwrap(),
            "-T",
            "/dev/null",
        ],
        None,
    );
    let tar = fs::read(&archive).unwrap();
    let (initrd, diagnostics) = Initrd::parse(&tar).unwrap();
    assert!(diagnostics.is_empty());
    assert_eq!(initrd.walk().count(), 1);
    assert_eq!(initrd.read_dir("/").unwrap().count(), 0);
    let compressed = compress(&tar, &[]);
    let (initrd, diagnostics) = Initrd::parse(&compressed).unwrap();
    assert!(diagnostics.is_empty());
    assert_eq!(initrd.node_count(), 1);
    assert_eq!(
        Initrd::parse(&compress(b"", &[])).unwrap_err(),
        Error::Empty
    );
}

#[test]
fn pax_global_and_local_headers() {
    let mut builder = TarBuilder::default();
    let global = pax_record("uid", "4242");
    builder.entry(b"pax_global_header", b'g', b"", global.as_bytes());
    let long_path = format!("dir/{}", "p".repeat(200));
    let local = format!(
        "{}{}",
        pax_record("path", &long_path),
        pax_record("mtime", "1234567890.123456789")
    );
    builder.entry(b"PaxHeaders/x", b'x', b"", local.as_bytes());
    builder.file("truncated-name", b"pax");
    builder.file("plain", b"plain");
    let tar = builder.finish();
    let (initrd, diagnostics) = Initrd::parse(&tar).unwrap();
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let stat = initrd.stat(&long_path).unwrap();
    assert_eq!((stat.uid, stat.mtime, stat.size), (4242, 1_234_567_890, 3));
    assert_eq!(initrd.stat("plain").unwrap().uid, 4242);
    assert!(initrd.lookup("truncated-name").is_none());

    // A record whose length is wrong is damage.
    let mut builder = TarBuilder::default();
    builder.entry(b"PaxHeaders/x", b'x', b"", b"99 path=x\n");
    builder.file("y", b"");
    let (_, diagnostics) = Initrd::parse(&builder.finish()).unwrap();
    assert_eq!(only_damage(&diagnostics).kind, DiagnosticKind::BadPaxRecord);
}

#[test]
fn unreadable_pax_metadata_keeps_the_entry() {
    // GNU tar keeps such entries: an mtime with trailing garbage counts as its leading number,
    // one without a number and unreadable ids are ignored for the header's values.
    let mut builder = TarBuilder::default();
    builder.file("before", b"1");
    let garbage = pax_record("mtime", "1700000123.5garbage");
    builder.entry(b"PaxHeaders/kept", b'x', b"", garbage.as_bytes());
    let kept = builder.file("kept", b"kept");
    let none = pax_record("mtime", "garbage");
    builder.entry(b"PaxHeaders/no-time", b'x', b"", none.as_bytes());
    let no_time = builder.file("no-time", b"");
    let owner = format!("{}{}", pax_record("uid", "12x"), pax_record("gid", "-1"));
    builder.entry(b"PaxHeaders/owner", b'x', b"", owner.as_bytes());
    let owned = builder.file("owned", b"2");
    builder.file("after", b"3");
    let tar = builder.finish();
    let (initrd, diagnostics) = Initrd::parse(&tar).unwrap();
    let reports: Vec<_> = diagnostics
        .iter()
        .map(|d| (d.kind.clone(), d.offset as usize, d.entry.as_deref()))
        .collect();
    let bad = |key, leading| DiagnosticKind::BadPaxValue { key, leading };
    assert_eq!(
        reports,
        [
            (bad("mtime", Some(1_700_000_123)), kept, Some("kept")),
            (bad("mtime", None), no_time, Some("no-time")),
            (bad("uid", None), owned, Some("owned")),
            (bad("gid", None), owned, Some("owned")),
        ]
    );
    assert!(diagnostics.iter().all(|d| !d.is_damage()));
    assert_eq!(
        diagnostics[0].to_string(),
        format!("pax `mtime` value has trailing garbage; its leading number 1700000123 is used at byte {kept}, in entry `kept`")
    );
    assert_eq!(
        diagnostics[1].to_string(),
        format!("unreadable pax `mtime` value ignored; the header's value is used at byte {no_time}, in entry `no-time`")
    );
    assert_eq!(initrd.stat("kept").unwrap().mtime, 1_700_000_123);
    assert_eq!(initrd.data("kept").unwrap(), b"kept");
    // The header's values stand in for the ignored ones.
    assert_eq!(initrd.stat("no-time").unwrap().mtime, 0o14524770000);
    assert_eq!(initrd.stat("owned").unwrap().uid, 0o1750);
    assert_eq!(initrd.stat("owned").unwrap().gid, 0o1750);
    assert_eq!(initrd.data("after").unwrap(), b"3");

    // GNU tar lists the same archive with the same times, every entry kept.
    let temp = TempDir::new("pax-mtime");
    let archive = temp.join("a.tar");
    fs::write(&archive, &tar).unwrap();
    let listing = std::process::Command::new("tar")
        .args(["--numeric-owner", "--full-time", "-tvf"])
        .arg(&archive)
        .env("TZ", "UTC")
        .output()
        .expect("cannot run `tar`");
    let listing = String::from_utf8(listing.stdout).unwrap();
    let line = |name: &str| {
        listing
            .lines()
            .find(|line| line.ends_with(&format!(" {name}")))
            .unwrap_or_else(|| panic!("`{name}` not listed: {listing}"))
            .to_string()
    };
    assert!(line("kept").contains("2023-11-14 22:15:23"), "{listing}");
    assert!(line("no-time").contains("2023-11-14 22:09:04"), "{listing}");
    assert!(line("owned").contains(" 1000/1000 "), "{listing}");
    assert!(line("after").contains("2023-11-14 22:09:04"), "{listing}");
}

#[test]
fn base_256_size_field() {
    let mut builder = TarBuilder::default();
    let offset = builder.file("big-endian", b"0123456789");
    let mut tar = builder.finish();
    let header = &mut tar[offset..offset + 512];
    header[124..136].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10]);
    fix_checksum(header);
    let (initrd, diagnostics) = Initrd::parse(&tar).unwrap();
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(initrd.data("big-endian").unwrap(), b"0123456789");
}

#[test]
fn links_and_lookups() {
    let mut builder = TarBuilder::default();
    builder.file("dir/file", b"0123456789");
    builder.entry(b"dir/hard", b'1', b"dir/file", b"");
    builder.entry(b"dir/missing-hard", b'1', b"nowhere", b"");
    builder.entry(b"dir/to-dir", b'1', b"dir", b"");
    builder.entry(b"abs", b'2', b"/dir/file", b"");
    builder.entry(b"loop-a", b'2', b"loop-b", b"");
    builder.entry(b"loop-b", b'2', b"loop-a", b"");
    builder.entry(b"dir-link", b'2', b"dir", b"");
    builder.entry(b"dev", b'3', b"", b"");
    builder.file("dir/file/below-a-file", b"");
    let tar = builder.finish();
    let (initrd, diagnostics) = Initrd::parse(&tar).unwrap();
    let kinds: Vec<_> = diagnostics.iter().map(|d| d.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            DiagnosticKind::HardLinkTargetMissing {
                target: "nowhere".into()
            },
            DiagnosticKind::HardLinkToDirectory,
            DiagnosticKind::UnsupportedType { typeflag: b'3' },
            DiagnosticKind::ParentNotDirectory,
        ]
    );
    assert_eq!(initrd.data("dir/hard").unwrap(), b"0123456789");
    assert_eq!(initrd.data("abs").unwrap(), b"0123456789");
    assert_eq!(initrd.data("dir-link/file").unwrap(), b"0123456789");
    assert_eq!(
        initrd
            .read_dir("dir-link")
            .unwrap()
            .map(|n| n.name())
            .collect::<Vec<_>>(),
        ["file", "hard"]
    );
    assert_eq!(
        initrd.resolve("loop-a").unwrap_err(),
        FsError::TooManySymlinks
    );
    assert_eq!(
        initrd.resolve("dir/file/x").unwrap_err(),
        FsError::NotADirectory
    );
    assert_eq!(initrd.resolve("nope").unwrap_err(), FsError::NotFound);
    assert_eq!(initrd.data("dir").unwrap_err(), FsError::IsADirectory);
    let mut buffer = [0u8; 4];
    assert_eq!(initrd.read("dir/file", 8, &mut buffer), Ok(2));
    assert_eq!(&buffer[..2], b"89");
    assert_eq!(initrd.read("dir/file", 100, &mut buffer), Ok(0));
    assert_eq!(
        initrd.read("dir", 0, &mut buffer),
        Err(FsError::IsADirectory)
    );
    let node = initrd.lookup("dir/hard").unwrap();
    assert_eq!(initrd.node(node.id()).unwrap().path(), "dir/hard");
    let tree: Vec<(usize, String)> = initrd
        .walk()
        .map(|(depth, node)| (depth, node.name().to_string()))
        .collect();
    assert_eq!(tree[0], (0, String::new()));
    assert!(tree.contains(&(2, "hard".to_string())));
}
