//! Archives made by GNU tar and the lz4 command, checked entry by entry against `tar tv`.

mod common;

use std::fs;
use std::path::Path;

use common::{
    check_against_listing, hash, lz4_compress, make_tree, tar_create, tar_listing, TempDir,
};
use initrd::{Format, Initrd, NodeKind};

/// Builds a tree, archives it in `format`, and checks the plain tar and every LZ4 variant.
fn round_trip(format: &str, long_components: bool, extra: &[&str]) {
    let temp = TempDir::new(format);
    let source = temp.join("source");
    make_tree(&source, long_components);
    let archive = temp.join("archive.tar");
    tar_create(format, &source, &archive, extra);
    let listing = tar_listing(&archive);

    let tar_bytes = fs::read(&archive).unwrap();
    let (initrd, diagnostics) = Initrd::parse(&tar_bytes).unwrap();
    assert!(diagnostics.is_empty(), "{format}: {diagnostics:?}");
    assert_eq!(initrd.format(), Format::Tar);
    let count = check_against_listing(&initrd, &listing, &source);
    assert!(count > 20, "{format}: only {count} entries");
    // Uncompressed archives are not copied: file data points into the input.
    let data = initrd.data("files/size-300000.bin").unwrap();
    assert!(tar_bytes.as_ptr_range().contains(&data.as_ptr()));

    let variants: &[&[&str]] = &[
        &[],                        // defaults: 4 MiB linked blocks, content checksum
        &["--no-frame-crc"],        // no content checksum
        &["-BX"],                   // block checksums
        &["-BD"],                   // linked blocks
        &["-B4"],                   // 64 KiB blocks: many blocks per file
        &["-B4", "-BD", "-BX"],     // all of the above at once
        &["-B5", "--no-frame-crc"], // 256 KiB blocks
        &["--content-size"],        // content size field
        &["-9", "-B4", "--content-size", "-BX"],
    ];
    for options in variants {
        let compressed = temp.join("archive.tar.lz4");
        lz4_compress(&archive, &compressed, options);
        let bytes = fs::read(&compressed).unwrap();
        let (initrd, diagnostics) = Initrd::parse(&bytes).unwrap();
        assert!(
            diagnostics.is_empty(),
            "{format} lz4 {options:?}: {diagnostics:?}"
        );
        assert_eq!(initrd.format(), Format::Lz4Tar);
        check_against_listing(&initrd, &listing, &source);
    }
}

#[test]
fn ustar_round_trip() {
    round_trip("ustar", false, &[]);
}

#[test]
fn gnu_round_trip() {
    round_trip("gnu", true, &[]);
}

#[test]
fn pax_round_trip() {
    round_trip("pax", true, &[]);
}

#[test]
fn gnu_base_256_owner_ids() {
    // Ids above 0o7777777 do not fit in octal: GNU tar writes them in base-256.
    round_trip(
        "gnu",
        false,
        &["--owner=big:3000000", "--group=big:3000001"],
    );
}

#[test]
fn pax_owner_ids_in_extended_header() {
    round_trip(
        "pax",
        false,
        &["--owner=big:3000000", "--group=big:3000001"],
    );
}

#[test]
fn long_names_in_each_format() {
    for (format, long_components) in [
        ("ustar", false),
        ("gnu", true),
        ("pax", true),
        ("v7", false),
    ] {
        let temp = TempDir::new("long");
        let source = temp.join("source");
        let deep = "d1/d2/d3/d4/d5";
        let name = if long_components {
            "x".repeat(120)
        } else {
            "y".repeat(90)
        };
        let path = format!("{deep}/{}/{name}", "z".repeat(40));
        common::write_file(&source.join(&path), b"long\n", 0o644);
        let archive = temp.join("long.tar");
        if format == "v7" {
            // v7 cannot store the long path; only check that short names still work.
            common::write_file(&source.join("short"), b"v7\n", 0o644);
            fs::remove_dir_all(source.join("d1")).unwrap();
        }
        tar_create(format, &source, &archive, &[]);
        let bytes = fs::read(&archive).unwrap();
        let (initrd, diagnostics) = Initrd::parse(&bytes).unwrap();
        assert!(diagnostics.is_empty(), "{format}: {diagnostics:?}");
        let expected = if format == "v7" { "short" } else { &path };
        assert!(expected.len() > 100 || format == "v7");
        let node = initrd
            .lookup(expected)
            .unwrap_or_else(|| panic!("{format}: `{expected}` missing"));
        assert_eq!(node.path(), expected);
        check_against_listing(&initrd, &tar_listing(&archive), &source);
    }
}

#[test]
fn hard_link_shares_data() {
    let temp = TempDir::new("hardlink");
    let source = temp.join("source");
    make_tree(&source, false);
    let archive = temp.join("archive.tar");
    tar_create("ustar", &source, &archive, &[]);
    let bytes = fs::read(&archive).unwrap();
    let (initrd, _) = Initrd::parse(&bytes).unwrap();
    let original = initrd.lookup("bin/tool").unwrap();
    let link = initrd.lookup("bin/tool-hardlink").unwrap();
    assert_eq!(link.kind(), NodeKind::File);
    assert_eq!(link.data(), original.data());
    assert_eq!(link.data().unwrap(), b"#!/bin/sh\necho tool\n");
    assert_eq!(link.stat().mode, 0o755);
    // Both names share the same bytes of the archive.
    assert_eq!(
        link.data().unwrap().as_ptr(),
        original.data().unwrap().as_ptr()
    );
}

