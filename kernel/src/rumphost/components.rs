//! Statically linked rump components (built with `RUMP_COMPONENTS=DIR`): boot the rump kernel at
//! start-up and report its state to the `rump` shell command.

use core::sync::atomic::{AtomicI32, Ordering};

/// `rump_init()` result: i32::MIN = not attempted.
static INIT_RESULT: AtomicI32 = AtomicI32::new(i32::MIN);

/// Boots the linked rump kernel, if any (contract §10.1).
pub fn boot() {
    #[cfg(rump_components)]
    {
        log::info!("rump: calling rump_init()");
        // SAFETY: the hypercall host is installed and the component archives are linked;
        // rump_init takes no arguments and is called once.
        let result = unsafe { rumpuser::rump_api::rump_init() };
        INIT_RESULT.store(result, Ordering::Release);
        if result == 0 {
            log::info!("rump: rump_init() returned 0; the rump kernel is up");
        } else {
            log::error!("rump: rump_init() failed with error {result}");
        }
    }
}

/// Whether components were linked into this kernel.
pub const LINKED: bool = cfg!(rump_components);

/// The `rump` shell command: status, or `mount DEV PATH`, `umount PATH [DEV]`, `ls PATH`,
/// `cat PATH`, `read PATH` through the rump kernel.
pub fn shell(arguments: &str) {
    if !LINKED {
        crate::println!(
            "rump: no components linked (build with RUMP_COMPONENTS=DIR; see docs/components.md)"
        );
        return;
    }
    let words: alloc::vec::Vec<&str> = arguments.split_whitespace().collect();
    if words.is_empty() {
        match INIT_RESULT.load(Ordering::Acquire) {
            i32::MIN => crate::println!("rump: components linked, rump_init() not called"),
            0 => crate::println!("rump: components linked, rump kernel running (rump_init() = 0)"),
            error => {
                crate::println!("rump: components linked, rump_init() failed with error {error}")
            }
        }
        return;
    }
    if INIT_RESULT.load(Ordering::Acquire) != 0 {
        crate::println!("rump: the rump kernel is not running");
    } else {
        subcommand(&words);
    }
}

#[cfg(not(rump_components))]
fn subcommand(_words: &[&str]) {}

#[cfg(rump_components)]
fn subcommand(words: &[&str]) {
    use super::rumpfs;
    let result = match words {
        ["mount", device, path] => rumpfs::mount(device, path, false),
        ["mount", device, path, "rw"] => rumpfs::mount(device, path, true),
        ["write", path, rest @ ..] if !rest.is_empty() => rumpfs::write_text(path, &rest.join(" ")),
        ["umount", path] => rumpfs::unmount(path, None),
        ["umount", path, device] => rumpfs::unmount(path, Some(device)),
        ["ls", path] => rumpfs::list(path),
        ["cat", path] => rumpfs::cat(path),
        ["read", path] => rumpfs::timed_read(path),
        _ => Err(
            "usage: rump [mount DEV PATH [rw] | umount PATH [DEV] | ls PATH | cat PATH | read PATH | write PATH TEXT]"
                .into(),
        ),
    };
    if let Err(error) = result {
        crate::println!("rump {}: {error}", words[0]);
    }
}
