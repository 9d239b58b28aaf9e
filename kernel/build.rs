//! Links the kernel with its own linker script when built for bare metal.
fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    if target_os == "none" {
        build_contract_suite(&dir);
        println!("cargo:rustc-link-arg-bins=-T{dir}/linker.ld");
        println!("cargo:rustc-link-arg-bins=--no-pie");
        println!("cargo:rustc-link-arg-bins=-zmax-page-size=4096");
    }
    println!("cargo:rerun-if-changed=linker.ld");
    println!("cargo:rerun-if-changed=src/arch/x86_64/boot.S");
    println!("cargo:rerun-if-changed=src/arch/x86_64/traps.S");
    println!("cargo:rerun-if-changed=src/arch/x86_64/switch.S");
    println!("cargo:rerun-if-changed=src/arch/x86_64/trampoline.S");
}

/// Compiles the C contract suite (the same sources `cargo test` runs on the host) with the
/// kernel's code-generation flags; `src/rumphost/contract.rs` supplies its platform functions.
fn build_contract_suite(dir: &str) {
    let root = std::path::Path::new(dir)
        .parent()
        .expect("the kernel lives in the workspace");
    let contract = root.join("tests/rump/contract");
    let mut build = cc::Build::new();
    build
        .compiler("gcc")
        .include(root.join("rumpuser/include"))
        .include(&contract)
        .pic(false);
    for flag in [
        "-std=gnu11",
        "-ffreestanding",
        "-fno-stack-protector",
        "-mno-red-zone",
        "-mcmodel=kernel",
        "-mgeneral-regs-only",
        "-fno-pic",
        "-fno-pie",
        "-O2",
    ] {
        build.flag(flag);
    }
    for file in [
        "contract_main.c",
        "checks_locks.c",
        "checks_condvar.c",
        "checks_system.c",
        "checks_io.c",
    ] {
        build.file(contract.join(file));
        println!("cargo:rerun-if-changed={}", contract.join(file).display());
    }
    build.compile("rumpcontract");
}
