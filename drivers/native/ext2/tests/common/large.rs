//! Images with one very large hash-indexed directory, built in seconds.
//!
//! `mke2fs -d` inserts names into a directory linearly, so a 100 000-entry directory takes
//! it minutes. Instead the files are made in 1000-entry subdirectories (fast), a regular file
//! `/big` of the right length is filled with directory blocks naming all of them, turned into
//! a directory with `debugfs sif`, and `e2fsck -fyD` fixes the link counts and builds the
//! hash index. Only e2fsprogs is used, never the driver under test.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{debugfs, tool};

/// Files per subdirectory of `/files`.
const PER_DIRECTORY: usize = 1000;

/// How to build the image.
#[derive(Clone, Debug)]
pub struct LargeDirectory {
    /// Entries of `/big` (besides `.` and `..`).
    pub entries: usize,
    pub block_size: u32,
    /// `s_def_hash_version` for e2fsck -D: "legacy", "half_md4" or "tea".
    pub hash: &'static str,
    /// Set the unsigned-hash superblock flag instead of the signed one.
    pub unsigned: bool,
}

impl LargeDirectory {
    pub fn new(entries: usize, block_size: u32) -> Self {
        Self {
            entries,
            block_size,
            hash: "half_md4",
            unsigned: false,
        }
    }
}

/// Name of entry `index`: ASCII mostly, with some bytes above 0x7F so that the signed and
/// unsigned hash variants differ.
pub fn entry_name(index: usize) -> String {
    if index % 7 == 3 {
        format!("entrée-{index:06}")
    } else {
        format!("entry-{index:06}")
    }
}

fn record_length(name_length: usize) -> usize {
    (8 + name_length + 3) & !3
}

fn put_entry(block: &mut [u8], offset: usize, inode: u32, length: usize, name: &[u8], kind: u8) {
    block[offset..offset + 4].copy_from_slice(&inode.to_le_bytes());
    block[offset + 4..offset + 6].copy_from_slice(&(length as u16).to_le_bytes());
    block[offset + 6] = name.len() as u8;
    block[offset + 7] = kind;
    block[offset + 8..offset + 8 + name.len()].copy_from_slice(name);
}

/// Packs `(inode, name, type)` entries into linear directory blocks of `block_size`; the last
/// entry of each block takes the rest of it.
fn directory_blocks(entries: &[(u32, Vec<u8>, u8)], block_size: usize) -> Vec<Vec<u8>> {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<&(u32, Vec<u8>, u8)> = Vec::new();
    let mut used = 0;
    let mut flush = |current: &mut Vec<&(u32, Vec<u8>, u8)>| {
        let mut block = vec![0u8; block_size];
        let mut offset = 0;
        for (index, (inode, name, kind)) in current.iter().enumerate() {
            let mut length = record_length(name.len());
            if index + 1 == current.len() {
                length = block_size - offset;
            }
            put_entry(&mut block, offset, *inode, length, name, *kind);
            offset += length;
        }
        blocks.push(block);
        current.clear();
    };
    for entry in entries {
        let length = record_length(entry.1.len());
        if used + length > block_size {
            flush(&mut current);
            used = 0;
        }
        current.push(entry);
        used += length;
    }
    flush(&mut current);
    blocks
}

