//! ELF64 executable parsing: from a file's bytes to the segments the kernel maps.
//!
//! Owns every check that decides whether a file may be loaded (System V gABI, "Program Header"
//! and "Program Loading"; the x86_64 psABI for the machine). `object` reads the raw records;
//! nothing here maps memory, reads further than the headers, or trusts a field it has not
//! checked.

use alloc::string::String;
use alloc::vec::Vec;

use object::elf::{
    FileHeader64, ProgramHeader64, EM_X86_64, ET_DYN, ET_EXEC, PF_R, PF_W, PF_X, PT_GNU_STACK,
    PT_INTERP, PT_LOAD, PT_PHDR,
};
use object::read::elf::{FileHeader as _, ProgramHeader as _};
use object::LittleEndian;

use crate::{ElfError, MAX_PROGRAM_HEADERS, PAGE_SIZE, USER_END};

/// Size of `Elf64_Ehdr`.
const FILE_HEADER_SIZE: usize = 64;
/// Size of `Elf64_Phdr`.
const PROGRAM_HEADER_SIZE: u16 = 56;

/// What `e_type` says the file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `ET_EXEC`: loaded at the addresses in its program headers.
    Executable,
    /// `ET_DYN` without `PT_INTERP` (a static PIE): loaded anywhere, at a page-aligned bias.
    PositionIndependent,
}

/// Access a segment asks for (`p_flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Permissions {
    /// `PF_R`.
    pub read: bool,
    /// `PF_W`.
    pub write: bool,
    /// `PF_X`.
    pub execute: bool,
}

/// One `PT_LOAD` segment, at its unbiased address.
///
/// Memory `[vaddr, vaddr + file_size)` holds file bytes `[file_offset, file_offset +
/// file_size)`; the rest, up to `vaddr + mem_size`, is zero. Two segments never share a byte,
/// but they may share a page (the end of one and the start of the next): the kernel then maps
/// that page with both segments' permissions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_memsz`, never 0.
    pub mem_size: u64,
    /// `p_offset`; congruent to `vaddr` modulo [`PAGE_SIZE`].
    pub file_offset: u64,
    /// `p_filesz`, at most `mem_size`; the range lies inside the file.
    pub file_size: u64,
    /// `p_flags`.
    pub permissions: Permissions,
}

/// A static executable, checked and ready to be mapped.
#[derive(Clone, Debug)]
pub struct Image {
    /// `ET_EXEC` or static PIE.
    pub kind: Kind,
    /// `e_entry`, unbiased (add [`Image::bias_for`] for a position-independent image). Lies
    /// inside a segment with execute permission.
    pub entry: u64,
    /// The `PT_LOAD` segments with a non-zero `p_memsz`, sorted by `vaddr`, unbiased, never
    /// overlapping, all below [`USER_END`]. At least one.
    pub segments: Vec<Segment>,
    /// Where the program headers are in memory (unbiased): `PT_PHDR`'s address, or else the
    /// address of `e_phoff` inside the segment that loads it; `None` if no segment loads them.
    /// This is `AT_PHDR`, which a static glibc needs to find its TLS template.
    pub phdr_vaddr: Option<u64>,
    /// `e_phnum` (`AT_PHNUM`).
    pub phdr_count: u16,
    /// `e_phentsize` (`AT_PHENT`), always 56.
    pub phdr_entry_size: u16,
    /// `PF_X` of `PT_GNU_STACK`; without that header the x86_64 default, not executable.
    pub stack_executable: bool,
    /// `[lowest, highest)` page-aligned bounds of all segments, unbiased.
    pub span: (u64, u64),
}

impl Image {
    /// The load bias: what to add to every address of the image (segments, entry, program
    /// headers). 0 for [`Kind::Executable`]; for [`Kind::PositionIndependent`], the bias that
    /// puts `span.0` at `preferred_base` rounded down to a page.
    ///
    /// The result is modular (static PIEs start at `span.0 == 0`, but a hostile one need not):
    /// add it with `wrapping_add`, and check the biased span against the user half before
    /// mapping.
    pub fn bias_for(&self, preferred_base: u64) -> u64 {
        match self.kind {
            Kind::Executable => 0,
            Kind::PositionIndependent => page_down(preferred_base).wrapping_sub(self.span.0),
        }
    }
}

