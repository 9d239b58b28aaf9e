//! Hash-indexed (htree) directories: lookups go through the index under every hash variant,
//! a damaged index never hides a name, a 110 000-entry directory is looked up entry by entry,
//! and writes into an indexed directory leave e2fsck clean.

mod common;

use std::path::Path;
use std::time::Instant;

use common::large::{entry_name, large_directory_image, LargeDirectory};
use common::{debugfs, e2fsck, TempDir};
use ext2::{Error, FileDevice, FileSystem, MemoryDevice, MountOptions, Owner};

fn read_only() -> MountOptions {
    MountOptions {
        read_only: true,
        ..MountOptions::default()
    }
}

fn mount_bytes(bytes: Vec<u8>) -> FileSystem<MemoryDevice> {
    FileSystem::mount(MemoryDevice::new(bytes), read_only()).expect("mount")
}

/// Physical block of logical block `logical` of `/big`.
fn big_block(image: &Path, logical: u64) -> usize {
    let answer = debugfs(image, &[format!("bmap /big {logical}")], false).remove(0);
    answer.trim().parse().expect("bmap")
}

/// Names (with their inodes) of the live entries in one linear directory block.
fn names_in_block(block: &[u8]) -> Vec<(u32, Vec<u8>)> {
    let mut names = Vec::new();
    let mut offset = 0;
    while offset + 8 <= block.len() {
        let inode = u32::from_le_bytes(block[offset..offset + 4].try_into().unwrap());
        let length = usize::from(u16::from_le_bytes([block[offset + 4], block[offset + 5]]));
        let name_length = usize::from(block[offset + 6]);
        if inode != 0 {
            names.push((inode, block[offset + 8..offset + 8 + name_length].to_vec()));
        }
        if length == 0 {
            break;
        }
        offset += length;
    }
    names
}

/// Every entry read_dir lists is found by lookup with the same inode; returns how many.
fn lookups_agree<D: ext2::BlockDevice>(fs: &mut FileSystem<D>, names: &[Vec<u8>]) -> usize {
    let big = fs.resolve(b"/big", true).expect("/big");
    let listed = fs.read_dir(big).expect("read_dir");
    let mut checked = 0;
    for entry in listed.iter().filter(|entry| names.contains(&entry.name)) {
        let found = fs.lookup(big, &entry.name);
        assert_eq!(
            found,
            Ok(entry.inode),
            "{}",
            String::from_utf8_lossy(&entry.name)
        );
        checked += 1;
    }
    checked
}

#[test]
fn every_hash_variant_finds_every_name_through_the_index() {
    for (hash, unsigned) in [
        ("legacy", false),
        ("half_md4", false),
        ("tea", false),
        ("legacy", true),
        ("half_md4", true),
        ("tea", true),
    ] {
        let context = format!("{hash} unsigned={unsigned}");
        let scratch = TempDir::new("htree-hash");
        let options = LargeDirectory {
            entries: 2000,
            block_size: 1024,
            hash,
            unsigned,
        };
        let image = large_directory_image(scratch.path(), &options);
        let root_info = debugfs(&image, &["htree /big".to_string()], false).remove(0);
        let version = ["legacy", "half_md4", "tea"]
            .iter()
            .position(|name| *name == hash)
            .unwrap();
        assert!(
            root_info.contains(&format!("Hash Version: {version}")),
            "{context}: {root_info}"
        );
        let mut bytes = std::fs::read(&image).unwrap();
        let names: Vec<Vec<u8>> = (0..options.entries)
            .map(|index| entry_name(index).into_bytes())
            .collect();
        let mut fs = mount_bytes(bytes.clone());
        assert_eq!(lookups_agree(&mut fs, &names), options.entries, "{context}");
        let big = fs.resolve(b"/big", true).unwrap();
        assert_eq!(fs.lookup(big, b"no-such-entry"), Err(Error::NotFound));
        assert!(fs.lookup(big, b"..").is_ok() && fs.lookup(big, b".") == Ok(big));

        // Proof that the index is what finds them: with the first leaf block damaged, a
        // linear scan stops there, but names in other leaves are still found.
        let block_size = 1024;
        let first_leaf = big_block(&image, 1) * block_size;
        let in_first_leaf: Vec<Vec<u8>> =
            names_in_block(&bytes[first_leaf..first_leaf + block_size])
                .into_iter()
                .map(|(_, name)| name)
                .collect();
        assert!(
            !in_first_leaf.is_empty(),
            "{context}: block 1 is not a leaf"
        );
        bytes[first_leaf + 4..first_leaf + 6].copy_from_slice(&5u16.to_le_bytes());
        let mut fs = mount_bytes(bytes.clone());
        let big = fs.resolve(b"/big", true).unwrap();
        for name in &names {
            let result = fs.lookup(big, name);
            if in_first_leaf.contains(name) {
                assert!(
                    matches!(result, Err(Error::Corrupted(_))),
                    "{context}: damaged leaf must be reported, got {result:?}"
                );
            } else {
                assert!(result.is_ok(), "{context}: {result:?}");
            }
        }
        // Without the index flag the same lookup must fail at the damaged block.
        let last = names.last().unwrap();
        let inode_offset = inode_table_offset(&image, big);
        bytes[inode_offset + 32..inode_offset + 36].copy_from_slice(&0u32.to_le_bytes());
        let mut fs = mount_bytes(bytes);
        assert!(
            matches!(fs.lookup(big, last), Err(Error::Corrupted(_))),
            "{context}: the linear scan should have met the damaged block"
        );
    }
}

