//! The result of checking a component directory, and its text form for `rumpcheck`.
//!
//! [`Report`] holds the archives in link order, the unresolved symbols by class, each
//! archive's build variant, and the [`Refusal`]s and [`Warning`]s derived from them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use crate::archive::ArchiveInfo;
use crate::order::LinkUnit;
use crate::symbols::SymbolClass;
use crate::variant::{summarise, Machine, Scanned, Variant};

/// A symbol no archive of the set defines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unresolved {
    /// The symbol.
    pub name: String,
    /// What kind of symbol it is.
    pub class: SymbolClass,
    /// True when every reference is weak (it then resolves to 0 instead of failing the link).
    pub weak: bool,
    /// File names of the archives importing it.
    pub needed_by: Vec<String>,
}

/// A reason the kernel cannot host the set; each `Display` says why and what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A USB stack built without USB DMA support while host controllers ask for DMA buffers.
    UsbWithoutDma {
        /// The USB archive.
        archive: String,
    },
    /// Hypercalls the archive imports that the host's header does not declare.
    MissingHypercalls {
        /// The archive.
        archive: String,
        /// The hypercall names.
        names: Vec<String>,
    },
    /// Strong `rumpns_*`-style imports nothing in the directory defines.
    UnresolvedSymbols {
        /// The archive.
        archive: String,
        /// The symbol names.
        names: Vec<String>,
    },
    /// libc / user-space symbols (unrenamed names, profiling hooks, ...).
    UserSpaceImports {
        /// The archive.
        archive: String,
        /// `name (why)` entries.
        names: Vec<String>,
    },
    /// `R_X86_64_32` relocations in loaded sections.
    SmallCodeModel {
        /// The archive.
        archive: String,
        /// How many.
        count: usize,
    },
    /// aarch64 `R_AARCH64_ABS32`/`ABS16` relocations in loaded sections.
    Absolute32 {
        /// The archive.
        archive: String,
        /// How many.
        count: usize,
    },
    /// aarch64 tiny code model relocations (±1 MiB reach).
    TinyCodeModel {
        /// The archive.
        archive: String,
        /// How many.
        count: usize,
    },
    /// Archives (or members) built for different machines.
    MixedArchitectures {
        /// `archive: machine` entries.
        machines: Vec<String>,
    },
    /// Archives built for another machine than the kernel being built.
    WrongArchitecture {
        /// The archives.
        archives: Vec<String>,
        /// Their machine.
        found: String,
        /// The kernel's.
        wanted: String,
    },
    /// Stack-protector imports.
    StackProtector {
        /// The archive.
        archive: String,
        /// `__stack_chk_fail` and/or `__stack_chk_guard`.
        names: Vec<String>,
    },
    /// Thread-local storage (TLS `curlwp`).
    Tls {
        /// The archive.
        archive: String,
        /// The evidence.
        evidence: Vec<String>,
    },
    /// Constructor sections.
    Constructors {
        /// The archive.
        archive: String,
        /// `member: section` entries.
        sections: Vec<String>,
    },
    /// Accesses below the stack pointer.
    RedZone {
        /// The archive.
        archive: String,
        /// Number of functions.
        functions: usize,
        /// Example function names.
        samples: Vec<String>,
    },
    /// The archive defines hypercalls the host exports too: a duplicate definition.
    DefinesHypercalls {
        /// The archive.
        archive: String,
        /// The hypercall names.
        names: Vec<String>,
    },
    /// A strong symbol defined by more than one archive: whole-archive linking fails.
    DuplicateDefinition {
        /// The symbol.
        symbol: String,
        /// The archives defining it.
        archives: Vec<String>,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::MissingHypercalls { archive, names } => write!(
                f,
                "{archive} needs {} hypercall{} the host does not export (not declared in \
                 rumpuser/include/rumpuser.h): {}",
                names.len(),
                plural(names.len()),
                names.join(", ")
            ),
            Refusal::UnresolvedSymbols { archive, names } => write!(
                f,
                "{archive} needs {} symbol{} no archive in the directory defines: {}; add the \
                 component archives that define them (see docs/components.md)",
                names.len(),
                plural(names.len()),
                names.join(", ")
            ),
            Refusal::UserSpaceImports { archive, names } => write!(
                f,
                "{archive} imports user-space symbols the kernel does not provide: {}; it was \
                 built against libc instead of as a freestanding rump kernel component (whose \
                 libc names are renamed to rumpns_*)",
                names.join(", ")
            ),
            Refusal::SmallCodeModel { archive, count } => write!(
                f,
                "{archive} has {count} R_X86_64_32 relocation{} in loaded sections: it was built \
                 for the small code model and cannot be linked into a kernel placed in the top \
                 2 GiB; rebuild with the kernel code model (-mcmodel=kernel -fno-pic) or PIC (-fPIC)",
                plural(*count)
            ),
            Refusal::Absolute32 { archive, count } => write!(
                f,
                "{archive} has {count} R_AARCH64_ABS32/ABS16 relocation{} in loaded sections: \
                 32-bit absolute addresses cannot reach a kernel placed at the top of the address \
                 space; rebuild with -mcmodel=small (ADRP) or -mcmodel=large, and no 32-bit \
                 pointers in data",
                plural(*count)
            ),
            Refusal::TinyCodeModel { archive, count } => write!(
                f,
                "{archive} was built for the tiny code model ({count} ADR/literal relocation{} \
                 reaching only 1 MiB): the kernel with its components is larger; rebuild with \
                 -mcmodel=small",
                plural(*count)
            ),
            Refusal::MixedArchitectures { machines } => write!(
                f,
                "the archives were built for different machines ({}): a set is built for one \
                 architecture",
                machines.join(", ")
            ),
            Refusal::WrongArchitecture {
                archives,
                found,
                wanted,
            } => write!(
                f,
                "{} built for {found}, but this kernel is built for {wanted}; point \
                 RUMP_COMPONENTS at a set built for {wanted}",
                summarise(archives)
            ),
            Refusal::StackProtector { archive, names } => write!(
                f,
                "{archive} was built with the stack protector (imports {}): its canary is read \
                 from %fs:0x28, which the kernel does not set up; rebuild with -fno-stack-protector",
                names.join(", ")
            ),
            Refusal::Tls { archive, evidence } => write!(
                f,
                "{archive} uses thread-local storage ({}), as with a TLS curlwp: the kernel \
                 provides no ELF TLS; rebuild so curlwp goes through the rumpuser_curlwp hypercall",
                evidence.join(", ")
            ),
            Refusal::UsbWithoutDma { archive } => write!(
                f,
                "{archive} was built without USB DMA support (its usbdi, the member defining \
                 usbd_transfer, never calls usb_allocmem_flags: NUSB_DMA was 0), but \
                 EHCI/OHCI/UHCI use DMA buffers; the first transfer fails a kernel assertion \
                 (\"ub_usedma == false\") or uses unmapped buffers; the kernel needs a USB core \
                 compiled with NUSB_DMA=1"
            ),
            Refusal::Constructors { archive, sections } => write!(
                f,
                "{archive} has constructors ({}): the kernel does not run .init_array/.ctors, so \
                 those components would silently never register; rebuild so components register \
                 through link sets",
                summarise(sections)
            ),
            Refusal::RedZone { archive, functions, samples } => write!(
                f,
                "{archive} uses the red zone ({functions} function{} access memory below %rsp, e.g. \
                 {}): an interrupt taken on the same stack overwrites it; rebuild with -mno-red-zone",
                plural(*functions),
                samples.join(", ")
            ),
            Refusal::DefinesHypercalls { archive, names } => write!(
                f,
                "{archive} defines hypercalls the host already exports ({}): the link would have \
                 two definitions; use archives built without a platform's own hypercall code",
                summarise(names)
            ),
            Refusal::DuplicateDefinition { symbol, archives } => write!(
                f,
                "{symbol} is defined by {}: linked whole-archive this is a duplicate symbol; keep \
                 only one of those archives",
                archives.join(" and ")
            ),
        }
    }
}

