//! Generates the Rust side of our own C headers with bindgen, so no NetBSD layout is restated
//! by hand: `rump_api::audio` from `include/netbsd_audio.h` (the structures and request numbers
//! of NetBSD's audio and mixer ioctls) and `rump_api::net` from `include/rump_net.h` (NetBSD's
//! network types, constants and the rump kernel's socket calls). clang checks each header's
//! `_Static_assert`s (sizes, ioctl numbers) while parsing it.

use std::path::PathBuf;

fn out_dir() -> PathBuf {
    PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
}

fn audio() {
    let header = "include/netbsd_audio.h";
    println!("cargo:rerun-if-changed={header}");
    let bindings = bindgen::Builder::default()
        .header(header)
        .use_core()
        .ctypes_prefix("core::ffi")
        .allowlist_type("nb_.*")
        .allowlist_var("NB_.*")
        // Plain Rust values for the structures: zeroable, printable, copyable. No `Default` for
        // the unions and what holds them: bindgen would zero-fill them with `unsafe`, which this
        // crate denies; callers build them from one member instead.
        .derive_default(true)
        .no_default("nb_mixer_(detail|setting|devinfo|ctrl)")
        .derive_debug(true)
        .derive_copy(true)
        .layout_tests(true)
        // Target-independent: the rump kernel is NetBSD/amd64 whatever the build host is.
        .clang_arg("--target=x86_64-unknown-linux-gnu")
        .generate()
        .unwrap_or_else(|error| {
            panic!("bindgen on {header}: {error} (is libclang installed? scripts/setup)")
        });
    bindings
        .write_to_file(out_dir().join("netbsd_audio.rs"))
        .expect("write the generated bindings");
}

fn net() {
    let header = "include/rump_net.h";
    println!("cargo:rerun-if-changed={header}");
    let bindings = bindgen::Builder::default()
        .header(header)
        // The layouts are NetBSD's for x86_64 whatever crate target is being built; the header
        // includes nothing, so the host's own C library plays no part.
        .clang_args([
            "--target=x86_64-unknown-linux-gnu",
            "-nostdinc",
            "-ffreestanding",
        ])
        .use_core()
        .ctypes_prefix("core::ffi")
        .allowlist_file(".*rump_net\\.h")
        .layout_tests(false)
        // No Default: bindgen writes it for unions and long arrays with `unsafe`, and this
        // crate has none; callers zero the structures they fill.
        .derive_default(false)
        // Plain `extern "C"` blocks (Rust before 1.82 had no `unsafe extern`): the crate
        // denies unsafe code, and declarations are all it holds.
        .rust_target(bindgen::RustTarget::stable(81, 0).expect("a known Rust version"))
        .derive_debug(true)
        .derive_copy(true)
        .generate()
        .unwrap_or_else(|error| {
            panic!("bindgen cannot read {header}: {error} (is libclang installed? scripts/setup)")
        });
    bindings
        .write_to_file(out_dir().join("rump_net.rs"))
        .expect("writing the generated bindings");
}

fn main() {
    audio();
    net();
}
