//! Reads one component archive: its symbols, relocations and the sections that matter.
//!
//! Owns the translation from `ar` + ELF (through the `object` crate) into [`ArchiveInfo`], a
//! plain summary the checks work on. It judges nothing; [`crate::variant`] and
//! [`crate::report`] do.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use object::read::archive::ArchiveFile;
use object::{Object, ObjectSection, ObjectSymbol, RelocationFlags, SectionFlags, SymbolKind};

use crate::disassembly::{self, CodeScan};
use crate::error::Error;
use crate::variant::Machine;

/// ELF `SHF_ALLOC`: the section occupies memory in the final image.
const SHF_ALLOC: u64 = 0x2;
/// ELF `SHF_EXECINSTR`: the section holds code.
const SHF_EXECINSTR: u64 = 0x4;
/// ELF `SHF_TLS`: thread-local storage template.
const SHF_TLS: u64 = 0x400;
/// Prefix of the input sections link sets live in (docs/contract.md §7.1).
pub const LINK_SET_SECTION_PREFIX: &str = "link_set_";

/// What one archive defines, imports and how its objects were compiled.
#[derive(Clone, Debug, Default)]
pub struct ArchiveInfo {
    /// File name, e.g. `librump.a`.
    pub name: String,
    /// Full path.
    pub path: PathBuf,
    /// File size in bytes.
    pub size: u64,
    /// Number of ELF object members.
    pub objects: usize,
    /// Global and weak symbols some member defines (including common symbols).
    pub defined: BTreeSet<String>,
    /// Strong (non-weak, non-common) definitions and the member defining each.
    pub strong_definitions: BTreeMap<String, String>,
    /// Symbols members reference but no member of this archive defines; the value is true when
    /// every reference is weak (a weak undefined symbol resolves to 0 instead of failing).
    pub imports: BTreeMap<String, bool>,
    /// Every symbol some member references, including those another member defines (build
    /// options show up as references that are present or absent).
    pub referenced: BTreeSet<String>,
    /// The symbols each member references but does not define itself, by member name.
    pub referenced_by_member: BTreeMap<String, BTreeSet<String>>,
    /// Relocation counts by ELF `r_type`, for loaded (`SHF_ALLOC`) sections only.
    pub relocations: BTreeMap<u32, usize>,
    /// `member: section` for every TLS section (`.tdata`, `.tbss`, `SHF_TLS`).
    pub tls_sections: Vec<String>,
    /// Number of TLS symbols defined or referenced.
    pub tls_symbols: usize,
    /// `member: section` for every non-empty `.init_array`/`.ctors` section.
    pub constructor_sections: Vec<String>,
    /// Link-set names (`X` of `link_set_X`) of sections some member contributes to.
    pub link_set_sections: BTreeSet<String>,
    /// Findings of the code scan (SSE/x87 or FP/SIMD use, red-zone accesses).
    pub code: CodeScan,
    /// The machines the members were compiled for (one for a sane archive).
    pub machines: BTreeSet<Machine>,
}

/// Reads and summarises the archive at `path`.
pub fn read_archive(path: &Path) -> Result<ArchiveInfo, Error> {
    let data = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let malformed = |member: Option<String>, reason: String| Error::Malformed {
        path: path.to_path_buf(),
        member,
        reason,
    };
    let archive = ArchiveFile::parse(&*data)
        .map_err(|error| malformed(None, format!("not an ar archive: {error}")))?;
    let mut info = ArchiveInfo {
        name: path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        path: path.to_path_buf(),
        size: data.len() as u64,
        ..ArchiveInfo::default()
    };
    let mut undefined: BTreeMap<String, bool> = BTreeMap::new();
    for member in archive.members() {
        let member = member.map_err(|error| malformed(None, format!("bad member: {error}")))?;
        let member_name = String::from_utf8_lossy(member.name()).into_owned();
        let bytes = member
            .data(&*data)
            .map_err(|error| malformed(Some(member_name.clone()), error.to_string()))?;
        if !bytes.starts_with(b"\x7fELF") {
            // Not an object (e.g. a stray text file); the linker ignores it as well.
            continue;
        }
        // Members sit at 2-byte aligned offsets; the ELF reader wants its headers 8-byte
        // aligned, so misaligned members are copied (the allocator returns aligned blocks).
        let copy;
        let bytes = if bytes.as_ptr().align_offset(8) == 0 {
            bytes
        } else {
            copy = bytes.to_vec();
            &copy[..]
        };
        let file = object::File::parse(bytes)
            .map_err(|error| malformed(Some(member_name.clone()), error.to_string()))?;
        read_object(&file, &member_name, &mut info, &mut undefined);
    }
    info.referenced = undefined.keys().cloned().collect();
    info.imports = undefined
        .into_iter()
        .filter(|(name, _)| !info.defined.contains(name))
        .collect();
    Ok(info)
}

