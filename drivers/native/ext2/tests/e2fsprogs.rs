//! The driver's view of mke2fs-built images must equal debugfs's, entry by entry, and its
//! writes must leave images that e2fsck -fn calls clean.

mod common;

use std::fs::{self, File, FileTimes, OpenOptions};
use std::os::unix::fs::{symlink, FileExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use common::{
    assert_same, debugfs_snapshot, driver_snapshot, e2fsck, e2fsck_backup, make_image,
    ImageOptions, Rng, TempDir,
};
use ext2::{FileDevice, FileSystem, MountOptions, Owner};

/// Bytes mapped by direct + single + double indirect blocks with 1 KiB blocks.
const TRIPLE_THRESHOLD_1K: u64 = (12 + 256 + 65536) * 1024;

fn write_file(path: &Path, pieces: &[(u64, Vec<u8>)], length: u64) {
    let file = File::create(path).expect("create");
    file.set_len(length).expect("set_len");
    for (offset, data) in pieces {
        file.write_all_at(data, *offset).expect("write");
    }
}

/// Builds the test tree: sizes around every indirection threshold, sparse files, long
/// names, both kinds of symlink, a deep chain of directories, hard links, odd modes.
pub fn build_tree(root: &Path, block_size: u64, seed: u64) {
    let mut rng = Rng(seed | 1);
    fs::create_dir_all(root).unwrap();
    let p = block_size / 4;
    let sizes = [
        0,
        1,
        block_size - 1,
        block_size,
        12 * block_size,
        12 * block_size + 1,
        (12 + p) * block_size + 7,
    ];
    for (index, size) in sizes.iter().enumerate() {
        write_file(
            &root.join(format!("file{index}")),
            &[(0, rng.bytes(*size as usize))],
            *size,
        );
    }
    // Sparse: data in the direct, single, double and (1 KiB blocks) triple indirect ranges.
    // Larger blocks reach triple indirection only beyond 512 MiB, too slow to dump here.
    let triple = TRIPLE_THRESHOLD_1K;
    let pieces = vec![
        (0, rng.bytes(100)),
        (13 * block_size + 5, rng.bytes(3000)),
        ((12 + p + 3) * block_size, rng.bytes(5000)),
        (triple + 4096, rng.bytes(2 * block_size as usize)),
    ];
    write_file(
        &root.join("sparse-huge"),
        &pieces,
        triple + 3 * block_size + 11,
    );
    write_file(
        &root.join("sparse-hole"),
        &[(1 << 20, rng.bytes(10))],
        2 << 20,
    );
    write_file(&root.join("all-hole"), &[], 5 * block_size + 3);
    let long_name = "n".repeat(255);
    write_file(&root.join(&long_name), &[(0, b"long".to_vec())], 4);
    symlink("file1", root.join("fast-link")).unwrap();
    let slow_target = "t/".repeat(100);
    symlink(&slow_target, root.join("slow-link")).unwrap();
    symlink(&long_name, root.join("link-to-long")).unwrap();
    let mut deep = root.to_path_buf();
    for level in 0..24 {
        deep = deep.join(format!("d{level}"));
        fs::create_dir(&deep).unwrap();
        write_file(
            &deep.join("leaf"),
            &[(0, rng.bytes(level * 37))],
            (level * 37) as u64,
        );
    }
    let many = root.join("many");
    fs::create_dir(&many).unwrap();
    for index in 0..150 {
        write_file(
            &many.join(format!("entry-with-a-longish-name-{index:04}")),
            &[],
            0,
        );
    }
    fs::hard_link(root.join("file2"), root.join("hard-link")).unwrap();
    fs::set_permissions(root.join("file1"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(root.join("file3"), fs::Permissions::from_mode(0o4755)).unwrap();
    std::os::unix::fs::chown(root.join("file4"), Some(1000), Some(100)).unwrap();
    let times = FileTimes::new()
        .set_accessed(UNIX_EPOCH + Duration::from_secs(1_000_000_000))
        .set_modified(UNIX_EPOCH + Duration::from_secs(1_234_567_890));
    OpenOptions::new()
        .write(true)
        .open(root.join("file5"))
        .unwrap()
        .set_times(times)
        .unwrap();
}

fn configurations() -> Vec<(&'static str, ImageOptions)> {
    let mut small_groups = ImageOptions::new(1024, 1, 256);
    small_groups.blocks_per_group = Some(2048);
    let mut no_filetype = ImageOptions::new(1024, 1, 256);
    no_filetype.filetype = false;
    let mut big2 = ImageOptions::new(2048, 1, 256);
    big2.size_mib = 80;
    let mut big4 = ImageOptions::new(4096, 1, 128);
    big4.size_mib = 300;
    let mut rev0_4k = ImageOptions::new(4096, 0, 128);
    rev0_4k.blocks_per_group = Some(8192);
    rev0_4k.size_mib = 100;
    vec![
        ("1k-rev1-256", ImageOptions::new(1024, 1, 256)),
        ("1k-rev1-128", ImageOptions::new(1024, 1, 128)),
        ("1k-small-groups", small_groups),
        ("1k-no-filetype", no_filetype),
        ("1k-rev0", ImageOptions::new(1024, 0, 128)),
        ("2k-rev1-256", big2),
        ("4k-rev1-128", big4),
        ("4k-rev0", rev0_4k),
    ]
}

fn mount(image: &Path, read_only: bool) -> FileSystem<FileDevice> {
    let device = FileDevice::open(image, !read_only).expect("open image");
    FileSystem::mount(
        device,
        MountOptions {
            read_only,
            ..MountOptions::default()
        },
    )
    .expect("mount")
}

#[test]
fn driver_matches_debugfs_on_mke2fs_images() {
    for (name, options) in configurations() {
        let scratch = TempDir::new(name);
        let tree = scratch.path().join("tree");
        build_tree(&tree, u64::from(options.block_size), 7);
        let image = make_image(scratch.path(), Some(&tree), &options);
        e2fsck(&image).unwrap_or_else(|report| panic!("{name}: fresh image not clean: {report}"));
        let reference = debugfs_snapshot(&image, scratch.path());
        let mut fs = mount(&image, true);
        let driver = driver_snapshot(&mut fs);
        assert_same(&driver, &reference, name);
        // Spot-check against the source tree too.
        let source = fs::read(tree.join("file6")).unwrap();
        assert_eq!(
            driver["/file6"].data.as_deref(),
            Some(&source[..]),
            "{name}: file6 vs source"
        );
        assert_eq!(driver["/file5"].times[1], 1_234_567_890, "{name}: mtime");
        assert_eq!(driver["/file4"].uid, 1000, "{name}: uid");
        assert_eq!(driver["/file2"].links, 2, "{name}: hard link count");
    }
}

/// Applies a fixed set of writes of every kind, then checks e2fsck and debugfs.
#[test]
fn driver_writes_are_clean_and_visible_to_debugfs() {
    for (name, options) in configurations() {
        let scratch = TempDir::new(name);
        let tree = scratch.path().join("tree");
        build_tree(&tree, u64::from(options.block_size), 11);
        let image = make_image(scratch.path(), Some(&tree), &options);
        let block = u64::from(options.block_size);
        let mut rng = Rng(99);
        let mut fs = mount(&image, false);
        assert!(
            fs.read_only_reason().is_none(),
            "{name}: {:?}",
            fs.read_only_reason()
        );
        let root = fs.root();
        let owner = Owner {
            uid: 1000,
            gid: 1000,
        };
        let new = fs.create(root, b"new-file", 0o644, owner).unwrap();
        let p = block / 4;
        for offset in [
            0,
            5 * block + 3,
            13 * block,
            (12 + p + 1) * block - 7,
            TRIPLE_THRESHOLD_1K + 12345,
        ] {
            let data = rng.bytes(3 * block as usize + 17);
            assert_eq!(fs.write(new, offset, &data).unwrap(), data.len());
        }
        let sparse = fs.resolve(b"/sparse-huge", true).unwrap();
        fs.write(sparse, 7 * block + 1, &rng.bytes(100)).unwrap();
        fs.truncate(sparse, 12 * block + 5).unwrap();
        let hole = fs.resolve(b"sparse-hole", true).unwrap();
        fs.truncate(hole, 8 << 20).unwrap();
        fs.write(hole, (3 << 20) + 1, b"fill a hole").unwrap();
        let dir = fs.mkdir(root, b"made", 0o750, owner).unwrap();
        let sub = fs.mkdir(dir, b"sub", 0o700, owner).unwrap();
        fs.symlink(sub, b"fast", b"../../file1", owner).unwrap();
        fs.symlink(sub, b"slow", &[b'x'; 200], owner).unwrap();
        fs.rename(root, b"file3", sub, b"moved").unwrap();
        fs.rename(root, b"d0", dir, b"deep-moved").unwrap();
        fs.rename(root, b"file4", root, b"file5").unwrap();
        fs.link(new, dir, b"new-link").unwrap();
        fs.unlink(root, b"file6").unwrap();
        fs.unlink(root, b"hard-link").unwrap();
        let many = fs.resolve(b"many", true).unwrap();
        for index in 0..150 {
            fs.unlink(
                many,
                format!("entry-with-a-longish-name-{index:04}").as_bytes(),
            )
            .unwrap();
        }
        fs.rmdir(root, b"many").unwrap();
        for index in 0..40 {
            fs.create(dir, format!("f{index}").as_bytes(), 0o600, owner)
                .unwrap();
        }
        fs.chmod(new, 0o4711).unwrap();
        fs.chown(new, 42, 43).unwrap();
        fs.utimes(new, 1_500_000_000, 1_600_000_000).unwrap();
        fs.sync().unwrap();
        e2fsck(&image).unwrap_or_else(|report| panic!("{name}: not clean after sync: {report}"));
        let expected = driver_snapshot(&mut fs);
        fs.unmount().unwrap();
        e2fsck(&image).unwrap_or_else(|report| panic!("{name}: not clean after unmount: {report}"));
        e2fsck_backup(&image)
            .unwrap_or_else(|report| panic!("{name}: backup superblock: {report}"));
        let reference = debugfs_snapshot(&image, scratch.path());
        assert_same(&expected, &reference, name);
        let mut fs = mount(&image, true);
        assert_same(&driver_snapshot(&mut fs), &reference, name);
    }
}

/// Triple indirection with 2 and 4 KiB blocks: sparse files whose data lies beyond
/// direct + single + double indirect (537 MiB and 4.3 GiB), made by mke2fs -d and read back at
/// every data piece and in the holes; debugfs must report the same size and e2fsck stay clean.
#[test]
fn triple_indirect_files_with_2k_and_4k_blocks() {
    for block_size in [2048u64, 4096] {
        let name = format!("triple-{block_size}");
        let scratch = TempDir::new(&name);
        let tree = scratch.path().join("tree");
        fs::create_dir_all(&tree).unwrap();
        let p = block_size / 4;
        let threshold = (12 + p + p * p) * block_size;
        let mut rng = Rng(block_size | 1);
        let pieces = vec![
            (0, rng.bytes(1000)),
            (
                (12 + p + 5) * block_size + 17,
                rng.bytes(3 * block_size as usize),
            ),
            (
                threshold + 7 * block_size + 3,
                rng.bytes(2 * block_size as usize + 5),
            ),
        ];
        let length = threshold + 64 * block_size;
        write_file(&tree.join("beyond-double"), &pieces, length);
        let mut options = ImageOptions::new(block_size as u32, 1, 256);
        options.size_mib = 16;
        let image = make_image(scratch.path(), Some(&tree), &options);
        e2fsck(&image).unwrap_or_else(|report| panic!("{name}: fresh image not clean: {report}"));
        let mut fs = mount(&image, true);
        let inode = fs.resolve(b"/beyond-double", true).expect("lookup");
        assert_eq!(
            fs.metadata(inode).expect("stat").size,
            length,
            "{name}: size"
        );
        for (offset, data) in &pieces {
            let mut back = vec![0u8; data.len()];
            let read = fs.read(inode, *offset, &mut back).expect("read piece");
            assert_eq!(read, data.len(), "{name}: short read at {offset}");
            assert_eq!(&back, data, "{name}: piece at {offset} differs");
        }
        for hole in [
            block_size * 12,
            threshold - 1,
            threshold + block_size,
            length - 10,
        ] {
            let mut back = [0xffu8; 10];
            let read = fs.read(inode, hole, &mut back).expect("read hole");
            assert!(
                read > 0 && back[..read].iter().all(|b| *b == 0),
                "{name}: hole at {hole} not zero"
            );
        }
        let stat = common::debugfs(&image, &["stat /beyond-double".to_string()], false).join("\n");
        assert!(
            stat.contains(&format!("Size: {length}")),
            "{name}: debugfs says\n{stat}"
        );
    }
}
