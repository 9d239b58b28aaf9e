//! Generates `rump_api::audio` from `include/netbsd_audio.h` with bindgen: the structures and
//! request numbers of NetBSD's audio and mixer ioctls, declared once in C and checked there
//! with `_Static_assert`, reach Rust with the layouts the C compiler gives them.

fn main() {
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
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    bindings
        .write_to_file(out.join("netbsd_audio.rs"))
        .expect("write the generated bindings");
}
