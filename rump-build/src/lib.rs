//! Host side of the rump component plug-in point: check a directory of archives, order them.
//!
//! A kernel `build.rs` calls [`emit_cargo_link_args`] with the directory named by
//! `RUMP_COMPONENTS`. The archives found there (`lib*.a`) are read, their unresolved imports
//! are checked against the hypercalls our `rumpuser/include/rumpuser.h` declares, their build
//! variant is read from ELF data (docs/contract.md §7.5), and, when the kernel can host them, the
//! whole-archive linker arguments are printed for cargo in dependency order (contract §7.2).
//! When it cannot, the error lists every reason by name instead of leaving an opaque link failure.
//! The `rumpcheck` binary prints the same [`Report`] for people.
//!
//! This crate never builds, fetches or contains component code; it only reads what it is given.

#![forbid(unsafe_code)]

mod archive;
mod check;
mod disassembly;
mod error;
mod header;
mod order;
mod report;
pub mod sets;
mod symbols;
mod variant;

use std::path::Path;

pub use archive::{read_archive, ArchiveInfo};
pub use check::{check_archives, check_dir_with, find_archives};
pub use disassembly::CodeScan;
pub use error::Error;
pub use header::HostExports;
pub use order::LinkUnit;
pub use report::{Refusal, Report, Unresolved, Warning};
pub use symbols::{classify, SymbolClass};
pub use variant::{CodeModel, Machine, Scanned, Variant};

/// The environment variable naming the component directory.
pub const COMPONENTS_ENV: &str = "RUMP_COMPONENTS";

/// Reads every `lib*.a` of `dir` and checks it against the host's built-in exports.
///
/// Fails only when the directory or an archive cannot be read; whether the set can be hosted
/// is [`Report::is_hostable`], with the reasons in [`Report::refusals`].
pub fn check_dir(dir: &Path) -> Result<Report, Error> {
    check_dir_with(dir, &HostExports::builtin())
}

/// For a kernel `build.rs`: checks `dir` and prints `cargo:rustc-link-arg-bins=` lines for
/// [`Report::link_args`], plus `cargo:rerun-if-changed` for the directory and each archive.
///
/// Returns [`Error::Refused`] (listing every missing symbol by name with the archive needing
/// it, and every build-variant problem with its reason) when the set cannot be hosted, so the
/// build can print that instead of an opaque link error. Warnings are printed as
/// `cargo:warning=` lines.
pub fn emit_cargo_link_args(dir: &Path) -> Result<Report, Error> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut report = check_dir(dir)?;
    // A build script knows the kernel's architecture: archives for another are refused.
    if let Ok(wanted) = std::env::var("CARGO_CFG_TARGET_ARCH") {
        refuse_other_architectures(&mut report, &wanted);
    }
    for archive in &report.archives {
        println!("cargo:rerun-if-changed={}", archive.path.display());
    }
    for warning in &report.warnings {
        println!("cargo:warning={warning}");
    }
    if !report.is_hostable() {
        return Err(Error::Refused(report.refusals.clone()));
    }
    for arg in report.link_args() {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    Ok(report)
}

/// Adds a refusal when archives of `report` were built for another architecture than `wanted`
/// (Rust's `target_arch` name: `x86_64`, `aarch64`).
pub fn refuse_other_architectures(report: &mut Report, wanted: &str) {
    let foreign: Vec<&ArchiveInfo> = report
        .archives
        .iter()
        .filter(|a| a.machines.iter().any(|m| m.target_arch() != wanted))
        .collect();
    if let Some(first) = foreign.first() {
        let found = first
            .machines
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join("+");
        let archives = foreign.iter().map(|a| a.name.clone()).collect();
        report.refusals.push(Refusal::WrongArchitecture {
            archives,
            found,
            wanted: wanted.to_string(),
        });
    }
}
