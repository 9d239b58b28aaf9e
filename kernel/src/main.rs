//! The kernel binary: everything lives in the library; `kernel_entry` is called from `boot.S`.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
use kernel as _;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("the kernel runs on bare metal only: build and boot it with `cargo xtask run`");
    std::process::exit(2);
}