/// Something the kernel can live with but that costs or deserves a look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// x87/MMX/SSE/AVX instructions in the code.
    VectorState {
        /// The archive.
        archive: String,
        /// Instruction count.
        instructions: usize,
        /// Example functions.
        samples: Vec<String>,
    },
    /// aarch64 FP/SIMD instructions in the code.
    FpSimdState {
        /// The archive.
        archive: String,
        /// Instruction count.
        instructions: usize,
        /// Example functions.
        samples: Vec<String>,
    },
    /// Weak imports nothing defines: they resolve to address 0.
    WeakUnresolved {
        /// The archive.
        archive: String,
        /// The symbols.
        names: Vec<String>,
    },
    /// `_GLOBAL_OFFSET_TABLE_` imported: a PIC build.
    PicBuild {
        /// The archives.
        archives: Vec<String>,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::VectorState {
                archive,
                instructions,
                samples,
            } => write!(
                f,
                "{archive} uses x87/SSE/AVX registers ({instructions} instruction{}, e.g. in {}): \
                 the kernel must save and restore FPU/SSE state on every switch between threads \
                 running C code; -mgeneral-regs-only avoids that",
                plural(*instructions),
                samples.join(", ")
            ),
            Warning::FpSimdState {
                archive,
                instructions,
                samples,
            } => write!(
                f,
                "{archive} uses FP/SIMD registers ({instructions} instruction{}, e.g. in {}): the \
                 kernel is soft-float and saves v0-v31 only for threads that ask, so every host \
                 thread running this code must; -mgeneral-regs-only avoids that",
                plural(*instructions),
                samples.join(", ")
            ),
            Warning::WeakUnresolved { archive, names } => write!(
                f,
                "{archive} has weak references nothing defines (they resolve to 0): {}",
                summarise(names)
            ),
            Warning::PicBuild { archives } => write!(
                f,
                "{} built as PIC (imports _GLOBAL_OFFSET_TABLE_): links anywhere, but the kernel \
                 code model (-mcmodel=kernel -fno-pic) avoids GOT indirection",
                summarise(archives)
            ),
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Everything known about one component directory.
#[derive(Clone, Debug)]
pub struct Report {
    /// The directory scanned.
    pub directory: PathBuf,
    /// The archives, sorted by file name.
    pub archives: Vec<ArchiveInfo>,
    /// Build variant of each archive (same indices as `archives`).
    pub variants: Vec<Variant>,
    /// Link order: indices into `archives`, dependents first; cycles as groups.
    pub order: Vec<LinkUnit>,
    /// Symbols no archive defines, sorted by name.
    pub unresolved: Vec<Unresolved>,
    /// Link-set names: from bracket imports and from `link_set_*` sections.
    pub link_sets: BTreeSet<String>,
    /// Hypercalls the set imports that the host exports.
    pub hypercalls_used: usize,
    /// Reasons the set cannot be hosted; empty when it can.
    pub refusals: Vec<Refusal>,
    /// Things worth knowing that do not stop the link.
    pub warnings: Vec<Warning>,
}

impl Report {
    /// Whether the kernel can link and run these archives.
    pub fn is_hostable(&self) -> bool {
        self.refusals.is_empty()
    }

    /// The archives in link order (a cycle's members adjacent).
    pub fn ordered_archives(&self) -> impl Iterator<Item = &ArchiveInfo> {
        self.order
            .iter()
            .flat_map(|unit| unit.members().iter().map(|&i| &self.archives[i]))
    }

    /// Raw linker arguments (for `ld`/`rust-lld` directly; a C compiler driver needs each
    /// wrapped as `-Wl,ARG`): `--whole-archive`, the archives in link order with cycles in
    /// `--start-group`/`--end-group`, `--no-whole-archive`.
    pub fn link_args(&self) -> Vec<String> {
        let mut args = vec!["--whole-archive".to_string()];
        for unit in &self.order {
            let path = |i: &usize| self.archives[*i].path.display().to_string();
            match unit {
                LinkUnit::Single(i) => args.push(path(i)),
                LinkUnit::Group(members) => {
                    args.push("--start-group".to_string());
                    args.extend(members.iter().map(path));
                    args.push("--end-group".to_string());
                }
            }
        }
        args.push("--no-whole-archive".to_string());
        args
    }

    /// The link sets a kernel linker script (its text) does not provide for: each set needs a
    /// `KEEP` of its `link_set_X` input section and a definition of `__start_link_set_X`
    /// (docs/contract.md §7.3). Returns the uncovered set names; empty when the script is
    /// complete.
    pub fn link_sets_missing_from_script(&self, script: &str) -> Vec<String> {
        self.link_sets
            .iter()
            .filter(|set| {
                let keeps = script.contains(&format!("(link_set_{set})"));
                let defines = script.contains(&format!("__start_link_set_{set}"))
                    && script.contains(&format!("__stop_link_set_{set}"));
                !(keeps && defines)
            })
            .cloned()
            .collect()
    }

    /// Imports still missing, grouped by the archive that needs them (hypercalls and others).
    pub fn missing_by_archive(&self) -> BTreeMap<String, Vec<String>> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for refusal in &self.refusals {
            if let Refusal::MissingHypercalls { archive, names }
            | Refusal::UnresolvedSymbols { archive, names } = refusal
            {
                map.entry(archive.clone())
                    .or_default()
                    .extend(names.iter().cloned());
            }
        }
        map
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rump components in {}", self.directory.display())?;
        writeln!(
            f,
            "\narchives in link order (dependents first, linked whole-archive):"
        )?;
        let mut position = 0;
        let mut groups = 0;
        for unit in &self.order {
            let group = if let LinkUnit::Group(_) = unit {
                groups += 1;
                format!("  [cycle group {groups}]")
            } else {
                String::new()
            };
            for &i in unit.members() {
                position += 1;
                let archive = &self.archives[i];
                writeln!(
                    f,
                    "  {position:>2}. {:<28} {:>10} bytes  {:>4} objects  {:>6} defined  {:>5} imported{}",
                    archive.name,
                    archive.size,
                    archive.objects,
                    archive.defined.len(),
                    archive.imports.len(),
                    group
                )?;
            }
        }
        writeln!(f, "\nbuild variant:")?;
        for (archive, variant) in self.archives.iter().zip(&self.variants) {
            writeln!(f, "  {}:", archive.name)?;
            writeln!(f, "    machine:         {}", variant.machine)?;
            writeln!(f, "    code model:      {}", variant.code_model)?;
            let relocations: Vec<String> = variant
                .relocations
                .iter()
                .map(|(name, n)| format!("{name} {n}"))
                .collect();
            writeln!(
                f,
                "    relocations:     {}",
                or_none(&relocations.join(", "))
            )?;
            writeln!(
                f,
                "    stack protector: {}",
                yes_no_list(&variant.stack_protector)
            )?;
            writeln!(f, "    TLS:             {}", yes_no_list(&variant.tls))?;
            writeln!(
                f,
                "    constructors:    {}",
                yes_no_list(&variant.constructors)
            )?;
            if variant.machine == Machine::Aarch64 {
                writeln!(f, "    red zone:        not applicable (AAPCS64 has none)")?;
                writeln!(
                    f,
                    "    FP/SIMD:         {}",
                    scanned(&variant.vector_state, "instructions")
                )?;
            } else {
                writeln!(
                    f,
                    "    red zone:        {}",
                    scanned(&variant.red_zone, "functions")
                )?;
                writeln!(
                    f,
                    "    x87/SSE/AVX:     {}",
                    scanned(&variant.vector_state, "instructions")
                )?;
            }
        }
        if self.variants.iter().any(|v| v.machine == Machine::Aarch64) {
            writeln!(f, "\nan aarch64 set needs (docs/components.md):")?;
            for line in AARCH64_NEEDS {
                writeln!(f, "  - {line}")?;
            }
        }
        writeln!(f, "\nunresolved symbols ({}):", self.unresolved.len())?;
        let classes: [(&str, ClassFilter); 5] = [
            ("hypercalls", |c| *c == SymbolClass::Hypercall),
            ("link-set brackets", |c| {
                matches!(c, SymbolClass::LinkSetBracket { .. })
            }),
            ("linker-provided", |c| *c == SymbolClass::LinkerProvided),
            ("user space / libc", |c| *c == SymbolClass::UserSpace),
            ("other", |c| *c == SymbolClass::Other),
        ];
        for (label, matches) in classes {
            let names: Vec<&str> = self
                .unresolved
                .iter()
                .filter(|u| matches(&u.class))
                .map(|u| u.name.as_str())
                .collect();
            writeln!(f, "  {label:<18} {}", names.len())?;
            if label == "user space / libc" || label == "other" {
                for name in names {
                    writeln!(f, "      {name}")?;
                }
            }
        }
        writeln!(
            f,
            "  hypercalls the host exports and the set uses: {}",
            self.hypercalls_used
        )?;
        let sets: Vec<&str> = self.link_sets.iter().map(String::as_str).collect();
        writeln!(
            f,
            "\nlink sets (the kernel's linker script must KEEP link_set_X and define \
             __start_/__stop_link_set_X for each): {}",
            or_none(&sets.join(" "))
        )?;
        let missing = self.missing_by_archive();
        writeln!(f, "\nmissing symbols by archive:")?;
        if missing.is_empty() {
            writeln!(f, "  none")?;
        }
        for (archive, names) in missing {
            writeln!(f, "  {archive}:")?;
            for name in names {
                writeln!(f, "      {name}")?;
            }
        }
        if !self.warnings.is_empty() {
            writeln!(f, "\nwarnings:")?;
            for warning in &self.warnings {
                writeln!(f, "  - {warning}")?;
            }
        }
        if self.refusals.is_empty() {
            writeln!(f, "\nverdict: the kernel can host this set")
        } else {
            writeln!(f, "\nverdict: REFUSED ({} problems):", self.refusals.len())?;
            for refusal in &self.refusals {
                writeln!(f, "  - {refusal}")?;
            }
            Ok(())
        }
    }
}

