//! Checks a set of archives against the host: unresolved symbols, hypercalls, link order and
//! build variant, turned into a [`Report`] with refusals and warnings.
//!
//! Reads nothing itself beyond what [`crate::archive`] returns; prints nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::archive::{read_archive, ArchiveInfo};
use crate::error::Error;
use crate::header::HostExports;
use crate::order::link_order;
use crate::report::{Refusal, Report, Unresolved, Warning};
use crate::symbols::{classify, link_set_name, user_space_reason, SymbolClass};
use crate::variant::{variant_of, CodeModel, Machine, Scanned};

/// The `lib*.a` files of `dir`, sorted by name.
pub fn find_archives(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut archives = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with("lib") && name.ends_with(".a") && path.is_file() {
            archives.push(path);
        }
    }
    archives.sort();
    if archives.is_empty() {
        return Err(Error::NoArchives(dir.to_path_buf()));
    }
    Ok(archives)
}

/// Reads every archive of `dir` and checks the set against `exports`.
pub fn check_dir_with(dir: &Path, exports: &HostExports) -> Result<Report, Error> {
    let archives = find_archives(dir)?
        .iter()
        .map(|path| read_archive(path))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(check_archives(dir, archives, exports))
}

/// Checks archives already read.
pub fn check_archives(dir: &Path, archives: Vec<ArchiveInfo>, exports: &HostExports) -> Report {
    // Who defines what, and the "imports from" graph.
    let mut definers: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, archive) in archives.iter().enumerate() {
        for name in &archive.defined {
            definers.entry(name).or_default().push(i);
        }
    }
    let depends: Vec<BTreeSet<usize>> = archives
        .iter()
        .enumerate()
        .map(|(i, archive)| {
            archive
                .imports
                .keys()
                .filter_map(|name| definers.get(name.as_str()))
                .flatten()
                .copied()
                .filter(|&j| j != i)
                .collect()
        })
        .collect();
    let order = link_order(&depends);

    // Unresolved imports of the whole set.
    let mut unresolved: BTreeMap<&str, Unresolved> = BTreeMap::new();
    for archive in &archives {
        for (name, &weak) in &archive.imports {
            if definers.contains_key(name.as_str()) {
                continue;
            }
            let entry = unresolved.entry(name).or_insert_with(|| Unresolved {
                name: name.clone(),
                class: classify(name),
                weak: true,
                needed_by: Vec::new(),
            });
            entry.weak &= weak;
            entry.needed_by.push(archive.name.clone());
        }
    }
    let unresolved: Vec<Unresolved> = unresolved.into_values().collect();

    let mut link_sets: BTreeSet<String> = unresolved
        .iter()
        .filter_map(|u| link_set_name(&u.name).map(String::from))
        .collect();
    for archive in &archives {
        link_sets.extend(archive.link_set_sections.iter().cloned());
    }
    let hypercalls_used = unresolved
        .iter()
        .filter(|u| u.class == SymbolClass::Hypercall && exports.contains(&u.name))
        .count();

    let variants: Vec<_> = archives.iter().map(variant_of).collect();
    let (mut refusals, mut warnings) = symbol_findings(&archives, &unresolved, exports);
    // USB DMA is a compile-time option, visible only as a reference that is there or not: the
    // USB core's usbdi (the member defining usbd_transfer) calls the DMA allocator only when
    // NUSB_DMA was on. Its buffer allocator is static and inlined, so it carries no symbol.
    for archive in &archives {
        let usbdi = archive.strong_definitions.get("rumpns_usbd_transfer");
        let calls_dma_allocator = |member: &String| {
            archive
                .referenced_by_member
                .get(member)
                .is_some_and(|names| names.contains("rumpns_usb_allocmem_flags"))
        };
        if usbdi.is_some_and(|member| !calls_dma_allocator(member)) {
            refusals.push(Refusal::UsbWithoutDma {
                archive: archive.name.clone(),
            });
        }
    }
    for (archive, variant) in archives.iter().zip(&variants) {
        let name = archive.name.clone();
        match variant.code_model {
            CodeModel::Small { absolute32 } => refusals.push(Refusal::SmallCodeModel {
                archive: name.clone(),
                count: absolute32,
            }),
            CodeModel::Absolute32 { count } => refusals.push(Refusal::Absolute32 {
                archive: name.clone(),
                count,
            }),
            CodeModel::Tiny { count } => refusals.push(Refusal::TinyCodeModel {
                archive: name.clone(),
                count,
            }),
            _ => {}
        }
        if !variant.stack_protector.is_empty() {
            refusals.push(Refusal::StackProtector {
                archive: name.clone(),
                names: variant.stack_protector.clone(),
            });
        }
        if !variant.tls.is_empty() {
            refusals.push(Refusal::Tls {
                archive: name.clone(),
                evidence: variant.tls.clone(),
            });
        }
        if !variant.constructors.is_empty() {
            refusals.push(Refusal::Constructors {
                archive: name.clone(),
                sections: variant.constructors.clone(),
            });
        }
        if let Scanned::Found { count, samples } = &variant.red_zone {
            if *count > 0 {
                refusals.push(Refusal::RedZone {
                    archive: name.clone(),
                    functions: *count,
                    samples: samples.clone(),
                });
            }
        }
        if let Scanned::Found { count, samples } = &variant.vector_state {
            if *count > 0 && variant.machine == Machine::Aarch64 {
                warnings.push(Warning::FpSimdState {
                    archive: name.clone(),
                    instructions: *count,
                    samples: samples.clone(),
                });
            } else if *count > 0 {
                warnings.push(Warning::VectorState {
                    archive: name.clone(),
                    instructions: *count,
                    samples: samples.clone(),
                });
            }
        }
    }
    let machines: std::collections::BTreeSet<&Machine> =
        archives.iter().flat_map(|a| a.machines.iter()).collect();
    if machines.len() > 1 {
        refusals.push(Refusal::MixedArchitectures {
            machines: archives
                .iter()
                .flat_map(|a| a.machines.iter().map(move |m| format!("{}: {m}", a.name)))
                .collect(),
        });
    }
    let pic: Vec<String> = archives
        .iter()
        .filter(|archive| archive.imports.contains_key("_GLOBAL_OFFSET_TABLE_"))
        .map(|archive| archive.name.clone())
        .collect();
    if !pic.is_empty() {
        warnings.push(Warning::PicBuild { archives: pic });
    }
    Report {
        directory: dir.to_path_buf(),
        archives,
        variants,
        order,
        unresolved,
        link_sets,
        hypercalls_used,
        refusals,
        warnings,
    }
}

