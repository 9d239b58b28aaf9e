//! How an archive was compiled, read from ELF data (docs/contract.md §7.5).
//!
//! Code model from the relocation types of loaded sections, stack protector and TLS from
//! imports, sections and relocations, constructors from `.init_array`/`.ctors`, and the code
//! scan's SSE and red-zone findings. Judging the findings is [`crate::check`]'s job.

use std::collections::BTreeMap;
use std::fmt;

use crate::archive::ArchiveInfo;

/// `R_X86_64_*` relocation types this module looks at (System V x86-64 psABI, table 4.9).
pub mod r_type {
    /// GOT entry, absolute 32-bit.
    pub const GOT32: u32 = 3;
    /// PLT-relative 32-bit (calls).
    pub const PLT32: u32 = 4;
    /// GOT entry, PC-relative.
    pub const GOTPCREL: u32 = 9;
    /// Absolute 32-bit, zero-extended: small code model.
    pub const R_32: u32 = 10;
    /// Absolute 32-bit, sign-extended: kernel code model.
    pub const R_32S: u32 = 11;
    /// Absolute 16-bit.
    pub const R_16: u32 = 12;
    /// Absolute 8-bit.
    pub const R_8: u32 = 14;
    /// Offset to GOT, 64-bit.
    pub const GOTOFF64: u32 = 25;
    /// GOT address, PC-relative 32-bit.
    pub const GOTPC32: u32 = 26;
    /// Relaxable GOTPCREL.
    pub const GOTPCRELX: u32 = 41;
    /// Relaxable GOTPCREL with REX prefix.
    pub const REX_GOTPCRELX: u32 = 42;
    /// TLS types: DTPMOD64 .. TPOFF32.
    pub const TLS_FIRST: u32 = 16;
    /// Last of the contiguous TLS block.
    pub const TLS_LAST: u32 = 23;
    /// TLS descriptor types GOTPC32_TLSDESC, TLSDESC_CALL, TLSDESC.
    pub const TLSDESC: [u32; 3] = [34, 35, 36];

    /// The psABI name of a relocation type.
    pub fn name(r_type: u32) -> String {
        let known = match r_type {
            0 => "NONE",
            1 => "64",
            2 => "PC32",
            3 => "GOT32",
            4 => "PLT32",
            9 => "GOTPCREL",
            10 => "32",
            11 => "32S",
            12 => "16",
            13 => "PC16",
            14 => "8",
            15 => "PC8",
            16 => "DTPMOD64",
            17 => "DTPOFF64",
            18 => "TPOFF64",
            19 => "TLSGD",
            20 => "TLSLD",
            21 => "DTPOFF32",
            22 => "GOTTPOFF",
            23 => "TPOFF32",
            24 => "PC64",
            25 => "GOTOFF64",
            26 => "GOTPC32",
            34 => "GOTPC32_TLSDESC",
            35 => "TLSDESC_CALL",
            36 => "TLSDESC",
            41 => "GOTPCRELX",
            42 => "REX_GOTPCRELX",
            _ => return format!("R_X86_64_<{r_type}>"),
        };
        format!("R_X86_64_{known}")
    }
}

/// Where in the address space code with these relocations can be linked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeModel {
    /// `R_X86_64_32` (or 16/8-bit absolute) present: only below 2 GiB (small model, no PIC).
    Small {
        /// Number of zero-extended absolute 32-bit (or narrower) relocations.
        absolute32: usize,
    },
    /// Sign-extended `R_X86_64_32S` but no `R_X86_64_32`: the top 2 GiB (kernel model).
    Kernel {
        /// Number of `R_X86_64_32S` relocations.
        absolute32s: usize,
    },
    /// Only PC-relative, GOT/PLT or 64-bit relocations: any address (PIC or no absolutes).
    PositionIndependent {
        /// Number of GOT/PLT-based relocations (0: no absolute addressing at all).
        got_or_plt: usize,
    },
}

