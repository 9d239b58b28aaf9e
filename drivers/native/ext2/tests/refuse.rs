//! Feature policy and special layouts: refused images say why, ro_compat unknowns mount
//! read-only, ext3 and htree directories are handled, and read-only mounts never write.

mod common;

use std::path::Path;
use std::process::Command;

use common::{
    assert_same, debugfs, debugfs_snapshot, driver_snapshot, e2fsck, make_image, ImageOptions,
    TempDir,
};
use ext2::{Error, FileDevice, FileSystem, MemoryDevice, MountOptions, Owner, ReadOnlyReason};

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

fn set_features(image: &Path, features: &str) {
    debugfs(image, &[format!("feature {features}")], true);
}

fn mke2fs(image: &Path, args: &[&str]) {
    let status = Command::new(common::tool("mke2fs"))
        .args(["-q", "-F"])
        .args(args)
        .arg(image)
        .arg("8M")
        .output()
        .map(|output| output.status);
    assert!(status
        .expect("mke2fs (e2fsprogs) must be installed")
        .success());
}

#[test]
fn journal_needing_recovery_is_refused() {
    let scratch = TempDir::new("recover");
    let image = make_image(scratch.path(), None, &ImageOptions::new(1024, 1, 256));
    set_features(&image, "needs_recovery");
    let error = mount(&image, false).err().expect("must refuse");
    assert_eq!(error, Error::JournalNeedsRecovery);
    assert!(error.to_string().contains("needs_recovery"), "{error}");
}

#[test]
fn unknown_incompat_features_are_refused_by_name() {
    let scratch = TempDir::new("incompat");
    let image = scratch.path().join("ext4.img");
    mke2fs(&image, &["-t", "ext2", "-O", "extent,64bit,flex_bg"]);
    let error = mount(&image, true).err().expect("must refuse");
    let text = error.to_string();
    assert!(matches!(error, Error::UnsupportedFeatures(_)), "{error:?}");
    for name in ["extent", "64bit", "flex_bg"] {
        assert!(text.contains(name), "{text} lacks {name}");
    }
    mke2fs(&image, &["-t", "ext4"]);
    let text = mount(&image, true)
        .err()
        .expect("ext4 must be refused")
        .to_string();
    assert!(text.contains("extent"), "{text}");
}

#[test]
fn unknown_ro_compat_mounts_read_only_and_says_so() {
    let scratch = TempDir::new("rocompat");
    let image = make_image(scratch.path(), None, &ImageOptions::new(1024, 1, 256));
    set_features(&image, "huge_file dir_nlink");
    let mut fs = mount(&image, false).expect("read-only mount");
    let reason = fs.read_only_reason().expect("must be read-only");
    assert!(matches!(reason, ReadOnlyReason::UnknownRoCompat(_)));
    let text = reason.to_string();
    assert!(
        text.contains("huge_file") && text.contains("dir_nlink") && text.contains("read-only"),
        "{text}"
    );
    assert!(fs.lookup(fs.root(), b"lost+found").is_ok());
    assert_eq!(
        fs.create(fs.root(), b"x", 0o644, Owner::default()),
        Err(Error::ReadOnly)
    );
}

#[test]
fn read_only_mount_leaves_the_image_untouched() {
    let scratch = TempDir::new("readonly");
    let image = make_image(scratch.path(), None, &ImageOptions::new(1024, 1, 256));
    let before = std::fs::read(&image).unwrap();
    let mut fs = FileSystem::mount(
        MemoryDevice::new(before.clone()),
        MountOptions {
            read_only: true,
            ..MountOptions::default()
        },
    )
    .expect("mount");
    assert_eq!(
        fs.mkdir(fs.root(), b"d", 0o755, Owner::default()),
        Err(Error::ReadOnly)
    );
    let after = fs.unmount().expect("unmount").into_bytes();
    assert!(before == after, "read-only mount changed the image");
}

#[test]
fn not_ext2_is_bad_magic() {
    let device = MemoryDevice::new(vec![0u8; 1 << 20]);
    let error = FileSystem::mount(device, MountOptions::default())
        .err()
        .expect("must refuse");
    assert_eq!(error, Error::BadMagic);
}

