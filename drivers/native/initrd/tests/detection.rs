//! Format detection at the edges: zstd, and skippable frames, which LZ4 and zstd share.

mod common;

use std::fs;

use common::{lz4_compress, TarBuilder, TempDir};
use initrd::{DiagnosticKind, Error, Format, Initrd, Lz4Damage};

fn tar() -> Vec<u8> {
    let mut builder = TarBuilder::default();
    builder.file("etc/motd", b"hello\n");
    builder.file("bin/tool", &common::content(3, 3000));
    builder.finish()
}

fn lz4(content: &[u8]) -> Vec<u8> {
    let temp = TempDir::new("detection");
    fs::write(temp.join("in"), content).unwrap();
    lz4_compress(&temp.join("in"), &temp.join("out"), &[]);
    fs::read(temp.join("out")).unwrap()
}

/// A zstd frame (RFC 8878, section 3.1.1) holding `content` in one raw block: single segment,
/// a two-byte content size (stored minus 256), no checksum. `zstd -d` decodes it.
fn zstd_frame(content: &[u8]) -> Vec<u8> {
    assert!((256..65_792).contains(&content.len()));
    let mut frame = vec![0x28, 0xB5, 0x2F, 0xFD, 0x60];
    frame.extend_from_slice(&((content.len() - 256) as u16).to_le_bytes());
    let block_header = ((content.len() as u32) << 3) | 1; // last block, raw
    frame.extend_from_slice(&block_header.to_le_bytes()[..3]);
    frame.extend_from_slice(content);
    frame
}

/// A skippable frame: one of the magics 0x184D2A50..=0x184D2A5F, a length, that many bytes.
fn skippable(magic_low: u32, content: &[u8]) -> Vec<u8> {
    let mut frame = (0x184D_2A50 | magic_low).to_le_bytes().to_vec();
    frame.extend_from_slice(&(content.len() as u32).to_le_bytes());
    frame.extend_from_slice(content);
    frame
}

#[test]
fn zstd_is_refused_by_name() {
    let zstd = zstd_frame(&tar());
    let error = Initrd::parse(&zstd).unwrap_err();
    assert_eq!(error, Error::Zstd);
    assert_eq!(
        error.to_string(),
        "unknown format: zstd-compressed (recompress with lz4)"
    );
    // zstd writers may put skippable frames first; they do not make it LZ4.
    let mut with_skippable = skippable(0xE, b"metadata");
    with_skippable.extend(skippable(0x0, b""));
    with_skippable.extend_from_slice(&zstd);
    assert_eq!(Initrd::parse(&with_skippable).unwrap_err(), Error::Zstd);
}

#[test]
fn skippable_frames_then_lz4_is_lz4() {
    let tar = tar();
    let mut input = skippable(0xF, b"any bytes");
    input.extend(skippable(0x3, &[0; 300]));
    input.extend(lz4(&tar));
    let (initrd, diagnostics) = Initrd::parse(&input).unwrap();
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(initrd.format(), Format::Lz4Tar);
    assert_eq!(initrd.data("etc/motd").unwrap(), b"hello\n");
}

#[test]
fn skippable_frames_without_lz4_are_refused() {
    // Nothing after them.
    let only = skippable(0x0, b"12345");
    assert_eq!(
        Initrd::parse(&only).unwrap_err(),
        Error::NoFrameAfterSkippable {
            offset: 13,
            found: None
        }
    );
    // A length running past the end.
    let mut cut = skippable(0x1, b"12345");
    cut.truncate(10);
    assert_eq!(
        Initrd::parse(&cut).unwrap_err(),
        Error::NoFrameAfterSkippable {
            offset: 10,
            found: None
        }
    );
    // A tar archive is not framed: after skippable frames it is unknown too.
    let mut before_tar = skippable(0x2, b"");
    before_tar.extend(tar());
    let error = Initrd::parse(&before_tar).unwrap_err();
    assert_eq!(
        error,
        Error::NoFrameAfterSkippable {
            offset: 8,
            found: Some(*b"etc/")
        }
    );
    assert_eq!(
        error.to_string(),
        "unknown format: skippable frames followed by [65, 74, 63, 2f] at byte 8, not an LZ4 frame"
    );
    // The legacy LZ4 magic is still named as such.
    let mut legacy = skippable(0x2, b"");
    legacy.extend_from_slice(&0x184C_2102u32.to_le_bytes());
    assert_eq!(Initrd::parse(&legacy).unwrap_err(), Error::Lz4Legacy);
}

#[test]
fn zstd_after_lz4_is_named_in_the_damage() {
    let mut input = lz4(&tar());
    let lz4_length = input.len();
    input.extend(zstd_frame(&[7; 300]));
    let (initrd, diagnostics) = Initrd::parse(&input).unwrap();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        diagnostics[0].kind,
        DiagnosticKind::Lz4(Lz4Damage::TrailingData { magic: 0xFD2F_B528 })
    );
    assert_eq!(diagnostics[0].offset, lz4_length as u64);
    assert!(
        diagnostics[0].to_string().contains("a zstd frame"),
        "{}",
        diagnostics[0]
    );
    assert_eq!(initrd.data("etc/motd").unwrap(), b"hello\n");
}