fn run(program: &str, arguments: &[&str], image: &Path) -> (i32, String) {
    let output = Command::new(tool(program))
        .args(arguments)
        .arg(image)
        .output()
        .unwrap_or_else(|error| panic!("{program}: {error}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// Builds the image in `scratch`; returns its path. Panics when a tool fails or the result
/// is not e2fsck-clean with `/big` indexed.
pub fn large_directory_image(scratch: &Path, options: &LargeDirectory) -> PathBuf {
    let block_size = options.block_size as usize;
    // Creating this many files is much faster on tmpfs than on a journaled disk.
    let shm = Path::new("/dev/shm");
    let tree_parent = if shm.is_dir() { shm } else { scratch };
    let unique = scratch.file_name().expect("scratch name").to_string_lossy();
    let tree = tree_parent.join(format!("{unique}-large-tree"));
    let _ = fs::remove_dir_all(&tree);
    let groups = options.entries.div_ceil(PER_DIRECTORY);
    for group in 0..groups {
        let directory = tree.join(format!("files/{group:03}"));
        fs::create_dir_all(&directory).unwrap();
        for index in group * PER_DIRECTORY..options.entries.min((group + 1) * PER_DIRECTORY) {
            fs::File::create(directory.join(entry_name(index))).unwrap();
        }
    }
    let names_bytes: usize = (0..options.entries)
        .map(|index| record_length(entry_name(index).len()))
        .sum();
    // Room for the packing slack at each block end, `.` and `..`.
    let payload_blocks = names_bytes / block_size + names_bytes / block_size / 8 + 4;
    // Non-zero bytes: mke2fs -d leaves all-zero blocks as holes.
    fs::write(tree.join("big"), vec![0xA5u8; payload_blocks * block_size]).unwrap();
    let image = scratch.join("large.img");
    let size_mib = 16 + options.entries * 600 / (1 << 20) + payload_blocks * block_size / (1 << 20);
    let status = Command::new(tool("mke2fs"))
        .args(["-q", "-F", "-t", "ext2", "-b"])
        .arg(options.block_size.to_string())
        .arg("-N")
        .arg((options.entries + 1000).to_string())
        .arg("-d")
        .arg(&tree)
        .arg(&image)
        .arg(format!("{size_mib}M"))
        .output()
        .expect("mke2fs");
    let _ = fs::remove_dir_all(&tree);
    assert!(status.status.success(), "mke2fs: {status:?}");

    // Inode numbers of the files, the payload's inode and where its blocks are.
    let mut commands: Vec<String> = (0..groups)
        .map(|g| format!("ls -p /files/{g:03}"))
        .collect();
    commands.push("ls -p /".into());
    commands.extend((0..payload_blocks).map(|logical| format!("bmap /big {logical}")));
    let outputs = debugfs(&image, &commands, false);
    let listed = |output: &String| -> Vec<(u32, Vec<u8>)> {
        output
            .lines()
            .filter(|line| line.starts_with('/'))
            .filter_map(|line| {
                let parts: Vec<&str> = line.split('/').collect();
                let name = parts.get(5)?;
                (*name != "." && *name != "..")
                    .then(|| (parts[1].parse().unwrap(), name.as_bytes().to_vec()))
            })
            .collect()
    };
    let mut entries: Vec<(u32, Vec<u8>, u8)> = Vec::with_capacity(options.entries + 2);
    let big = listed(&outputs[groups])
        .into_iter()
        .find(|(_, name)| name == b"big")
        .expect("/big listed")
        .0;
    entries.push((big, b".".to_vec(), 2));
    entries.push((2, b"..".to_vec(), 2));
    for output in &outputs[..groups] {
        entries.extend(
            listed(output)
                .into_iter()
                .map(|(inode, name)| (inode, name, 1)),
        );
    }
    assert_eq!(
        entries.len(),
        options.entries + 2,
        "files listed by debugfs"
    );
    let physical: Vec<u64> = outputs[groups + 1..]
        .iter()
        .map(|output| output.trim().parse().expect("bmap answer"))
        .collect();
    let blocks = directory_blocks(&entries, block_size);
    assert!(blocks.len() <= physical.len(), "payload too short");
    let mut file = fs::OpenOptions::new().write(true).open(&image).unwrap();
    for (index, block) in physical.iter().enumerate() {
        let data = blocks.get(index).cloned().unwrap_or_else(|| {
            let mut empty = vec![0u8; block_size];
            put_entry(&mut empty, 0, 0, block_size, b"", 0);
            empty
        });
        file.seek(SeekFrom::Start(block * block_size as u64))
            .unwrap();
        file.write_all(&data).unwrap();
    }
    drop(file);
    debugfs(
        &image,
        &[
            "sif /big mode 040755".to_string(),
            format!("ssv def_hash_version {}", options.hash),
            // s_flags: 1 signed, 2 unsigned directory hash.
            format!("ssv flags {}", if options.unsigned { 2 } else { 1 }),
        ],
        true,
    );
    // The first pass fixes link counts and the entry type of /big and builds the index.
    run("e2fsck", &["-fyD"], &image);
    let (code, report) = run("e2fsck", &["-fn"], &image);
    assert_eq!(code, 0, "large directory image not clean:\n{report}");
    let stat = debugfs(&image, &["stat /big".to_string()], false).remove(0);
    assert!(stat.contains("Flags: 0x1000"), "/big not indexed:\n{stat}");
    image
}
