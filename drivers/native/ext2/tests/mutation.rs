//! Seeded mutation test: thousands of corrupted images go through mount, walk, lookup, read
//! and write; every outcome must be a value (Ok or a clear error), never a panic or a hang.
//! Two seeds: a plain image, and one with a hash-indexed (htree) directory whose index
//! blocks take a share of the mutations.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{debugfs, make_image, ImageOptions, Rng, TempDir};
use ext2::{FileSystem, FileType, MemoryDevice, MountOptions, Owner};

fn seed_image() -> Vec<u8> {
    let scratch = TempDir::new("mutation");
    let tree = scratch.path().join("tree");
    std::fs::create_dir_all(tree.join("dir/sub")).unwrap();
    std::fs::write(tree.join("small"), b"hello").unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
    std::fs::write(tree.join("dir/big"), big).unwrap();
    std::os::unix::fs::symlink("small", tree.join("fast")).unwrap();
    std::os::unix::fs::symlink("x".repeat(90), tree.join("dir/slow")).unwrap();
    for index in 0..40 {
        std::fs::write(tree.join(format!("dir/sub/f{index}")), [index as u8; 3]).unwrap();
    }
    let mut options = ImageOptions::new(1024, 1, 128);
    options.size_mib = 1;
    let image = make_image(scratch.path(), Some(&tree), &options);
    std::fs::read(image).unwrap()
}

/// An image whose `/indexed` holds 300 names under a one-level hash index (e2fsck -fyD
/// builds it), and the byte positions of that directory's blocks.
fn htree_seed_image() -> (Vec<u8>, Vec<usize>) {
    let scratch = TempDir::new("mutation-htree");
    let tree = scratch.path().join("tree");
    std::fs::create_dir_all(tree.join("indexed/sub")).unwrap();
    for index in 0..300 {
        std::fs::File::create(tree.join(format!("indexed/name-with-some-length-{index}"))).unwrap();
    }
    std::fs::write(tree.join("indexed/sub/file"), b"below the index").unwrap();
    std::os::unix::fs::symlink("indexed/sub", tree.join("link")).unwrap();
    let mut options = ImageOptions::new(1024, 1, 128);
    options.size_mib = 1;
    options.inodes = Some(400);
    let image = make_image(scratch.path(), Some(&tree), &options);
    let fixed = std::process::Command::new(common::tool("e2fsck"))
        .arg("-fyD")
        .arg(&image)
        .output()
        .expect("e2fsck -fyD");
    assert!(fixed.status.code().unwrap_or(8) < 4, "{fixed:?}");
    let stat = debugfs(&image, &["stat /indexed".to_string()], false).remove(0);
    assert!(stat.contains("Flags: 0x1000"), "no index made:\n{stat}");
    let blocks = debugfs(&image, &["blocks /indexed".to_string()], false).remove(0);
    let hot = blocks
        .split_whitespace()
        .map(|block| block.parse::<usize>().expect("block number"))
        .flat_map(|block| block * 1024..(block + 1) * 1024)
        .collect();
    (std::fs::read(image).unwrap(), hot)
}

