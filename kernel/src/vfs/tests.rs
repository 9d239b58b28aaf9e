//! In-kernel tests of the VFS that need no disk: path rules, the synthetic `/mnt`, and the
//! errors of a read-only root. Disk behaviour is covered by the `ext2_vfs_*` xtask scenarios.

use alloc::string::String;

use super::error::VfsError;
use super::{mount, ops, path};
use crate::{check, kernel_test};

fn normalise_paths() -> Result<(), String> {
    for (input, expected) in [
        ("", "/"),
        ("/", "/"),
        ("mnt", "/mnt"),
        ("/mnt/", "/mnt"),
        ("//mnt//a/./b", "/mnt/a/b"),
        ("/mnt/a/../b", "/mnt/b"),
        ("/../..", "/"),
    ] {
        let got = path::normalise(input).map_err(|e| alloc::format!("{input}: {e}"))?;
        check!(
            got == expected,
            "normalise({input:?}) = {got:?}, want {expected:?}"
        );
    }
    check!(path::strip("/mnt/a", "/mnt") == Some("a"), "strip below");
    check!(path::strip("/mnt", "/mnt") == Some(""), "strip itself");
    check!(
        path::strip("/mntx", "/mnt").is_none(),
        "strip is by component"
    );
    check!(path::strip("/a", "/") == Some("a"), "strip from the root");
    check!(path::split("/mnt/a") == Some(("/mnt", "a")), "split");
    check!(
        path::split("/mnt") == Some(("/", "mnt")),
        "split at the root"
    );
    check!(path::split("/").is_none(), "the root has no parent");
    Ok(())
}
kernel_test!(vfs_path_rules, normalise_paths);

fn synthetic_and_read_only() -> Result<(), String> {
    let mnt = ops::stat("/mnt").map_err(|e| alloc::format!("stat /mnt: {e}"))?;
    check!(mnt.kind == ops::Kind::Directory, "/mnt is {}", mnt.kind);
    let root = ops::read_dir("/").map_err(|e| alloc::format!("read_dir /: {e}"))?;
    check!(
        root.iter().any(|e| e.name == "mnt"),
        "'/' does not list mnt"
    );
    let refused = ops::write("/mnt/x", ops::WriteMode::Replace, b"x");
    check!(
        refused == Err(VfsError::ReadOnly),
        "write below /mnt: {refused:?}"
    );
    check!(
        ops::mkdir("/mnt") == Err(VfsError::AlreadyExists),
        "mkdir /mnt"
    );
    check!(
        ops::remove("/no-such-file") == Err(VfsError::NotFound),
        "rm of a missing path"
    );
    check!(
        ops::read_chunks("/mnt", 0, 10, |_| {}) == Err(VfsError::IsDirectory),
        "reading /mnt"
    );
    check!(
        mount::umount("/mnt") == Err(VfsError::NotMounted),
        "umount of an unmounted /mnt"
    );
    let missing = mount::mount("no-such-disk", "/mnt", false);
    check!(
        matches!(missing, Err(VfsError::NoDevice(_))),
        "mount of a missing device"
    );
    let text = alloc::format!("{}", VfsError::ReadOnly);
    check!(text == "read-only file system", "ReadOnly says '{text}'");
    Ok(())
}
kernel_test!(
    vfs_synthetic_mnt_and_read_only_root,
    synthetic_and_read_only
);
