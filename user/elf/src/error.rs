//! Why an executable or a `#!` line was refused: one variant per check, each printed as one line.
//!
//! `execve` answers every one of them with `ENOEXEC` ([`ElfError::errno`]); the text is for the
//! kernel's log and the shell, so each names the field or segment at fault.

use alloc::string::String;
use core::fmt;

/// Linux's `ENOEXEC` ("Exec format error").
pub const ENOEXEC: i32 = 8;

/// Why [`crate::parse`] or [`crate::parse_shebang`] refused its input.
///
/// `index` fields are positions in the program header table (counting from 0), so they can
/// be matched against `readelf -lW` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElfError {
    /// The file does not begin with `\x7fELF`.
    NotElf,
    /// The file is shorter than the 64-byte ELF64 file header.
    TruncatedHeader {
        /// Length of the file in bytes.
        file_size: u64,
    },
    /// `EI_CLASS` is `ELFCLASS32`.
    ThirtyTwoBit,
    /// `EI_CLASS` is neither 32- nor 64-bit.
    UnknownClass(u8),
    /// `EI_DATA` is `ELFDATA2MSB`.
    BigEndian,
    /// `EI_DATA` is neither little- nor big-endian.
    UnknownEncoding(u8),
    /// `EI_VERSION` or `e_version` is not `EV_CURRENT` (1).
    UnknownVersion(u32),
    /// `e_type` is neither `ET_EXEC` nor `ET_DYN` (e.g. a relocatable object or a core dump).
    NotExecutable(u16),
    /// `e_machine` is not `EM_X86_64` (62).
    WrongMachine(u16),
    /// `e_phentsize` is not the size of an ELF64 program header (56).
    ProgramHeaderSize(u16),
    /// `e_phnum` is over [`crate::MAX_PROGRAM_HEADERS`] (this includes `PN_XNUM`, 0xffff).
    TooManyProgramHeaders(u16),
    /// The program header table does not lie inside the file.
    ProgramHeadersBeyondFile {
        /// `e_phoff`.
        offset: u64,
        /// `e_phnum * e_phentsize`.
        size: u64,
        /// Length of the file in bytes.
        file_size: u64,
    },
    /// A `PT_INTERP` header names a dynamic linker; only static programs are loaded.
    NeedsInterpreter(String),
    /// A `PT_LOAD` header's file range does not lie inside the file.
    SegmentBeyondFile {
        /// Program header index.
        index: usize,
        /// `p_offset`.
        offset: u64,
        /// `p_filesz`.
        size: u64,
        /// Length of the file in bytes.
        file_size: u64,
    },
    /// A `PT_LOAD` header has `p_memsz < p_filesz`.
    MemorySmallerThanFile {
        /// Program header index.
        index: usize,
        /// `p_memsz`.
        mem_size: u64,
        /// `p_filesz`.
        file_size: u64,
    },
    /// `p_offset` and `p_vaddr` differ modulo the page size, so the segment cannot be mapped
    /// page by page.
    Incongruent {
        /// Program header index.
        index: usize,
        /// `p_offset`.
        offset: u64,
        /// `p_vaddr`.
        vaddr: u64,
    },
    /// `p_offset + p_filesz` or `p_vaddr + p_memsz` does not fit in 64 bits.
    Overflow {
        /// Program header index.
        index: usize,
    },
    /// A segment reaches above [`crate::USER_END`].
    AboveUserHalf {
        /// The segment's last byte.
        address: u64,
    },
    /// Two `PT_LOAD` segments cover a common byte of memory.
    SegmentsOverlap {
        /// Program header index of one segment.
        first: usize,
        /// Program header index of the other.
        second: usize,
    },
    /// No `PT_LOAD` header with a non-zero `p_memsz`.
    NoLoadableSegment,
    /// `e_entry` is not inside any segment with execute permission.
    EntryNotExecutable(u64),
    /// `PT_PHDR` names memory that no `PT_LOAD` segment fills from the file.
    ProgramHeadersNotLoaded(u64),
    /// The `#!` line, newline included, is longer than [`crate::MAX_SHEBANG_LINE`] bytes.
    ShebangTooLong,
    /// The `#!` line names no interpreter.
    ShebangWithoutInterpreter,
    /// The `#!` line contains a NUL byte.
    ShebangNul,
    /// The `#!` line is not valid UTF-8.
    ShebangNotUtf8,
}

