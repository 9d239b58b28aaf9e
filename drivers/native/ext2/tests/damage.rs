//! Damage must be reported as what it is and never hidden: a not-clean or erroneous image
//! stays so after a read-write mount, wrong summary counts do not refuse the data, and
//! symbolic links whose size their target does not hold are corruption of that inode.
//! e2fsck -fn must agree with the driver each time.

mod common;

use std::path::Path;
use std::process::Command;

use common::{debugfs, e2fsck, make_image, tool, ImageOptions, TempDir};
use ext2::{
    Corruption, CountKind, Error, FileDevice, FileSystem, MountOptions, MountState, Owner,
    ReadOnlyReason,
};

fn mount(image: &Path, read_only: bool) -> ext2::Result<FileSystem<FileDevice>> {
    let device = FileDevice::open(image, !read_only).expect("open image");
    FileSystem::mount(
        device,
        MountOptions {
            read_only,
            ..MountOptions::default()
        },
    )
}

/// `dumpe2fs -h` value of `key` (e.g. "Filesystem state:").
fn header(image: &Path, key: &str) -> String {
    let output = Command::new(tool("dumpe2fs"))
        .arg("-h")
        .arg(image)
        .output()
        .expect("dumpe2fs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.lines()
        .find_map(|line| line.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in\n{text}"))
        .trim()
        .to_string()
}

/// What `e2fsck -p` (the boot-time preen) says about a copy of the image: `true` when it
/// skips it as clean.
fn preen_skips(image: &Path) -> bool {
    let copy = image.with_extension("preen");
    std::fs::copy(image, &copy).unwrap();
    let output = Command::new(tool("e2fsck"))
        .arg("-p")
        .arg(&copy)
        .output()
        .expect("e2fsck -p");
    let _ = std::fs::remove_file(&copy);
    String::from_utf8_lossy(&output.stdout).contains(": clean, ")
}

#[test]
fn not_clean_and_error_states_survive_a_read_write_mount() {
    // (s_state written with debugfs, dumpe2fs's name for it, what mount_state says)
    let cases = [
        (1, "clean", true, false),
        (0, "not clean", false, false),
        (2, "not clean with errors", false, true),
        (3, "clean with errors", true, true),
    ];
    for (state, name, clean, errors) in cases {
        let scratch = TempDir::new("state");
        let image = make_image(scratch.path(), None, &ImageOptions::new(1024, 1, 256));
        debugfs(
            &image,
            &[format!("ssv state {state}"), "ssv errors 2".to_string()],
            true,
        );
        assert_eq!(header(&image, "Filesystem state:"), name);
        let mounts_before: u32 = header(&image, "Mount count:").parse().unwrap();

        // Read-only: nothing changes.
        let before = std::fs::read(&image).unwrap();
        let fs = mount(&image, true).unwrap();
        assert_eq!(fs.mount_state(), MountState { clean, errors });
        fs.unmount().unwrap();
        assert!(
            before == std::fs::read(&image).unwrap(),
            "{name}: ro mount wrote"
        );

        // Read-write without a single write, then with writes: the state comes back as found.
        for write in [false, true] {
            let mut fs = mount(&image, false).unwrap();
            assert_eq!(fs.read_only_reason(), None);
            assert_eq!(fs.mount_state(), MountState { clean, errors }, "{name}");
            assert_eq!(fs.mount_state().needs_check(), !clean || errors);
            // While mounted the image is never clean.
            assert!(header(&image, "Filesystem state:").starts_with("not clean"));
            if write {
                let root = fs.root();
                fs.create(root, b"written", 0o644, Owner::default())
                    .unwrap();
            }
            fs.unmount().unwrap();
            assert_eq!(
                header(&image, "Filesystem state:"),
                name,
                "{name}: state after rw mount (write {write})"
            );
            assert_eq!(header(&image, "Errors behavior:"), "Remount read-only");
            assert_eq!(
                preen_skips(&image),
                clean && !errors,
                "{name}: e2fsck -p must check a not-clean or erroneous image"
            );
            e2fsck(&image).unwrap_or_else(|report| panic!("{name}: {report}"));
        }
        let mounts_after: u32 = header(&image, "Mount count:").parse().unwrap();
        assert_eq!(
            mounts_after,
            mounts_before + 2,
            "{name}: one count per rw mount"
        );
        assert_ne!(header(&image, "Last mount time:"), "n/a", "{name}");
    }
}

/// `(recorded, counted)` from e2fsck -fn's "... wrong for group #N (R, counted=C)." line.
fn e2fsck_counted(report: &str, what: &str, group: u32) -> (u32, u32) {
    let key = format!("{what} count wrong for group #{group} (");
    let start = report
        .find(&key)
        .unwrap_or_else(|| panic!("no '{key}' in\n{report}"))
        + key.len();
    let rest = &report[start..];
    let (recorded, rest) = rest.split_once(", counted=").unwrap();
    let counted = rest.split(')').next().unwrap();
    (recorded.parse().unwrap(), counted.parse().unwrap())
}

#[test]
fn wrong_summary_counts_mount_read_only_and_stay_for_e2fsck() {
    let mut options = ImageOptions::new(1024, 1, 256);
    options.blocks_per_group = Some(2048);
    options.size_mib = 8;
    // (debugfs field, value, e2fsck's wording, expected kind); 9999 is beyond any group.
    let cases = [
        (
            "free_blocks_count",
            9999,
            "Free blocks",
            CountKind::FreeBlocks,
        ),
        (
            "free_blocks_count",
            17,
            "Free blocks",
            CountKind::FreeBlocks,
        ),
        (
            "free_inodes_count",
            9999,
            "Free inodes",
            CountKind::FreeInodes,
        ),
        ("free_inodes_count", 3, "Free inodes", CountKind::FreeInodes),
        (
            "used_dirs_count",
            9999,
            "Directories",
            CountKind::UsedDirectories,
        ),
    ];
    for (field, value, wording, kind) in cases {
        let scratch = TempDir::new("counts");
        let tree = scratch.path().join("tree");
        std::fs::create_dir_all(tree.join("dir")).unwrap();
        std::fs::write(tree.join("dir/file"), b"still readable").unwrap();
        let image = make_image(scratch.path(), Some(&tree), &options);
        let clean = mount(&image, true).unwrap().statfs();
        debugfs(&image, &[format!("set_bg 1 {field} {value}")], true);
        let before = std::fs::read(&image).unwrap();
        let report = e2fsck(&image).expect_err("e2fsck must see the bad count");

        // Read-only: accepted, data readable, statfs from the bitmaps for out-of-range counts.
        let mut fs = mount(&image, true).unwrap_or_else(|error| panic!("{field}: {error}"));
        let file = fs.resolve(b"/dir/file", true).unwrap();
        let mut buffer = [0u8; 14];
        fs.read(file, 0, &mut buffer).unwrap();
        assert_eq!(&buffer, b"still readable");
        if value == 9999 && kind != CountKind::UsedDirectories {
            assert_eq!(fs.statfs(), clean, "{field}: statfs recounted");
        }
        drop(fs);

        // Read-write request: mounted read-only, naming the count; nothing written.
        let mut fs = mount(&image, false).unwrap();
        let reason = fs.read_only_reason().expect("must be read-only");
        let ReadOnlyReason::SummaryCount {
            group,
            kind: found_kind,
            recorded,
            actual,
        } = reason
        else {
            panic!("{field}: {reason:?}")
        };
        assert_eq!((group, found_kind, recorded), (1, kind, value), "{field}");
        let text = reason.to_string();
        assert!(
            text.contains("group 1")
                && text.contains(&value.to_string())
                && text.contains("e2fsck"),
            "{text}"
        );
        if kind != CountKind::UsedDirectories {
            // The driver's count is e2fsck's.
            assert_eq!(
                e2fsck_counted(&report, wording, 1),
                (value, actual),
                "{field}"
            );
        } else {
            assert!(
                report.contains("Directories count wrong for group #1"),
                "{report}"
            );
        }
        assert_eq!(
            fs.create(fs.root(), b"x", 0o644, Owner::default()),
            Err(Error::ReadOnly)
        );
        fs.unmount().unwrap();
        assert!(
            before == std::fs::read(&image).unwrap(),
            "{field}: image changed"
        );
        assert!(e2fsck(&image).is_err(), "{field}: damage must stay visible");
    }
}

#[test]
fn symlinks_whose_size_the_target_does_not_hold_are_corrupt() {
    let scratch = TempDir::new("symlinks");
    let tree = scratch.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let slow_target = "s".repeat(100);
    for name in ["fast-size", "fast-zero", "fast-nul"] {
        std::os::unix::fs::symlink("short", tree.join(name)).unwrap();
    }
    for name in ["slow-size", "slow-blocks", "slow-map", "good-slow"] {
        std::os::unix::fs::symlink(&slow_target, tree.join(name)).unwrap();
    }
    std::os::unix::fs::symlink("short", tree.join("good-fast")).unwrap();
    let mut options = ImageOptions::new(4096, 1, 256);
    options.size_mib = 16;
    let image = make_image(scratch.path(), Some(&tree), &options);
    // (link, debugfs damage, the reason the driver must give)
    let cases = [
        (
            "fast-size",
            "size 1000",
            "needs a data block but it has none",
        ),
        ("fast-zero", "size 0", "size 0"),
        ("fast-nul", "size 40", "NUL inside"),
        ("slow-size", "size 1000", "NUL inside"),
        (
            "slow-blocks",
            "blocks 0",
            "needs a data block but it has none",
        ),
        ("slow-map", "block[1] 1234", "not exactly one block"),
    ];
    let commands: Vec<String> = cases
        .iter()
        .map(|(link, damage, _)| format!("sif /{link} {damage}"))
        .collect();
    debugfs(&image, &commands, true);
    let report = e2fsck(&image).expect_err("e2fsck must see the bad links");
    let mut fs = mount(&image, true).unwrap();
    let root = fs.root();
    for (link, _, reason) in cases {
        let inode = fs.lookup(root, link.as_bytes()).unwrap();
        let error = fs.read_link(inode).expect_err(link);
        match &error {
            Error::Corrupted(Corruption::Inode {
                inode: named,
                reason: text,
            }) => {
                assert_eq!(*named, inode, "{link}");
                assert!(text.contains(reason), "{link}: {text}");
            }
            other => panic!("{link}: {other:?}"),
        }
        assert!(
            error.to_string().contains(&format!("inode {inode}")),
            "{error}"
        );
        assert_eq!(
            fs.resolve(link.as_bytes(), true).err(),
            Some(error.clone()),
            "{link}: resolve"
        );
        // e2fsck sees the same damage: an invalid link, or (no i_blocks) a target block
        // that the bitmap holds but no inode owns, which e2fsck would free for reuse.
        let expected = if link == "slow-blocks" {
            let block = debugfs(&image, &[format!("bmap /{link} 0")], false).remove(0);
            format!("Block bitmap differences:  -{}", block.trim())
        } else {
            format!("Symlink /{link} (inode #{inode}) is invalid")
        };
        assert!(report.contains(&expected), "{expected} not in\n{report}");
    }
    let good = fs.lookup(root, b"good-slow").unwrap();
    assert_eq!(fs.read_link(good).unwrap(), slow_target.as_bytes());
    let good = fs.lookup(root, b"good-fast").unwrap();
    assert_eq!(fs.read_link(good).unwrap(), b"short");
}