/// Refusals and warnings that come from symbols: missing hypercalls and components, libc
/// imports, hypercalls defined by an archive, duplicate definitions.
fn symbol_findings(
    archives: &[ArchiveInfo],
    unresolved: &[Unresolved],
    exports: &HostExports,
) -> (Vec<Refusal>, Vec<Warning>) {
    let mut refusals = Vec::new();
    let mut warnings = Vec::new();
    for archive in archives {
        let needed: Vec<&Unresolved> = unresolved
            .iter()
            .filter(|u| u.needed_by.contains(&archive.name))
            .collect();
        let strong = |class: &dyn Fn(&SymbolClass) -> bool| -> Vec<&Unresolved> {
            needed
                .iter()
                .copied()
                .filter(|u| !archive.imports[&u.name] && class(&u.class))
                .collect()
        };
        let names = |list: Vec<&Unresolved>| -> Vec<String> {
            list.into_iter().map(|u| u.name.clone()).collect()
        };
        let missing = names(
            strong(&|c| *c == SymbolClass::Hypercall)
                .into_iter()
                .filter(|u| !exports.contains(&u.name))
                .collect(),
        );
        if !missing.is_empty() {
            refusals.push(Refusal::MissingHypercalls {
                archive: archive.name.clone(),
                names: missing,
            });
        }
        let other = names(strong(&|c| *c == SymbolClass::Other));
        if !other.is_empty() {
            refusals.push(Refusal::UnresolvedSymbols {
                archive: archive.name.clone(),
                names: other,
            });
        }
        // The stack protector and __tls_get_addr get refusals of their own (variant checks).
        let user_space: Vec<String> = strong(&|c| *c == SymbolClass::UserSpace)
            .into_iter()
            .filter(|u| !u.name.starts_with("__stack_chk_") && u.name != "__tls_get_addr")
            .map(|u| match user_space_reason(&u.name) {
                Some(why) => format!("{} ({why})", u.name),
                None => u.name.clone(),
            })
            .collect();
        if !user_space.is_empty() {
            refusals.push(Refusal::UserSpaceImports {
                archive: archive.name.clone(),
                names: user_space,
            });
        }
        let weak: Vec<String> = needed
            .iter()
            .filter(|u| archive.imports[&u.name])
            .filter(|u| matches!(u.class, SymbolClass::Other | SymbolClass::UserSpace))
            .map(|u| u.name.clone())
            .collect();
        if !weak.is_empty() {
            warnings.push(Warning::WeakUnresolved {
                archive: archive.name.clone(),
                names: weak,
            });
        }
        let defines_hypercalls: Vec<String> = archive
            .strong_definitions
            .keys()
            .filter(|name| exports.contains(name))
            .cloned()
            .collect();
        if !defines_hypercalls.is_empty() {
            refusals.push(Refusal::DefinesHypercalls {
                archive: archive.name.clone(),
                names: defines_hypercalls,
            });
        }
    }
    let mut strong_definers: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for archive in archives {
        for name in archive.strong_definitions.keys() {
            strong_definers
                .entry(name)
                .or_default()
                .push(archive.name.clone());
        }
    }
    for (symbol, definers) in strong_definers {
        if definers.len() > 1 {
            refusals.push(Refusal::DuplicateDefinition {
                symbol: symbol.to_string(),
                archives: definers,
            });
        }
    }
    (refusals, warnings)
}