impl fmt::Display for CodeModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeModel::Small { absolute32 } => write!(
                f,
                "small code model, not PIC ({absolute32} R_X86_64_32): links only below 2 GiB"
            ),
            CodeModel::Kernel { absolute32s } => write!(
                f,
                "kernel code model ({absolute32s} R_X86_64_32S, no R_X86_64_32): fits the top 2 GiB"
            ),
            CodeModel::PositionIndependent { got_or_plt } => write!(
                f,
                "position independent ({got_or_plt} GOT/PLT relocations, no 32-bit absolutes): \
                 links anywhere"
            ),
        }
    }
}

/// Red-zone or SSE finding: known from the code scan, or unknown without it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scanned {
    /// The code was decoded; the count of functions or instructions found, and examples.
    Found {
        /// How many.
        count: usize,
        /// Example function names.
        samples: Vec<String>,
    },
    /// Nothing decoded (the `disassembly` feature is off, or no code).
    Unknown,
}

/// Build-variant findings of one archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variant {
    /// Code model from relocations of loaded sections.
    pub code_model: CodeModel,
    /// Relocation counts by psABI name (loaded sections only).
    pub relocations: BTreeMap<String, usize>,
    /// Stack-protector imports (`__stack_chk_fail`, `__stack_chk_guard`).
    pub stack_protector: Vec<String>,
    /// TLS evidence: sections, symbols, relocations, `__tls_get_addr`; empty when none.
    pub tls: Vec<String>,
    /// Non-empty constructor sections (`member: section`).
    pub constructors: Vec<String>,
    /// Functions accessing memory below the stack pointer.
    pub red_zone: Scanned,
    /// Instructions using x87/MMX/SSE/AVX state.
    pub vector_state: Scanned,
}

/// Derives the build-variant findings of one archive.
pub fn variant_of(archive: &ArchiveInfo) -> Variant {
    use r_type::*;
    let count = |types: &[u32]| -> usize {
        types
            .iter()
            .map(|t| archive.relocations.get(t).copied().unwrap_or(0))
            .sum()
    };
    let absolute32 = count(&[R_32, R_16, R_8]);
    let absolute32s = count(&[R_32S]);
    let code_model = if absolute32 > 0 {
        CodeModel::Small { absolute32 }
    } else if absolute32s > 0 {
        CodeModel::Kernel { absolute32s }
    } else {
        CodeModel::PositionIndependent {
            got_or_plt: count(&[
                GOT32,
                PLT32,
                GOTPCREL,
                GOTOFF64,
                GOTPC32,
                GOTPCRELX,
                REX_GOTPCRELX,
            ]),
        }
    };
    let stack_protector = ["__stack_chk_fail", "__stack_chk_guard"]
        .into_iter()
        .filter(|name| archive.imports.contains_key(*name))
        .map(String::from)
        .collect();
    let mut tls = Vec::new();
    if !archive.tls_sections.is_empty() {
        tls.push(format!(
            "TLS sections ({})",
            summarise(&archive.tls_sections)
        ));
    }
    if archive.tls_symbols > 0 {
        tls.push(format!("{} TLS symbols", archive.tls_symbols));
    }
    let tls_relocations: usize = archive
        .relocations
        .iter()
        .filter(|(t, _)| (TLS_FIRST..=TLS_LAST).contains(*t) || TLSDESC.contains(t))
        .map(|(_, n)| n)
        .sum();
    if tls_relocations > 0 {
        tls.push(format!("{tls_relocations} TLS relocations"));
    }
    if archive.imports.contains_key("__tls_get_addr") {
        tls.push("imports __tls_get_addr".to_string());
    }
    let scanned = |decoded: bool, count: usize, samples: &[String]| {
        if decoded {
            Scanned::Found {
                count,
                samples: samples.to_vec(),
            }
        } else {
            Scanned::Unknown
        }
    };
    let code = &archive.code;
    Variant {
        code_model,
        relocations: archive
            .relocations
            .iter()
            .map(|(t, n)| (r_type::name(*t), *n))
            .collect(),
        stack_protector,
        tls,
        constructors: archive.constructor_sections.clone(),
        red_zone: scanned(
            code.decoded,
            code.red_zone_functions,
            &code.red_zone_samples,
        ),
        vector_state: scanned(
            code.decoded,
            code.vector_instructions,
            &code.vector_functions,
        ),
    }
}

/// "a, b, c and 4 more" for long lists in one-line messages.
pub fn summarise(items: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut text = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    text
}
