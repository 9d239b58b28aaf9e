//! Hostile executables: a real static program cut at every length and with every header bit
//! flipped, and hand-made files for each check `parse` makes. Every outcome is either an error
//! or an image that keeps every promise (`common::invariants`).

mod common;

use common::invariants::check_image;
use common::{
    build_elf, minimal_elf, static_program, Header, PF_R, PF_W, PF_X, PT_GNU_STACK, PT_INTERP,
    PT_PHDR,
};
use elf_loader::{parse, ElfError, Image, Kind, USER_END};

fn same_image(left: &Image, right: &Image) -> bool {
    format!("{left:?}") == format!("{right:?}")
}

#[test]
fn every_prefix_of_a_real_program() {
    let Some(bytes) = static_program() else {
        return;
    };
    let full = parse(bytes).unwrap();
    // The shortest prefix that still holds the program headers and every segment's file part.
    let needed = full
        .segments
        .iter()
        .map(|segment| segment.file_offset + segment.file_size)
        .chain([64 + 56 * u64::from(full.phdr_count)])
        .max()
        .unwrap() as usize;
    for length in 0..=bytes.len() {
        match parse(&bytes[..length]) {
            Ok(image) => {
                assert!(length >= needed, "prefix of {length} bytes parsed");
                check_image(&image, length as u64);
                assert!(same_image(&image, &full), "prefix of {length}: {image:?}");
            }
            Err(error) => assert!(length < needed, "prefix of {length}: {error}"),
        }
    }
}

