//! Build script: compiles the C side of the boundary (dprintf and the header's ABI checks).
//!
//! `c/dprintf.c` is the only C in the crate (stable Rust cannot define a variadic function,
//! docs/contract.md §1.7). `c/abi_check.c` is compiled with the same flags so that a header change
//! that breaks a struct layout or a prototype fails the build. Nothing here touches the
//! network or anything outside this crate.

use std::env;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let include = manifest.join("include");
    let target = env::var("TARGET").expect("cargo sets this");

    let mut build = cc::Build::new();
    build
        .include(&include)
        .file(manifest.join("c/dprintf.c"))
        .file(manifest.join("c/abi_check.c"))
        .flag_if_supported("-std=c11")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true);
    if target == "x86_64-unknown-none" {
        // Same environment as the kernel's Rust code: no libc, no SSE, kernel code model.
        build.compiler("gcc");
        for flag in [
            "-ffreestanding",
            "-fno-stack-protector",
            "-mno-red-zone",
            "-mcmodel=kernel",
            "-fno-pic",
            "-mgeneral-regs-only",
            "-nostdlib",
        ] {
            build.flag(flag);
        }
        build.pic(false);
    } else if target == "aarch64-unknown-none-softfloat" {
        // The aarch64 kernel's environment: Debian's cross compiler, no FP/SIMD registers (the
        // kernel is soft-float), static addresses in the small code model.
        build.compiler("aarch64-linux-gnu-gcc");
        for flag in [
            "-ffreestanding",
            "-fno-stack-protector",
            "-mgeneral-regs-only",
            "-mcmodel=small",
            "-fno-pic",
            "-nostdlib",
        ] {
            build.flag(flag);
        }
        build.pic(false);
    } else {
        build.flag("-ffreestanding").flag("-fno-stack-protector");
    }
    build.compile("rumpuser_c");

    println!("cargo:include={}", include.display());
    println!("cargo:rerun-if-changed=c");
    println!("cargo:rerun-if-changed=include");
}