#[test]
fn symlink_is_stored_and_followed() {
    let temp = TempDir::new("symlink");
    let source = temp.join("source");
    make_tree(&source, true);
    let archive = temp.join("archive.tar");
    tar_create("gnu", &source, &archive, &[]);
    let bytes = fs::read(&archive).unwrap();
    let (initrd, _) = Initrd::parse(&bytes).unwrap();
    let link = initrd.lookup("bin/secret-link").unwrap();
    assert_eq!(link.kind(), NodeKind::Symlink);
    assert_eq!(link.link_target(), Some("../etc/secret"));
    assert_eq!(link.stat().size, "../etc/secret".len() as u64);
    assert_eq!(initrd.data("bin/secret-link").unwrap(), b"private\n");
    assert_eq!(
        initrd.resolve_nofollow("bin/secret-link").unwrap().kind(),
        NodeKind::Symlink
    );
    // A target longer than 100 bytes travels in a GNU 'K' header.
    let long = initrd.lookup("long/link-with-a-long-target").unwrap();
    assert!(long.link_target().unwrap().len() > 100);
    assert_eq!(
        initrd.data("long/link-with-a-long-target").unwrap(),
        b"prefix\n"
    );
}

#[test]
fn concatenated_and_skippable_frames() {
    let temp = TempDir::new("frames");
    let source = temp.join("source");
    make_tree(&source, false);
    let archive = temp.join("archive.tar");
    tar_create("ustar", &source, &archive, &[]);
    let tar_bytes = fs::read(&archive).unwrap();
    // Split the tar at an odd offset into three frames with different options.
    let cuts = [0, 12_345, 200_001, tar_bytes.len()];
    let options: [&[&str]; 3] = [
        &["-B4"],
        &["-BD", "-BX", "--no-frame-crc"],
        &["--content-size"],
    ];
    let mut joined = Vec::new();
    // A skippable frame first: 0x184D2A5F, length 5, five bytes to skip.
    joined.extend_from_slice(&0x184D_2A5Fu32.to_le_bytes());
    joined.extend_from_slice(&5u32.to_le_bytes());
    joined.extend_from_slice(b"skip!");
    for (index, options) in options.iter().enumerate() {
        let part = temp.join(&format!("part{index}"));
        fs::write(&part, &tar_bytes[cuts[index]..cuts[index + 1]]).unwrap();
        let compressed = temp.join(&format!("part{index}.lz4"));
        lz4_compress(&part, &compressed, options);
        joined.extend_from_slice(&fs::read(&compressed).unwrap());
        // And a skippable frame between frames.
        joined.extend_from_slice(&0x184D_2A50u32.to_le_bytes());
        joined.extend_from_slice(&0u32.to_le_bytes());
    }
    let (initrd, diagnostics) = Initrd::parse(&joined).unwrap();
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    check_against_listing(&initrd, &tar_listing(&archive), &source);
}

#[test]
fn default_initrd_from_mkinitrd() {
    let temp = TempDir::new("mkinitrd");
    let output = temp.join("initrd.tar.lz4");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../scripts/mkinitrd");
    common::run(
        "bash",
        &[script.to_str().unwrap(), output.to_str().unwrap()],
        None,
    );
    let bytes = fs::read(&output).unwrap();
    let (initrd, diagnostics) = Initrd::parse(&bytes).unwrap();
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert!(std::str::from_utf8(initrd.data("/etc/motd").unwrap())
        .unwrap()
        .contains("Welcome"));
    assert_eq!(
        initrd.data("etc/issue").unwrap(),
        initrd.data("etc/motd").unwrap()
    );
    let long = initrd
        .walk()
        .map(|(_, node)| node.path())
        .find(|path| path.len() > 100)
        .expect("a path longer than 100 bytes");
    assert!(initrd.lookup(&long).is_some());
    let depth = initrd.walk().map(|(depth, _)| depth).max().unwrap();
    assert!(depth > 3, "depth {depth}");
    let rootfs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../rootfs");
    // Every file comes from rootfs/, except the Debian binaries mkinitrd stages from the host.
    let staged = |path: &str| match path.trim_start_matches('/') {
        "bin/busybox" => Some(Path::new("/bin/busybox").to_path_buf()),
        "bin/bash" => Some(Path::new("/bin/bash-static").to_path_buf()),
        _ => None,
    };
    for (_, node) in initrd.walk() {
        if let Some(data) = node.data() {
            let path = node.path();
            let source = staged(&path).unwrap_or_else(|| rootfs.join(&path));
            let expected = fs::read(&source)
                .unwrap_or_else(|e| panic!("{path}: no source file {}: {e}", source.display()));
            assert_eq!(
                hash(data),
                hash(&expected),
                "{path} differs from {}",
                source.display()
            );
        }
    }
}