#[test]
fn every_header_bit_flipped() {
    let Some(original) = static_program() else {
        return;
    };
    let mut bytes = original.to_vec();
    let header_end = 64 + 56 * usize::from(parse(&bytes).unwrap().phdr_count);
    let (mut accepted, mut refused) = (0, 0);
    for bit in 0..header_end * 8 {
        bytes[bit / 8] ^= 1 << (bit % 8);
        match parse(&bytes) {
            Ok(image) => {
                check_image(&image, bytes.len() as u64);
                accepted += 1;
            }
            Err(error) => {
                assert!(!error.to_string().is_empty());
                refused += 1;
            }
        }
        bytes[bit / 8] ^= 1 << (bit % 8);
    }
    // Most header bits matter; flags in unused fields do not.
    assert!(
        refused > 100 && accepted > 100,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn minimal_executable_parses() {
    let (_, bytes) = minimal_elf();
    let image = parse(&bytes).unwrap();
    check_image(&image, bytes.len() as u64);
    assert_eq!(image.kind, Kind::Executable);
    assert_eq!(image.entry, 0x40_0200);
    assert_eq!(image.span, (0x40_0000, 0x40_4000));
    assert_eq!(image.phdr_vaddr, Some(0x40_0040));
    assert_eq!(image.phdr_count, 2);
    assert!(!image.stack_executable);
    assert_eq!(image.bias_for(0x1234_5000), 0);
    assert!(image.segments[0].permissions.execute && !image.segments[0].permissions.write);
    assert!(image.segments[1].permissions.write && !image.segments[1].permissions.execute);
}

#[test]
fn headers_at_an_odd_address() {
    let (_, bytes) = minimal_elf();
    let mut shifted = vec![0u8; bytes.len() + 1];
    shifted[1..].copy_from_slice(&bytes);
    let image = parse(&shifted[1..]).unwrap();
    assert_eq!(image.entry, 0x40_0200);
}

/// Builds an executable with `headers` and checks `parse` refuses it with `expected`.
fn refused(entry: u64, headers: &[Header], expected: ElfError) {
    let bytes = build_elf(2, entry, headers, 0x3000);
    assert_eq!(parse(&bytes).unwrap_err(), expected, "{headers:#x?}");
}

fn text(vaddr: u64) -> Header {
    Header::load(PF_R | PF_X, 0, vaddr, 0x1000, 0x1000)
}

#[test]
fn identification() {
    let (_, good) = minimal_elf();
    assert_eq!(parse(b"").unwrap_err(), ElfError::NotElf);
    assert_eq!(parse(b"\x7fEL").unwrap_err(), ElfError::NotElf);
    assert_eq!(parse(b"#!/bin/sh\n").unwrap_err(), ElfError::NotElf);
    assert_eq!(
        parse(&good[..40]).unwrap_err(),
        ElfError::TruncatedHeader { file_size: 40 }
    );
    let with = |at: usize, value: &[u8]| {
        let mut bytes = good.clone();
        bytes[at..at + value.len()].copy_from_slice(value);
        parse(&bytes).unwrap_err()
    };
    assert_eq!(with(4, &[1]), ElfError::ThirtyTwoBit);
    assert_eq!(with(4, &[7]), ElfError::UnknownClass(7));
    assert_eq!(with(5, &[2]), ElfError::BigEndian);
    assert_eq!(with(5, &[0]), ElfError::UnknownEncoding(0));
    assert_eq!(with(6, &[2]), ElfError::UnknownVersion(2));
    assert_eq!(with(20, &2u32.to_le_bytes()), ElfError::UnknownVersion(2));
    assert_eq!(with(16, &1u16.to_le_bytes()), ElfError::NotExecutable(1));
    assert_eq!(with(16, &4u16.to_le_bytes()), ElfError::NotExecutable(4));
    assert_eq!(with(18, &183u16.to_le_bytes()), ElfError::WrongMachine(183));
    assert_eq!(with(4, &[1]).to_string(), "32-bit ELF");
    assert_eq!(with(5, &[2]).to_string(), "big-endian");
    assert_eq!(
        with(18, &183u16.to_le_bytes()).to_string(),
        "machine 183 is not x86_64"
    );
    assert_eq!(
        parse(b"MZ\x90\x00").unwrap_err().to_string(),
        "not an ELF file"
    );
}

#[test]
fn program_header_table() {
    let (_, good) = minimal_elf();
    let with = |at: usize, value: &[u8]| {
        let mut bytes = good.clone();
        bytes[at..at + value.len()].copy_from_slice(value);
        parse(&bytes).unwrap_err()
    };
    assert_eq!(
        with(56, &0xffffu16.to_le_bytes()),
        ElfError::TooManyProgramHeaders(0xffff)
    );
    assert_eq!(
        with(56, &65u16.to_le_bytes()),
        ElfError::TooManyProgramHeaders(65)
    );
    assert_eq!(with(56, &0u16.to_le_bytes()), ElfError::NoLoadableSegment);
    assert_eq!(
        with(54, &32u16.to_le_bytes()),
        ElfError::ProgramHeaderSize(32)
    );
    assert!(matches!(
        with(32, &(u64::MAX - 10).to_le_bytes()),
        ElfError::ProgramHeadersBeyondFile { .. }
    ));
    assert!(matches!(
        with(32, &0u64.to_le_bytes()),
        ElfError::ProgramHeadersBeyondFile { .. }
    ));
    assert!(matches!(
        with(32, &(good.len() as u64 - 100).to_le_bytes()),
        ElfError::ProgramHeadersBeyondFile { .. }
    ));

    // 64 headers are allowed: two loads and 62 PT_NULL.
    let mut headers = vec![text(0x40_0000)];
    headers.extend([Header { kind: 0, ..text(0) }; 63]);
    let bytes = build_elf(2, 0x40_0100, &headers, 0x1000);
    assert_eq!(parse(&bytes).unwrap().phdr_count, 64);
    headers.push(Header { kind: 0, ..text(0) });
    let bytes = build_elf(2, 0x40_0100, &headers, 0x2000);
    assert_eq!(
        parse(&bytes).unwrap_err(),
        ElfError::TooManyProgramHeaders(65)
    );
}

#[test]
fn overlapping_segments() {
    // Congruent offsets, so the overlap is the only fault.
    let data = Header::load(PF_R | PF_W, 0x800, 0x40_0800, 0x100, 0x100);
    let overlap = ElfError::SegmentsOverlap {
        first: 0,
        second: 1,
    };
    refused(0x40_0100, &[text(0x40_0000), data], overlap.clone());
    // The order in the table does not hide it.
    refused(0x40_0100, &[data, text(0x40_0000)], overlap.clone());
    // Identical segments.
    refused(0x40_0100, &[text(0x40_0000), text(0x40_0000)], overlap);
    assert_eq!(
        ElfError::SegmentsOverlap {
            first: 0,
            second: 1
        }
        .to_string(),
        "segments 0 and 1 overlap"
    );
    // Sharing a page without sharing a byte is allowed.
    let shared = Header::load(PF_R | PF_W, 0x1800, 0x40_1800, 0x100, 0x100);
    let low = Header::load(PF_R | PF_X, 0, 0x40_0000, 0x1800, 0x1800);
    let bytes = build_elf(2, 0x40_0100, &[low, shared], 0x2000);
    let image = parse(&bytes).unwrap();
    check_image(&image, bytes.len() as u64);
    assert_eq!(image.span, (0x40_0000, 0x40_2000));
}

#[test]
fn sizes_and_ranges() {
    let entry = 0x40_0100;
    let text = text(0x40_0000);
    let data = |offset, vaddr, file_size, mem_size| {
        Header::load(PF_R | PF_W, offset, vaddr, file_size, mem_size)
    };
    refused(
        entry,
        &[text, data(0x1000, 0x40_1000, 0x200, 0x100)],
        ElfError::MemorySmallerThanFile {
            index: 1,
            mem_size: 0x100,
            file_size: 0x200,
        },
    );
    refused(
        entry,
        &[text, data(0x1000, 0x40_1000, 1 << 40, 1 << 40)],
        ElfError::SegmentBeyondFile {
            index: 1,
            offset: 0x1000,
            size: 1 << 40,
            file_size: 0x3000,
        },
    );
    refused(
        entry,
        &[text, data(0x2000, 0x40_1000, 0x1001, 0x1001)],
        ElfError::SegmentBeyondFile {
            index: 1,
            offset: 0x2000,
            size: 0x1001,
            file_size: 0x3000,
        },
    );
    refused(
        entry,
        &[text, data(u64::MAX - 0xfff, 0x40_1000, 0x2000, 0x2000)],
        ElfError::Overflow { index: 1 },
    );
    refused(
        entry,
        &[text, data(0x1000, u64::MAX - 0xfff, 0, 0x2000)],
        ElfError::Overflow { index: 1 },
    );
    refused(
        entry,
        &[text, data(0x1000, 0x40_1800, 0x100, 0x100)],
        ElfError::Incongruent {
            index: 1,
            offset: 0x1000,
            vaddr: 0x40_1800,
        },
    );
    assert!(ElfError::Incongruent {
        index: 1,
        offset: 0,
        vaddr: 0
    }
    .to_string()
    .ends_with("not congruent modulo the page size"));
    // Zero-sized loads are skipped; only zero-sized loads is no loadable segment.
    refused(
        entry,
        &[Header::load(PF_R | PF_X, 0, 0x40_0000, 0, 0)],
        ElfError::NoLoadableSegment,
    );
    let bytes = build_elf(2, entry, &[text, data(0x1000, 0, 0, 0)], 0x2000);
    assert_eq!(parse(&bytes).unwrap().segments.len(), 1);
}

#[test]
fn user_half() {
    for vaddr in [
        0x0000_8000_0000_0000,
        0xffff_8000_0000_0000,
        0xffff_ffff_8000_0000,
        USER_END,
    ] {
        let error = parse(&build_elf(2, vaddr, &[text(vaddr)], 0x1000)).unwrap_err();
        assert_eq!(
            error,
            ElfError::AboveUserHalf {
                address: vaddr + 0xfff
            }
        );
        assert_eq!(
            error.to_string(),
            format!("address {:#x} is above the user half", vaddr + 0xfff)
        );
    }
    // The last user page is fine; one byte further is not.
    let last = USER_END - 0x1000;
    assert!(parse(&build_elf(2, last, &[text(last)], 0x1000)).is_ok());
    let reaching = Header::load(PF_R | PF_X, 0, last, 0x1000, 0x1001);
    assert!(matches!(
        parse(&build_elf(2, last, &[reaching], 0x1000)).unwrap_err(),
        ElfError::AboveUserHalf { .. }
    ));
}

#[test]
fn entry_point() {
    let data = Header::load(PF_R | PF_W, 0x1000, 0x40_1000, 0x100, 0x100);
    for entry in [0, 0x3f_ffff, 0x40_1000, 0x40_1010, 0x40_2000, u64::MAX] {
        refused(
            entry,
            &[text(0x40_0000), data],
            ElfError::EntryNotExecutable(entry),
        );
    }
    assert_eq!(
        ElfError::EntryNotExecutable(0x40_1000).to_string(),
        "entry point 0x401000 is outside every executable segment"
    );
    let bytes = build_elf(2, 0x40_0fff, &[text(0x40_0000), data], 0x2000);
    assert!(parse(&bytes).is_ok());
}

#[test]
fn interpreter() {
    let interpreter = Header {
        kind: PT_INTERP,
        flags: PF_R,
        offset: 0x200,
        vaddr: 0x40_0200,
        file_size: 28,
        mem_size: 28,
        align: 1,
    };
    let mut bytes = build_elf(2, 0x40_0100, &[interpreter, text(0x40_0000)], 0x1000);
    bytes[0x200..0x200 + 28].copy_from_slice(b"/lib64/ld-linux-x86-64.so.2\0");
    assert_eq!(
        parse(&bytes).unwrap_err().to_string(),
        "needs an interpreter (/lib64/ld-linux-x86-64.so.2): dynamically linked programs are not supported"
    );
    let unreadable = Header {
        offset: 1 << 50,
        ..interpreter
    };
    refused(
        0x40_0100,
        &[text(0x40_0000), unreadable],
        ElfError::NeedsInterpreter("?".into()),
    );
}

#[test]
fn program_headers_in_memory() {
    let phdr = |vaddr| Header {
        kind: PT_PHDR,
        flags: PF_R,
        offset: 64,
        vaddr,
        file_size: 112,
        mem_size: 112,
        align: 8,
    };
    let bss = Header::load(PF_R | PF_W, 0x1000, 0x40_1000, 0x100, 0x2000);
    let build = |headers: &[Header]| build_elf(2, 0x40_0100, headers, 0x2000);
    // PT_PHDR names the address.
    let image = parse(&build(&[phdr(0x40_0040), text(0x40_0000)])).unwrap();
    assert_eq!(image.phdr_vaddr, Some(0x40_0040));
    // Outside every segment, or in zero-filled memory: refused.
    for address in [0x50_0000, 0x40_1100, 0x40_0fc0] {
        refused(
            0x40_0100,
            &[phdr(address), text(0x40_0000), bss],
            ElfError::ProgramHeadersNotLoaded(address),
        );
    }
    // Without PT_PHDR: found through e_phoff, or absent when no segment loads it.
    let image = parse(&build(&[text(0x40_0000), bss])).unwrap();
    assert_eq!(image.phdr_vaddr, Some(0x40_0040));
    let late = Header::load(PF_R | PF_X, 0x1000, 0x40_1000, 0x1000, 0x1000);
    let image = parse(&build_elf(2, 0x40_1000, &[late], 0x2000)).unwrap();
    assert_eq!(image.phdr_vaddr, None);
}

#[test]
fn stack_permission() {
    let stack = |flags| Header {
        kind: PT_GNU_STACK,
        flags,
        offset: 0,
        vaddr: 0,
        file_size: 0,
        mem_size: 0,
        align: 16,
    };
    let image = |headers: &[Header]| parse(&build_elf(2, 0x40_0100, headers, 0x1000)).unwrap();
    assert!(!image(&[text(0x40_0000)]).stack_executable);
    assert!(!image(&[text(0x40_0000), stack(PF_R | PF_W)]).stack_executable);
    assert!(image(&[text(0x40_0000), stack(PF_R | PF_W | PF_X)]).stack_executable);
}

#[test]
fn position_independent() {
    let low = Header::load(PF_R | PF_X, 0, 0, 0x1000, 0x1000);
    let bytes = build_elf(3, 0x100, &[low], 0x1000);
    let image = parse(&bytes).unwrap();
    check_image(&image, bytes.len() as u64);
    assert_eq!(image.kind, Kind::PositionIndependent);
    assert_eq!(image.bias_for(0x7f00_0000_0000), 0x7f00_0000_0000);
    assert_eq!(image.bias_for(0x7f00_0000_0fff), 0x7f00_0000_0000);
    // An unusual PIE linked at 0x10000: the bias moves it to the base.
    let high = Header::load(PF_R | PF_X, 0, 0x1_0000, 0x1000, 0x1000);
    let image = parse(&build_elf(3, 0x1_0100, &[high], 0x1000)).unwrap();
    assert_eq!(image.bias_for(0x20_0000), 0x20_0000 - 0x1_0000);
    assert_eq!(image.bias_for(0), 0u64.wrapping_sub(0x1_0000));
}

#[test]
fn every_message_is_one_line() {
    let errors = [
        ElfError::NotElf,
        ElfError::TruncatedHeader { file_size: 3 },
        ElfError::ThirtyTwoBit,
        ElfError::UnknownClass(9),
        ElfError::BigEndian,
        ElfError::UnknownEncoding(9),
        ElfError::UnknownVersion(9),
        ElfError::NotExecutable(1),
        ElfError::WrongMachine(3),
        ElfError::ProgramHeaderSize(1),
        ElfError::TooManyProgramHeaders(100),
        ElfError::ProgramHeadersBeyondFile {
            offset: 1,
            size: 2,
            file_size: 3,
        },
        ElfError::NeedsInterpreter("/x".into()),
        ElfError::SegmentBeyondFile {
            index: 2,
            offset: 0x10,
            size: 0x20,
            file_size: 0x18,
        },
        ElfError::MemorySmallerThanFile {
            index: 0,
            mem_size: 1,
            file_size: 2,
        },
        ElfError::Incongruent {
            index: 0,
            offset: 1,
            vaddr: 2,
        },
        ElfError::Overflow { index: 0 },
        ElfError::AboveUserHalf { address: 0 },
        ElfError::SegmentsOverlap {
            first: 0,
            second: 1,
        },
        ElfError::NoLoadableSegment,
        ElfError::EntryNotExecutable(0),
        ElfError::ProgramHeadersNotLoaded(0),
        ElfError::ShebangTooLong,
        ElfError::ShebangWithoutInterpreter,
        ElfError::ShebangNul,
        ElfError::ShebangNotUtf8,
    ];
    for error in errors {
        let message = error.to_string();
        assert!(!message.is_empty() && !message.contains('\n'), "{error:?}");
        assert_eq!(error.errno(), elf_loader::ENOEXEC);
    }
    assert_eq!(
        ElfError::SegmentBeyondFile {
            index: 2,
            offset: 0x10,
            size: 0x20,
            file_size: 0x18
        }
        .to_string(),
        "segment 2 file range 0x10+0x20 lies beyond the file (size 0x18)"
    );
}
