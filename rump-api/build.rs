//! Generates the Rust side of `include/rump_net.h` (NetBSD's network types, constants and the
//! socket system calls of the rump kernel) with bindgen, so no layout is restated by hand.
//! clang checks the header's static assertions (sizes, ioctl numbers) while parsing it.
fn main() {
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
        .unwrap_or_else(|error| panic!("bindgen cannot read {header}: {error}"));
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    bindings
        .write_to_file(out.join("rump_net.rs"))
        .expect("writing the generated bindings");
}
