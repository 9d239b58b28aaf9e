//! Builds the C contract suite and, when `RUMP_COMPONENTS` names a directory, links the rump
//! component archives found there (whole-archive, docs/contract.md §7.2) for
//! `tests/components.rs`.
//!
//! Nothing is built from NetBSD sources here: the archives are whatever the user placed in
//! that directory. With the variable unset the build needs no component at all.

use std::env;
use std::path::{Path, PathBuf};

/// Archives the ext2 component test needs, dependents first (see COMPONENTS.md).
const EXT2_SET: &[&str] = &[
    "rumpfs_ext2fs",
    "rumpfs_ffs",
    "rumpdev_disk",
    "rumpdev",
    "rumpvfs",
    "rump",
];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let include =
        env::var("DEP_RUMPUSER_C_INCLUDE").expect("rumpuser exports its include directory");
    let contract = manifest.join("contract");

    let mut build = cc::Build::new();
    build
        .include(&include)
        .include(&contract)
        .flag_if_supported("-std=gnu11")
        .warnings(true)
        .extra_warnings(true);
    for file in [
        "contract_main.c",
        "checks_locks.c",
        "checks_condvar.c",
        "checks_system.c",
        "checks_io.c",
        "contract_platform_posix.c",
    ] {
        build.file(contract.join(file));
    }
    build.compile("rumpcontract");
    println!("cargo:rerun-if-changed=contract");

    println!("cargo:rustc-check-cfg=cfg(rump_components)");
    println!("cargo:rerun-if-env-changed=RUMP_COMPONENTS");
    if let Some(dir) = env::var_os("RUMP_COMPONENTS").map(PathBuf::from) {
        link_components(&dir);
    }
}

fn link_components(dir: &Path) {
    let missing: Vec<&str> = EXT2_SET
        .iter()
        .copied()
        .filter(|lib| !dir.join(format!("lib{lib}.a")).is_file())
        .collect();
    if !missing.is_empty() {
        println!(
            "cargo:warning=RUMP_COMPONENTS={}: missing {:?}; component tests will skip",
            dir.display(),
            missing
        );
        return;
    }
    println!("cargo:rustc-link-search=native={}", dir.display());
    for lib in EXT2_SET {
        println!("cargo:rustc-link-lib=static:-bundle,+whole-archive={lib}");
    }
    // Link sets are found through __start_/__stop_ symbols only (contract §7.3): keep them.
    println!("cargo:rustc-link-arg=-Wl,-z,nostart-stop-gc");
    println!("cargo:rustc-cfg=rump_components");
}