/// Byte offset of inode `number`'s record in the image.
fn inode_table_offset(image: &Path, number: u32) -> usize {
    let answer = debugfs(image, &[format!("imap <{number}>")], false).remove(0);
    // "Inode N is part of block group G\n\tlocated at block B, offset 0xOOOO"
    let block: usize = answer
        .split("located at block ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or_else(|| panic!("imap: {answer}"));
    let offset = answer.split("offset 0x").nth(1).unwrap().trim();
    block * 1024 + usize::from_str_radix(offset, 16).unwrap()
}

#[test]
fn a_damaged_index_never_hides_a_name() {
    let scratch = TempDir::new("htree-damage");
    // 8000 names in 1 KiB blocks need two index levels (a root of 124 entries is too few).
    let options = LargeDirectory::new(8000, 1024);
    let image = large_directory_image(scratch.path(), &options);
    let root_info = debugfs(&image, &["htree /big".to_string()], false).remove(0);
    assert!(root_info.contains("Indirect levels: 1"), "{root_info}");
    let pristine = std::fs::read(&image).unwrap();
    let block_size = 1024usize;
    let root = big_block(&image, 0) * block_size;
    let count = usize::from(u16::from_le_bytes([
        pristine[root + 34],
        pristine[root + 35],
    ]));
    let first_node_logical = u32::from_le_bytes(pristine[root + 36..root + 40].try_into().unwrap());
    let node = big_block(&image, u64::from(first_node_logical)) * block_size;
    let put16 = |bytes: &mut Vec<u8>, at: usize, value: u16| {
        bytes[at..at + 2].copy_from_slice(&value.to_le_bytes())
    };
    let put32 = |bytes: &mut Vec<u8>, at: usize, value: u32| {
        bytes[at..at + 4].copy_from_slice(&value.to_le_bytes())
    };
    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let damages: Vec<(&str, Damage)> = vec![
        ("root info length", Box::new(move |b| b[root + 29] = 12)),
        ("unknown hash version", Box::new(move |b| b[root + 28] = 9)),
        ("too many levels", Box::new(move |b| b[root + 30] = 3)),
        ("hash flags", Box::new(move |b| b[root + 31] = 1)),
        ("reserved word", Box::new(move |b| put32(b, root + 24, 7))),
        ("root limit", Box::new(move |b| put16(b, root + 32, 100))),
        ("root count 0", Box::new(move |b| put16(b, root + 34, 0))),
        (
            "root count above limit",
            Box::new(move |b| put16(b, root + 34, 200)),
        ),
        // Well-formed, but the last node and its leaves are no longer reachable: a miss of
        // the walk must not be taken as absence.
        (
            "root count one less",
            Box::new(move |b| put16(b, root + 34, count as u16 - 1)),
        ),
        (
            "root pointer outside",
            Box::new(move |b| put32(b, root + 36 + 8 * (count - 1), 0x0FFF_FFF0)),
        ),
        (
            "root pointer to itself",
            Box::new(move |b| put32(b, root + 36, 0)),
        ),
        (
            "root hashes shifted",
            Box::new(move |b| {
                for index in 1..count {
                    let at = root + 32 + 8 * index;
                    let hash = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
                    put32(b, at, hash.wrapping_add(0x3000_0000));
                }
            }),
        ),
        ("node limit", Box::new(move |b| put16(b, node + 8, 7))),
        ("node count 0", Box::new(move |b| put16(b, node + 10, 0))),
        (
            "node pointers scrambled",
            Box::new(move |b| {
                for index in 0..8 {
                    put32(b, node + 12 + 8 * index, 3 + index as u32);
                }
            }),
        ),
    ];
    // Every 53rd name, the first and the last: with a damaged index every lookup of them
    // may cost a linear scan.
    let names: Vec<Vec<u8>> = (0..options.entries)
        .filter(|index| index % 53 == 0 || *index == options.entries - 1)
        .map(|index| entry_name(index).into_bytes())
        .collect();
    for (what, damage) in damages {
        let mut bytes = pristine.clone();
        damage(&mut bytes);
        let mut fs = mount_bytes(bytes);
        assert_eq!(lookups_agree(&mut fs, &names), names.len(), "{what}");
        let big = fs.resolve(b"/big", true).unwrap();
        assert_eq!(fs.lookup(big, b"absent"), Err(Error::NotFound), "{what}");
    }
}

#[test]
fn a_110000_entry_directory_is_looked_up_and_written() {
    let scratch = TempDir::new("htree-large");
    let options = LargeDirectory::new(110_000, 1024);
    let start = Instant::now();
    let image = large_directory_image(scratch.path(), &options);
    eprintln!("built the 110 000-entry image in {:?}", start.elapsed());
    let device = FileDevice::open(&image, false).unwrap();
    let mut fs = FileSystem::mount(device, read_only()).unwrap();
    let big = fs.resolve(b"/big", true).unwrap();
    let start = Instant::now();
    let listed = fs.read_dir(big).unwrap();
    assert_eq!(listed.len(), options.entries + 2);
    for entry in &listed {
        assert_eq!(fs.lookup(big, &entry.name), Ok(entry.inode));
        assert_eq!(fs.metadata(entry.inode).unwrap().inode, entry.inode);
    }
    eprintln!(
        "readdir + lookup + stat of {} entries: {:?}",
        listed.len(),
        start.elapsed()
    );
    drop(fs);

    // Writes: the driver clears the index flag (it does not maintain the tree).
    let device = FileDevice::open(&image, true).unwrap();
    let mut fs = FileSystem::mount(device, MountOptions::default()).unwrap();
    assert_eq!(fs.read_only_reason(), None);
    let big = fs.resolve(b"/big", true).unwrap();
    let owner = Owner::default();
    fs.create(big, b"added-after-index", 0o644, owner).unwrap();
    fs.unlink(big, entry_name(17).as_bytes()).unwrap();
    fs.rename(big, entry_name(18).as_bytes(), big, b"renamed-18")
        .unwrap();
    fs.mkdir(big, b"subdirectory", 0o755, owner).unwrap();
    for index in [0, 4_999, 29_999] {
        assert!(fs.lookup(big, entry_name(index).as_bytes()).is_ok());
    }
    assert_eq!(
        fs.lookup(big, entry_name(17).as_bytes()),
        Err(Error::NotFound)
    );
    fs.unmount().unwrap();
    e2fsck(&image).unwrap_or_else(|report| panic!("after writes: {report}"));
    let stat = debugfs(&image, &["stat /big".to_string()], false).remove(0);
    assert!(stat.contains("Flags: 0x0"), "index flag kept:\n{stat}");
    let listing = debugfs(&image, &["ls -p /big".to_string()], false).remove(0);
    for name in ["added-after-index", "renamed-18", "subdirectory"] {
        assert!(listing.contains(&format!("/{name}/")), "{name} missing");
    }
}