/// Parses and checks a static ELF64 x86_64 executable (`ET_EXEC`, or `ET_DYN` without
/// `PT_INTERP`). Reads only the file header and the program headers; never panics.
pub fn parse(bytes: &[u8]) -> Result<Image, ElfError> {
    let file_size = bytes.len() as u64;
    let header = file_header(bytes)?;
    let endian = LittleEndian;

    let kind = match header.e_type.get(endian) {
        ET_EXEC => Kind::Executable,
        ET_DYN => Kind::PositionIndependent,
        other => return Err(ElfError::NotExecutable(other)),
    };
    let machine = header.e_machine.get(endian);
    if machine != EM_X86_64 {
        return Err(ElfError::WrongMachine(machine));
    }

    let phdr_count = header.e_phnum.get(endian);
    let phdr_entry_size = header.e_phentsize.get(endian);
    if phdr_count == 0 {
        return Err(ElfError::NoLoadableSegment);
    }
    if usize::from(phdr_count) > MAX_PROGRAM_HEADERS {
        return Err(ElfError::TooManyProgramHeaders(phdr_count));
    }
    if phdr_entry_size != PROGRAM_HEADER_SIZE {
        return Err(ElfError::ProgramHeaderSize(phdr_entry_size));
    }
    let table_offset = header.e_phoff.get(endian);
    let table_size = u64::from(phdr_count) * u64::from(PROGRAM_HEADER_SIZE);
    let beyond_file = ElfError::ProgramHeadersBeyondFile {
        offset: table_offset,
        size: table_size,
        file_size,
    };
    // The table may not overlap the file header (`object` also reads offset 0 as "none").
    if table_offset < FILE_HEADER_SIZE as u64
        || table_offset
            .checked_add(table_size)
            .is_none_or(|end| end > file_size)
    {
        return Err(beyond_file);
    }
    let headers = header
        .program_headers(endian, bytes)
        .map_err(|_| beyond_file.clone())?;
    if headers.len() != usize::from(phdr_count) {
        return Err(beyond_file);
    }

    // A dynamically linked program is refused before anything else is judged: its interpreter
    // is the most useful thing to tell the user.
    if let Some(interpreter) = headers.iter().find(|h| h.p_type(endian) == PT_INTERP) {
        return Err(ElfError::NeedsInterpreter(interpreter_path(
            interpreter,
            bytes,
        )));
    }

    let mut loads: Vec<(usize, Segment)> = Vec::new();
    let mut program_header_segment = None;
    let mut stack_executable = false;
    for (index, program_header) in headers.iter().enumerate() {
        match program_header.p_type(endian) {
            PT_LOAD => {
                if let Some(segment) = load_segment(index, program_header, file_size)? {
                    loads.push((index, segment));
                }
            }
            PT_PHDR => program_header_segment = Some(program_header.p_vaddr(endian)),
            PT_GNU_STACK => stack_executable = program_header.p_flags(endian) & PF_X != 0,
            _ => {}
        }
    }

    loads.sort_by_key(|(_, segment)| segment.vaddr);
    for pair in loads.windows(2) {
        let ((first, low), (second, high)) = (&pair[0], &pair[1]);
        // Both ends were checked against USER_END, so the sum cannot overflow.
        if low.vaddr + low.mem_size > high.vaddr {
            return Err(ElfError::SegmentsOverlap {
                first: *first.min(second),
                second: *first.max(second),
            });
        }
    }
    let segments: Vec<Segment> = loads.into_iter().map(|(_, segment)| segment).collect();
    let (Some(lowest), Some(highest)) = (segments.first(), segments.last()) else {
        return Err(ElfError::NoLoadableSegment);
    };
    let span = (
        page_down(lowest.vaddr),
        page_up(highest.vaddr + highest.mem_size),
    );

    let entry = header.e_entry.get(endian);
    if !segments
        .iter()
        .any(|s| s.permissions.execute && contains(s.vaddr, s.mem_size, entry, 1))
    {
        return Err(ElfError::EntryNotExecutable(entry));
    }

    let phdr_vaddr = match program_header_segment {
        Some(address) => {
            // Loaded from the file, so the program finds its headers there, not zeros.
            if !segments
                .iter()
                .any(|s| contains(s.vaddr, s.file_size, address, table_size))
            {
                return Err(ElfError::ProgramHeadersNotLoaded(address));
            }
            Some(address)
        }
        None => segments
            .iter()
            .find(|s| contains(s.file_offset, s.file_size, table_offset, table_size))
            .map(|s| s.vaddr + (table_offset - s.file_offset)),
    };

    Ok(Image {
        kind,
        entry,
        segments,
        phdr_vaddr,
        phdr_count,
        phdr_entry_size,
        stack_executable,
        span,
    })
}