fn read_object(
    file: &object::File<'_>,
    member: &str,
    info: &mut ArchiveInfo,
    undefined: &mut BTreeMap<String, bool>,
) {
    info.objects += 1;
    let machine = match file.architecture() {
        object::Architecture::X86_64 => Machine::X86_64,
        object::Architecture::Aarch64 => Machine::Aarch64,
        other => Machine::Other(format!("{other:?}")),
    };
    info.machines.insert(machine.clone());
    for symbol in file.symbols() {
        let Ok(name) = symbol.name() else { continue };
        if name.is_empty()
            || symbol.kind() == SymbolKind::Section
            || symbol.kind() == SymbolKind::File
        {
            continue;
        }
        if symbol.kind() == SymbolKind::Tls {
            info.tls_symbols += 1;
        }
        if symbol.is_undefined() {
            if symbol.is_global() || symbol.is_weak() {
                info.referenced_by_member
                    .entry(member.to_string())
                    .or_default()
                    .insert(name.to_string());
                let weak = symbol.is_weak();
                undefined
                    .entry(name.to_string())
                    .and_modify(|all_weak| *all_weak &= weak)
                    .or_insert(weak);
            }
        } else if symbol.is_global() || symbol.is_weak() {
            info.defined.insert(name.to_string());
            if !symbol.is_weak() && !symbol.is_common() {
                info.strong_definitions
                    .entry(name.to_string())
                    .or_insert_with(|| member.to_string());
            }
        }
    }
    for section in file.sections() {
        let name = section.name().unwrap_or("");
        let flags = match section.flags() {
            SectionFlags::Elf { sh_flags } => sh_flags,
            _ => 0,
        };
        if flags & SHF_TLS != 0 || name.starts_with(".tdata") || name.starts_with(".tbss") {
            info.tls_sections.push(format!("{member}: {name}"));
        }
        let constructor = name.starts_with(".init_array")
            || name.starts_with(".ctors")
            || name.starts_with(".preinit_array");
        if constructor && section.size() > 0 {
            info.constructor_sections.push(format!("{member}: {name}"));
        }
        if let Some(set) = name.strip_prefix(LINK_SET_SECTION_PREFIX) {
            info.link_set_sections.insert(set.to_string());
        }
        if flags & SHF_ALLOC == 0 {
            continue;
        }
        for (_, relocation) in section.relocations() {
            if let RelocationFlags::Elf { r_type } = relocation.flags() {
                *info.relocations.entry(r_type).or_default() += 1;
            }
        }
        if flags & SHF_EXECINSTR != 0 {
            if let Ok(code) = section.data() {
                let functions: Vec<(String, u64, u64)> = file
                    .symbols()
                    .filter(|s| s.section_index() == Some(section.index()))
                    .filter(|s| s.kind() == SymbolKind::Text && s.size() > 0)
                    .map(|s| (s.name().unwrap_or("?").to_string(), s.address(), s.size()))
                    .collect();
                if machine == Machine::Aarch64 {
                    disassembly::scan_aarch64_section(code, &functions, &mut info.code);
                } else {
                    disassembly::scan_section(code, &functions, &mut info.code);
                }
            }
        }
    }
}