/// Walks, reads and modifies whatever mounts; errors are fine, panics and hangs are not.
/// Returns whether it mounted, and whether read-write.
pub fn exercise(bytes: Vec<u8>, cache_blocks: usize) -> Option<bool> {
    let options = MountOptions {
        cache_blocks,
        ..MountOptions::default()
    };
    let Ok(mut fs) = FileSystem::mount(MemoryDevice::new(bytes), options) else {
        return None;
    };
    let writable = fs.read_only_reason().is_none();
    let mut pending = vec![(fs.root(), 0u32)];
    let mut visited = 0;
    let mut buffer = vec![0u8; 8192];
    while let Some((directory, depth)) = pending.pop() {
        let Ok(entries) = fs.read_dir(directory) else {
            continue;
        };
        for entry in entries {
            visited += 1;
            if visited > 2000 || entry.name == b"." || entry.name == b".." {
                continue;
            }
            let _ = fs.lookup(directory, &entry.name);
            match entry.file_type {
                FileType::Directory if depth < 16 => pending.push((entry.inode, depth + 1)),
                FileType::Symlink => {
                    let _ = fs.read_link(entry.inode);
                }
                _ => {
                    let _ = fs.read(entry.inode, 0, &mut buffer);
                    let _ = fs.read(entry.inode, 200_000, &mut buffer);
                }
            }
            let _ = fs.metadata(entry.inode);
        }
    }
    let _ = fs.resolve(b"/dir/sub/f3", true);
    let _ = fs.resolve(b"/fast", true);
    let _ = fs.resolve(b"/indexed/name-with-some-length-123", true);
    let _ = fs.resolve(b"/link/file", true);
    let root = fs.root();
    let owner = Owner::default();
    if let Ok(file) = fs.create(root, b"new", 0o644, owner) {
        let _ = fs.write(file, 70_000, &buffer);
        let _ = fs.truncate(file, 10);
    }
    if let Ok(big) = fs.resolve(b"/dir/big", true) {
        let _ = fs.write(big, 5, b"overwrite");
        let _ = fs.truncate(big, 100_000);
    }
    if let Ok(indexed) = fs.resolve(b"/indexed", true) {
        let _ = fs.create(indexed, b"added", 0o644, owner);
        let _ = fs.unlink(indexed, b"name-with-some-length-7");
        let _ = fs.lookup(indexed, b"name-with-some-length-299");
    }
    let _ = fs.mkdir(root, b"made", 0o755, owner);
    let _ = fs.rename(root, b"small", root, b"made2");
    let _ = fs.unlink(root, b"fast");
    if let Ok(dir) = fs.resolve(b"/dir", true) {
        let _ = fs.unlink(dir, b"big");
        let _ = fs.rename(dir, b"sub", root, b"moved");
        let _ = fs.rmdir(root, b"moved");
    }
    let _ = fs.unmount();
    Some(writable)
}

/// Applies `iterations` seeded sets of mutations to `seed`, most aimed at `hot` positions,
/// and runs each result through [`exercise`].
fn mutate(seed: &[u8], hot: &[usize], iterations: u64, rng: &mut Rng, label: &str) {
    let (mut mounted, mut writable) = (0, 0);
    for iteration in 0..iterations {
        let mut image = seed.to_vec();
        let mutations = 1 + rng.below(8);
        for _ in 0..mutations {
            let position = if rng.below(4) == 0 {
                rng.below(image.len() as u64) as usize
            } else {
                hot[rng.below(hot.len() as u64) as usize]
            };
            match rng.below(4) {
                0 => image[position] ^= 1 << rng.below(8),
                1 => image[position] = rng.next() as u8,
                2 => image[position] = [0, 0xFF, 0x80, 1][rng.below(4) as usize],
                _ => {
                    let value = (rng.next() as u32).to_le_bytes();
                    let end = (position + 4).min(image.len());
                    image[position..end].copy_from_slice(&value[..end - position]);
                }
            }
        }
        let cache = if iteration % 2 == 0 { 16 } else { 1024 };
        match catch_unwind(AssertUnwindSafe(|| exercise(image, cache))) {
            Ok(Some(read_write)) => {
                mounted += 1;
                writable += u64::from(read_write);
            }
            Ok(None) => {}
            Err(_) => panic!(
                "{label}: panic on mutated image, iteration {iteration} (seeded; rerun reproduces it)"
            ),
        }
    }
    eprintln!("{label}: {mounted} of {iterations} mutated images mounted, {writable} read-write");
    // Most mutations must get past mount, or the walk and write paths go untested.
    assert!(
        writable * 4 > iterations,
        "{label}: only {writable} of {iterations} mounted read-write"
    );
}

#[test]
fn corrupted_images_never_panic() {
    let iterations: u64 = std::env::var("EXT2_MUTATIONS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(3000);
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let seed = seed_image();
    // Aim most mutations at bytes in use (non-zero) in the metadata and directory area.
    let hot: Vec<usize> = (0..48 * 1024).filter(|&index| seed[index] != 0).collect();
    mutate(&seed, &hot, iterations, &mut rng, "plain");
    let (seed, directory) = htree_seed_image();
    // Half the aimed mutations go to the indexed directory's blocks.
    let mut hot: Vec<usize> = (0..48 * 1024).filter(|&index| seed[index] != 0).collect();
    let metadata = hot.len();
    hot.extend(directory.iter().cycle().take(metadata));
    mutate(&seed, &hot, iterations, &mut rng, "htree");
}