/// Checks `e_ident` field by field (so the error says which one is wrong) and reads the header.
fn file_header(bytes: &[u8]) -> Result<&FileHeader64<LittleEndian>, ElfError> {
    if !bytes.starts_with(&object::elf::ELFMAG) {
        return Err(ElfError::NotElf);
    }
    if bytes.len() < FILE_HEADER_SIZE {
        return Err(ElfError::TruncatedHeader {
            file_size: bytes.len() as u64,
        });
    }
    match bytes[4] {
        object::elf::ELFCLASS64 => {}
        object::elf::ELFCLASS32 => return Err(ElfError::ThirtyTwoBit),
        other => return Err(ElfError::UnknownClass(other)),
    }
    match bytes[5] {
        object::elf::ELFDATA2LSB => {}
        object::elf::ELFDATA2MSB => return Err(ElfError::BigEndian),
        other => return Err(ElfError::UnknownEncoding(other)),
    }
    if bytes[6] != object::elf::EV_CURRENT {
        return Err(ElfError::UnknownVersion(u32::from(bytes[6])));
    }
    let header =
        FileHeader64::<LittleEndian>::parse(bytes).map_err(|_| ElfError::TruncatedHeader {
            file_size: bytes.len() as u64,
        })?;
    let version = header.e_version.get(LittleEndian);
    if version != u32::from(object::elf::EV_CURRENT) {
        return Err(ElfError::UnknownVersion(version));
    }
    Ok(header)
}

/// Checks one `PT_LOAD` header; `None` for a segment that occupies no memory.
fn load_segment(
    index: usize,
    program_header: &ProgramHeader64<LittleEndian>,
    file_size: u64,
) -> Result<Option<Segment>, ElfError> {
    let endian = LittleEndian;
    let vaddr = program_header.p_vaddr(endian);
    let mem_size = program_header.p_memsz(endian);
    let file_offset = program_header.p_offset(endian);
    let segment_file_size = program_header.p_filesz(endian);
    let flags = program_header.p_flags(endian);

    let (Some(file_end), Some(memory_end)) = (
        file_offset.checked_add(segment_file_size),
        vaddr.checked_add(mem_size),
    ) else {
        return Err(ElfError::Overflow { index });
    };
    if segment_file_size > mem_size {
        return Err(ElfError::MemorySmallerThanFile {
            index,
            mem_size,
            file_size: segment_file_size,
        });
    }
    if file_end > file_size {
        return Err(ElfError::SegmentBeyondFile {
            index,
            offset: file_offset,
            size: segment_file_size,
            file_size,
        });
    }
    if mem_size == 0 {
        return Ok(None);
    }
    if memory_end > USER_END {
        return Err(ElfError::AboveUserHalf {
            address: memory_end - 1,
        });
    }
    if (vaddr ^ file_offset) & (PAGE_SIZE - 1) != 0 {
        return Err(ElfError::Incongruent {
            index,
            offset: file_offset,
            vaddr,
        });
    }
    Ok(Some(Segment {
        vaddr,
        mem_size,
        file_offset,
        file_size: segment_file_size,
        permissions: Permissions {
            read: flags & PF_R != 0,
            write: flags & PF_W != 0,
            execute: flags & PF_X != 0,
        },
    }))
}

/// The path `PT_INTERP` names, for the error message; `?` when it cannot be read.
fn interpreter_path(program_header: &ProgramHeader64<LittleEndian>, bytes: &[u8]) -> String {
    match program_header.interpreter(LittleEndian, bytes) {
        Ok(Some(path)) => String::from_utf8_lossy(path).into_owned(),
        _ => String::from("?"),
    }
}

/// Whether `[start, start + length)` contains all of `[inner, inner + inner_length)`, without
/// overflow for any input.
fn contains(start: u64, length: u64, inner: u64, inner_length: u64) -> bool {
    inner >= start
        && inner
            .checked_add(inner_length)
            .zip(start.checked_add(length))
            .is_some_and(|(inner_end, end)| inner_end <= end)
}

const fn page_down(address: u64) -> u64 {
    address & !(PAGE_SIZE - 1)
}

/// Only called on addresses at most [`USER_END`], so it cannot overflow.
const fn page_up(address: u64) -> u64 {
    page_down(address + (PAGE_SIZE - 1))
}