#[test]
fn clean_ext3_mounts_read_write_without_touching_the_journal() {
    let scratch = TempDir::new("ext3");
    let tree = scratch.path().join("tree");
    std::fs::create_dir_all(tree.join("dir")).unwrap();
    std::fs::write(tree.join("dir/file"), b"ext3 data").unwrap();
    let image = scratch.path().join("ext3.img");
    let status = Command::new(common::tool("mke2fs"))
        .args(["-q", "-F", "-t", "ext3", "-d"])
        .arg(&tree)
        .arg(&image)
        .arg("16M")
        .output()
        .map(|output| output.status);
    assert!(status.unwrap().success());
    let mut fs = mount(&image, false).expect("ext3 without recovery mounts");
    let dir = fs.resolve(b"/dir", true).unwrap();
    let file = fs.create(dir, b"new", 0o644, Owner::default()).unwrap();
    fs.write(file, 0, b"written by ext2").unwrap();
    fs.unlink(dir, b"file").unwrap();
    fs.unmount().unwrap();
    e2fsck(&image).unwrap();
}

#[test]
fn htree_directories_are_read_and_lose_the_index_flag_on_write() {
    let scratch = TempDir::new("htree");
    let tree = scratch.path().join("tree");
    let big = tree.join("big");
    std::fs::create_dir_all(&big).unwrap();
    for index in 0..400 {
        std::fs::write(
            big.join(format!("some-file-name-{index:05}")),
            index.to_string(),
        )
        .unwrap();
    }
    let image = make_image(
        scratch.path(),
        Some(&tree),
        &ImageOptions::new(1024, 1, 256),
    );
    // e2fsck -D builds hash indexes for multi-block directories.
    let _ = Command::new(common::tool("e2fsck"))
        .args(["-fyD"])
        .arg(&image)
        .output()
        .expect("e2fsck");
    e2fsck(&image).unwrap();
    let flags = |image: &Path| debugfs(image, &["stat /big".to_string()], false).remove(0);
    assert!(
        flags(&image).contains("Flags: 0x1000"),
        "no htree made: {}",
        flags(&image)
    );
    let mut fs = mount(&image, false).unwrap();
    assert_same(
        &driver_snapshot(&mut fs),
        &debugfs_snapshot(&image, scratch.path()),
        "htree read",
    );
    let dir = fs.resolve(b"big", true).unwrap();
    fs.create(dir, b"added-by-ext2", 0o644, Owner::default())
        .unwrap();
    fs.unlink(dir, b"some-file-name-00007").unwrap();
    fs.unmount().unwrap();
    e2fsck(&image).unwrap();
    assert!(
        flags(&image).contains("Flags: 0x0"),
        "index flag kept: {}",
        flags(&image)
    );
    let mut fs = mount(&image, true).unwrap();
    assert_same(
        &driver_snapshot(&mut fs),
        &debugfs_snapshot(&image, scratch.path()),
        "htree after write",
    );
}

#[test]
fn xattr_blocks_are_counted_and_released() {
    let scratch = TempDir::new("xattr");
    let tree = scratch.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("with-xattr"), b"data").unwrap();
    let mut options = ImageOptions::new(1024, 1, 128);
    options.size_mib = 8;
    let image = make_image(scratch.path(), Some(&tree), &options);
    // A 128-byte inode has no room inside, so the attribute goes to an xattr block.
    debugfs(
        &image,
        &["ea_set /with-xattr user.test some-attribute-value".to_string()],
        true,
    );
    e2fsck(&image).unwrap();
    assert!(
        !debugfs(&image, &["stat /with-xattr".to_string()], false)[0].contains("File ACL: 0\n")
    );
    let mut fs = mount(&image, false).unwrap();
    let inode = fs.resolve(b"with-xattr", true).unwrap();
    fs.write(inode, 5000, b"grow").unwrap();
    fs.truncate(inode, 1).unwrap();
    fs.sync().unwrap();
    e2fsck(&image).unwrap();
    let free_before = fs.statfs().free_blocks;
    fs.unlink(fs.root(), b"with-xattr").unwrap();
    assert_eq!(
        fs.statfs().free_blocks,
        free_before + 2,
        "data block and xattr block freed"
    );
    fs.unmount().unwrap();
    e2fsck(&image).unwrap();
}