/// What the aarch64 kernel needs of a component set, printed with an aarch64 report.
pub const AARCH64_NEEDS: &[&str] = &[
    "AArch64 ELF objects, every archive of the set",
    "-mcmodel=small or -mcmodel=large, -fno-pic or -fPIC; no -mcmodel=tiny, no 32-bit absolute \
     pointers (R_AARCH64_ABS32)",
    "-mgeneral-regs-only (the kernel is soft-float; FP/SIMD use is warned and costs a save area \
     per host thread)",
    "-fno-stack-protector, no TLS (curlwp through rumpuser_curlwp), no constructors (link sets)",
    "the same hypercalls and link sets as on x86_64: the host and its linker script are shared",
];

/// Selects one class of unresolved symbols for the report's summary.
type ClassFilter = fn(&SymbolClass) -> bool;

fn or_none(text: &str) -> &str {
    if text.is_empty() {
        "none"
    } else {
        text
    }
}

fn yes_no_list(items: &[String]) -> String {
    if items.is_empty() {
        "no".to_string()
    } else {
        format!("YES ({})", summarise(items))
    }
}

fn scanned(finding: &Scanned, unit: &str) -> String {
    match finding {
        Scanned::Unknown => "unknown (code not decoded)".to_string(),
        Scanned::Found { count: 0, .. } => "none found".to_string(),
        Scanned::Found { count, samples } => {
            format!("YES ({count} {unit}, e.g. {})", samples.join(", "))
        }
    }
}
