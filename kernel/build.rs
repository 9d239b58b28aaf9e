//! Links the kernel with its own linker script when built for bare metal.
fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-check-cfg=cfg(rump_components)");
    println!("cargo:rustc-check-cfg=cfg(rump_wrap_aio_biodone)");
    println!("cargo:rustc-check-cfg=cfg(rump_autoconf)");
    println!("cargo:rustc-check-cfg=cfg(rump_wrap_bus_space_write_2)");
    println!("cargo:rustc-check-cfg=cfg(rump_wrap_pci_glue)");
    println!("cargo:rustc-check-cfg=cfg(rump_net)");
    println!("cargo:rerun-if-env-changed=RUMP_COMPONENTS");
    if target_os == "none" {
        // The suite plays the rump kernel itself (its own rumpuser_init and a fake
        // rump_components link-set entry), so it is only linked when real components are not.
        if std::env::var_os(rump_build::COMPONENTS_ENV).is_none() {
            build_contract_suite(&dir, &target_arch);
        }
        link_components();
        let script = if target_arch == "aarch64" {
            "linker-aarch64.ld"
        } else {
            "linker.ld"
        };
        println!("cargo:rustc-link-arg-bins=-T{dir}/{script}");
        println!("cargo:rustc-link-arg-bins=--no-pie");
        println!("cargo:rustc-link-arg-bins=-zmax-page-size=4096");
    }
    println!("cargo:rerun-if-changed=linker.ld");
    println!("cargo:rerun-if-changed=linker-aarch64.ld");
    for file in ["boot.S", "vectors.S", "switch.S"] {
        println!("cargo:rerun-if-changed=src/arch/aarch64/{file}");
    }
    println!("cargo:rerun-if-changed=src/arch/x86_64/boot.S");
    println!("cargo:rerun-if-changed=src/arch/x86_64/traps.S");
    println!("cargo:rerun-if-changed=src/arch/x86_64/switch.S");
    println!("cargo:rerun-if-changed=src/arch/x86_64/trampoline.S");
}

/// Compiles the C contract suite (the same sources `cargo test` runs on the host) with the
/// kernel's code-generation flags; `src/rumphost/contract.rs` supplies its platform functions.
fn build_contract_suite(dir: &str, target_arch: &str) {
    let root = std::path::Path::new(dir)
        .parent()
        .expect("the kernel lives in the workspace");
    let contract = root.join("tests/rump/contract");
    let mut build = cc::Build::new();
    // The same flags in spirit on both architectures: freestanding, no FP/SIMD registers (the
    // kernel saves them only for threads that ask), static addresses the linker resolves.
    let (compiler, flags): (&str, &[&str]) = if target_arch == "aarch64" {
        (
            "aarch64-linux-gnu-gcc",
            &[
                "-std=gnu11",
                "-ffreestanding",
                "-fno-stack-protector",
                "-mgeneral-regs-only",
                "-mcmodel=small",
                "-fno-pic",
                "-fno-pie",
                "-O2",
            ],
        )
    } else {
        (
            "gcc",
            &[
                "-std=gnu11",
                "-ffreestanding",
                "-fno-stack-protector",
                "-mno-red-zone",
                "-mcmodel=kernel",
                "-mgeneral-regs-only",
                "-fno-pic",
                "-fno-pie",
                "-O2",
            ],
        )
    };
    build
        .compiler(compiler)
        .include(root.join("rumpuser/include"))
        .include(&contract)
        .pic(false);
    for flag in flags {
        build.flag(flag);
    }
    for file in [
        "contract_main.c",
        "checks_locks.c",
        "checks_condvar.c",
        "checks_system.c",
        "checks_io.c",
        "panic_drill.c",
    ] {
        build.file(contract.join(file));
        println!("cargo:rerun-if-changed={}", contract.join(file).display());
    }
    build.compile("rumpcontract");
}

/// With `RUMP_COMPONENTS=DIR`, checks the archives there against the host's exports and links
/// them whole-archive in dependency order; a set the kernel cannot host stops the build with the
/// missing symbols and build-variant problems named.
fn link_components() {
    let Some(directory) = std::env::var_os(rump_build::COMPONENTS_ENV) else {
        return;
    };
    let directory = std::path::PathBuf::from(directory);
    match rump_build::emit_cargo_link_args(&directory) {
        Ok(report) => {
            println!("cargo:rustc-cfg=rump_components");
            // NetBSD's rump VFS completes asynchronous page I/O on the spot, which a soft
            // interrupt may not do (USB completes there): the kernel interposes on it
            // (src/rumphost/aiodone.rs) and defers such completions to a service thread.
            if report
                .archives
                .iter()
                .any(|archive| archive.defined.contains("rumpns_uvm_aio_biodone"))
            {
                println!("cargo:rustc-link-arg-bins=--wrap=rumpns_uvm_aio_biodone");
                println!("cargo:rustc-cfg=rump_wrap_aio_biodone");
            }
            let defines = |symbol: &str| {
                report
                    .archives
                    .iter()
                    .any(|archive| archive.defined.contains(symbol))
            };
            // NetBSD's rump PCI glue panics in these two, which a driver calls when its attach
            // fails; the kernel implements them (src/rumphost/pci_glue.rs).
            if defines("rumpns_pci_intr_disestablish") && defines("rumpns_bus_space_unmap") {
                println!("cargo:rustc-link-arg-bins=--wrap=rumpns_pci_intr_disestablish");
                println!("cargo:rustc-link-arg-bins=--wrap=rumpns_bus_space_unmap");
                println!("cargo:rustc-cfg=rump_wrap_pci_glue");
            }
            // NetBSD's hdaudio leaves QEMU's intel-hda unable to answer; the kernel mends its
            // register writes (src/rumphost/qemu_hda.rs).
            if defines("rumpns_hdaudio_attach") && defines("rumpns_bus_space_write_2") {
                println!("cargo:rustc-link-arg-bins=--wrap=rumpns_bus_space_write_2");
                println!("cargo:rustc-cfg=rump_wrap_bus_space_write_2");
            }
            // `rump devices` walks NetBSD's autoconf device list (librumpdev).
            if report
                .archives
                .iter()
                .any(|archive| archive.defined.contains("rumpns_deviter_first"))
            {
                println!("cargo:rustc-cfg=rump_autoconf");
            }
            // NetBSD's IPv4 (librumpnet_net) is linked: the rump network stack comes up.
            if report
                .archives
                .iter()
                .any(|archive| archive.defined.contains("rumpns_in_control"))
            {
                println!("cargo:rustc-cfg=rump_net");
            }
            let script = std::fs::read_to_string("linker.ld").unwrap_or_default();
            let missing = report.link_sets_missing_from_script(&script);
            if !missing.is_empty() {
                eprintln!(
                    "error: the components use link sets the kernel's linker script lacks: {}",
                    missing.join(" ")
                );
                std::process::exit(1);
            }
        }
        Err(error) => {
            eprintln!(
                "error: cannot link the rump components in {}:\n{error}",
                directory.display()
            );
            std::process::exit(1);
        }
    }
}