impl ElfError {
    /// The Linux errno `execve` reports for this error: `ENOEXEC` for every variant.
    pub const fn errno(&self) -> i32 {
        ENOEXEC
    }
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotElf => write!(f, "not an ELF file"),
            Self::TruncatedHeader { file_size } => {
                write!(f, "file of {file_size} bytes is shorter than an ELF64 header")
            }
            Self::ThirtyTwoBit => write!(f, "32-bit ELF"),
            Self::UnknownClass(class) => write!(f, "unknown ELF class {class}"),
            Self::BigEndian => write!(f, "big-endian"),
            Self::UnknownEncoding(encoding) => write!(f, "unknown ELF data encoding {encoding}"),
            Self::UnknownVersion(version) => write!(f, "unknown ELF version {version}"),
            Self::NotExecutable(file_type) => write!(
                f,
                "ELF type {file_type} is neither an executable nor a position-independent executable"
            ),
            Self::WrongMachine(machine) => write!(f, "machine {machine} is not x86_64"),
            Self::ProgramHeaderSize(size) => {
                write!(f, "program header size {size}, expected 56")
            }
            Self::TooManyProgramHeaders(count) => write!(
                f,
                "{count} program headers (the limit is {})",
                crate::MAX_PROGRAM_HEADERS
            ),
            Self::ProgramHeadersBeyondFile {
                offset,
                size,
                file_size,
            } => write!(
                f,
                "program headers {offset:#x}+{size:#x} lie beyond the file (size {file_size:#x})"
            ),
            Self::NeedsInterpreter(path) => write!(
                f,
                "needs an interpreter ({path}): dynamically linked programs are not supported"
            ),
            Self::SegmentBeyondFile {
                index,
                offset,
                size,
                file_size,
            } => write!(
                f,
                "segment {index} file range {offset:#x}+{size:#x} lies beyond the file (size {file_size:#x})"
            ),
            Self::MemorySmallerThanFile {
                index,
                mem_size,
                file_size,
            } => write!(
                f,
                "segment {index}: mem_size {mem_size:#x} < file_size {file_size:#x}"
            ),
            Self::Incongruent {
                index,
                offset,
                vaddr,
            } => write!(
                f,
                "segment {index}: p_offset {offset:#x} and p_vaddr {vaddr:#x} not congruent modulo the page size"
            ),
            Self::Overflow { index } => {
                write!(f, "segment {index}: offset or address arithmetic overflows")
            }
            Self::AboveUserHalf { address } => {
                write!(f, "address {address:#x} is above the user half")
            }
            Self::SegmentsOverlap { first, second } => {
                write!(f, "segments {first} and {second} overlap")
            }
            Self::NoLoadableSegment => write!(f, "no loadable segment"),
            Self::EntryNotExecutable(entry) => write!(
                f,
                "entry point {entry:#x} is outside every executable segment"
            ),
            Self::ProgramHeadersNotLoaded(address) => write!(
                f,
                "program headers at {address:#x} are not inside a loadable segment"
            ),
            Self::ShebangTooLong => write!(
                f,
                "#! line longer than {} bytes",
                crate::MAX_SHEBANG_LINE
            ),
            Self::ShebangWithoutInterpreter => write!(f, "#! line names no interpreter"),
            Self::ShebangNul => write!(f, "#! line contains a NUL byte"),
            Self::ShebangNotUtf8 => write!(f, "#! line is not UTF-8"),
        }
    }
}
