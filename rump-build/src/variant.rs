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

/// The machine an object was compiled for (its ELF `e_machine`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Machine {
    /// `EM_X86_64`.
    X86_64,
    /// `EM_AARCH64`.
    Aarch64,
    /// Anything else, by the `object` crate's name.
    Other(String),
}

impl Machine {
    /// The name Rust's `target_arch` uses for it.
    pub fn target_arch(&self) -> &str {
        match self {
            Machine::X86_64 => "x86_64",
            Machine::Aarch64 => "aarch64",
            Machine::Other(name) => name,
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.target_arch())
    }
}

/// `R_AARCH64_*` relocation types this module looks at (ELF for the Arm 64-bit Architecture,
/// section 5.7).
pub mod aarch64_r_type {
    /// Absolute 32-bit.
    pub const ABS32: u32 = 258;
    /// Absolute 16-bit.
    pub const ABS16: u32 = 259;
    /// MOVZ/MOVK absolute address pieces: the large code model.
    pub const MOVW_UABS: std::ops::RangeInclusive<u32> = 263..=270;
    /// PC-relative within ±1 MiB (`ADR`, literal loads): the tiny code model.
    pub const TINY: [u32; 2] = [273, 274];
    /// `ADRP` page-relative within ±4 GiB and the low-12-bit companions: the small model.
    pub const PAGE: [u32; 2] = [275, 276];
    /// GOT-relative (PIC).
    pub const GOT: [u32; 3] = [311, 312, 313];
    /// The TLS relocation block (general and local dynamic, initial and local exec, TLSDESC).
    pub const TLS: std::ops::RangeInclusive<u32> = 512..=573;

    /// The ABI name of a relocation type.
    pub fn name(r_type: u32) -> String {
        let known = match r_type {
            0 => "NONE",
            257 => "ABS64",
            258 => "ABS32",
            259 => "ABS16",
            260 => "PREL64",
            261 => "PREL32",
            262 => "PREL16",
            263 => "MOVW_UABS_G0",
            264 => "MOVW_UABS_G0_NC",
            265 => "MOVW_UABS_G1",
            266 => "MOVW_UABS_G1_NC",
            267 => "MOVW_UABS_G2",
            268 => "MOVW_UABS_G2_NC",
            269 => "MOVW_UABS_G3",
            273 => "LD_PREL_LO19",
            274 => "ADR_PREL_LO21",
            275 => "ADR_PREL_PG_HI21",
            276 => "ADR_PREL_PG_HI21_NC",
            277 => "ADD_ABS_LO12_NC",
            278 => "LDST8_ABS_LO12_NC",
            279 => "TSTBR14",
            280 => "CONDBR19",
            282 => "JUMP26",
            283 => "CALL26",
            284 => "LDST16_ABS_LO12_NC",
            285 => "LDST32_ABS_LO12_NC",
            286 => "LDST64_ABS_LO12_NC",
            299 => "LDST128_ABS_LO12_NC",
            311 => "ADR_GOT_PAGE",
            312 => "LD64_GOT_LO12_NC",
            313 => "LD64_GOTPAGE_LO15",
            _ if TLS.contains(&r_type) => return format!("R_AARCH64_TLS<{r_type}>"),
            _ => return format!("R_AARCH64_<{r_type}>"),
        };
        format!("R_AARCH64_{known}")
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
    /// aarch64 with `R_AARCH64_ABS32`/`ABS16` in loaded sections: addresses must fit 32 bits,
    /// so only below 4 GiB (the kernel lives at the top of the address space).
    Absolute32 {
        /// Number of such relocations.
        count: usize,
    },
    /// aarch64 tiny code model (`ADR`/literal loads within ±1 MiB of the code): only images
    /// smaller than 1 MiB, which a kernel with components is not.
    Tiny {
        /// Number of such relocations.
        count: usize,
    },
    /// aarch64 small code model (`ADRP` within ±4 GiB of the code): fine, the components are
    /// linked into the kernel image.
    PageRelative {
        /// Number of `ADR_PREL_PG_HI21` relocations.
        adrp: usize,
    },
    /// aarch64 large code model (`MOVZ`/`MOVK` absolute addresses): links anywhere.
    Large {
        /// Number of `MOVW_UABS_*` relocations.
        movw: usize,
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
            CodeModel::Absolute32 { count } => write!(
                f,
                "32-bit absolute addresses ({count} R_AARCH64_ABS32/ABS16): links only below 4 GiB"
            ),
            CodeModel::Tiny { count } => write!(
                f,
                "tiny code model ({count} ADR/literal relocations within 1 MiB): too short a reach"
            ),
            CodeModel::PageRelative { adrp } => write!(
                f,
                "small code model ({adrp} R_AARCH64_ADR_PREL_PG_HI21, within 4 GiB of the code): \
                 fits the kernel image"
            ),
            CodeModel::Large { movw } => {
                write!(
                    f,
                    "large code model ({movw} R_AARCH64_MOVW_UABS_*): links anywhere"
                )
            }
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
    /// The machine the archive was compiled for (the first, when members disagree).
    pub machine: Machine,
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

/// The aarch64 code model from relocation counts.
fn aarch64_code_model(archive: &ArchiveInfo) -> CodeModel {
    use aarch64_r_type::*;
    let count = |accept: &dyn Fn(u32) -> bool| -> usize {
        archive
            .relocations
            .iter()
            .filter(|(t, _)| accept(**t))
            .map(|(_, n)| n)
            .sum()
    };
    let absolute32 = count(&|t| t == ABS32 || t == ABS16);
    let tiny = count(&|t| TINY.contains(&t));
    let movw = count(&|t| MOVW_UABS.contains(&t));
    let adrp = count(&|t| PAGE.contains(&t));
    let got = count(&|t| GOT.contains(&t));
    // ADRP reaches both a symbol's page and its GOT entry's page: whichever most addresses go
    // through names the build (weak symbols go through the GOT even without -fPIC).
    let got_pages = count(&|t| t == GOT[0]);
    if absolute32 > 0 {
        CodeModel::Absolute32 { count: absolute32 }
    } else if tiny > 0 {
        CodeModel::Tiny { count: tiny }
    } else if movw > 0 {
        CodeModel::Large { movw }
    } else if adrp > 0 && adrp >= got_pages {
        CodeModel::PageRelative { adrp }
    } else {
        CodeModel::PositionIndependent { got_or_plt: got }
    }
}

/// Derives the build-variant findings of one archive.
pub fn variant_of(archive: &ArchiveInfo) -> Variant {
    use r_type::*;
    let machine = archive
        .machines
        .iter()
        .next()
        .cloned()
        .unwrap_or(Machine::X86_64);
    let aarch64 = machine == Machine::Aarch64;
    let count = |types: &[u32]| -> usize {
        types
            .iter()
            .map(|t| archive.relocations.get(t).copied().unwrap_or(0))
            .sum()
    };
    let absolute32 = count(&[R_32, R_16, R_8]);
    let absolute32s = count(&[R_32S]);
    let code_model = if aarch64 {
        aarch64_code_model(archive)
    } else if absolute32 > 0 {
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
        .filter(|(t, _)| match aarch64 {
            true => aarch64_r_type::TLS.contains(*t),
            false => (TLS_FIRST..=TLS_LAST).contains(*t) || TLSDESC.contains(t),
        })
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
        machine,
        code_model,
        relocations: archive
            .relocations
            .iter()
            .map(|(t, n)| match aarch64 {
                true => (aarch64_r_type::name(*t), *n),
                false => (r_type::name(*t), *n),
            })
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
