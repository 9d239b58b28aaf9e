//! Shared host-test helpers: image building with mke2fs, e2fsck, and debugfs snapshots.
//!
//! e2fsprogs is required: a missing tool fails the test with a message naming the package.
#![allow(
    dead_code,
    reason = "each test crate uses a different subset of the helpers"
)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use ext2::{BlockDevice, FileSystem, FileType};

pub mod large;

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let unique = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("ext2-test-{tag}-{}-{unique}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub fn tool(name: &str) -> PathBuf {
    for directory in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        let candidate = Path::new(directory).join(name);
        if candidate.exists() {
            return candidate;
        }
    }
    panic!("{name} not found: these tests need e2fsprogs (apt-get install -y e2fsprogs)");
}

/// How to format an image.
#[derive(Clone, Debug)]
pub struct ImageOptions {
    pub block_size: u32,
    pub revision: u32,
    pub inode_size: u32,
    pub filetype: bool,
    pub blocks_per_group: Option<u32>,
    /// `-N`: inodes to make (mke2fs's default ratio otherwise).
    pub inodes: Option<u32>,
    pub size_mib: u64,
}

impl ImageOptions {
    pub fn new(block_size: u32, revision: u32, inode_size: u32) -> Self {
        Self {
            block_size,
            revision,
            inode_size,
            filetype: true,
            blocks_per_group: None,
            inodes: None,
            size_mib: 24,
        }
    }
}

/// Runs mke2fs -t ext2 over `tree` (or empty when `None`), returning the image path.
pub fn make_image(directory: &Path, tree: Option<&Path>, options: &ImageOptions) -> PathBuf {
    let image = directory.join("image.ext2");
    let _ = fs::remove_file(&image);
    let mut command = Command::new(tool("mke2fs"));
    command
        .args(["-q", "-F", "-t", "ext2", "-b"])
        .arg(options.block_size.to_string());
    command.arg("-r").arg(options.revision.to_string());
    if options.revision >= 1 {
        command.arg("-I").arg(options.inode_size.to_string());
        if !options.filetype {
            command.args(["-O", "^filetype"]);
        }
    }
    if let Some(blocks) = options.blocks_per_group {
        command.arg("-g").arg(blocks.to_string());
    }
    if let Some(inodes) = options.inodes {
        command.arg("-N").arg(inodes.to_string());
    }
    if let Some(tree) = tree {
        command.arg("-d").arg(tree);
    }
    command.arg(&image).arg(format!("{}M", options.size_mib));
    let output = command.output().expect("run mke2fs");
    assert!(
        output.status.success(),
        "mke2fs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    image
}

/// e2fsck -fn: Ok when clean, else the report.
pub fn e2fsck(image: &Path) -> Result<(), String> {
    let output = Command::new(tool("e2fsck"))
        .arg("-fn")
        .arg(image)
        .output()
        .expect("run e2fsck");
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "e2fsck exit {:?}\n{}{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// e2fsck -fn from the first backup superblock (group 1): Ok when clean, else the report.
pub fn e2fsck_backup(image: &Path) -> Result<(), String> {
    let header = Command::new(tool("dumpe2fs"))
        .arg("-h")
        .arg(image)
        .output()
        .expect("run dumpe2fs");
    let text = String::from_utf8_lossy(&header.stdout).into_owned();
    let number = |key: &str| -> u64 {
        let line = text
            .lines()
            .find(|line| line.starts_with(key))
            .unwrap_or_else(|| panic!("no {key}"));
        line[key.len()..].trim().parse().expect("number")
    };
    let block_size = number("Block size:");
    let backup = number("Blocks per group:") + number("First block:");
    let output = Command::new(tool("e2fsck"))
        .arg("-fn")
        .arg("-b")
        .arg(backup.to_string())
        .arg("-B")
        .arg(block_size.to_string())
        .arg(image)
        .output()
        .expect("run e2fsck");
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "e2fsck -b {backup} exit {:?}\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout)
        ))
    }
}

/// Runs debugfs commands in one batch and returns each command's output.
pub fn debugfs(image: &Path, commands: &[String], write: bool) -> Vec<String> {
    let script = image.with_extension(format!("cmds{}", std::process::id()));
    fs::write(&script, commands.join("\n") + "\n").expect("write debugfs script");
    let mut command = Command::new(tool("debugfs"));
    if write {
        command.arg("-w");
    }
    command
        .env("DEBUGFS_PAGER", "__none__")
        .env("PAGER", "__none__");
    let output = command
        .arg("-f")
        .arg(&script)
        .arg(image)
        .output()
        .expect("run debugfs");
    let _ = fs::remove_file(&script);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut sections = Vec::new();
    for line in stdout.split_inclusive('\n') {
        if line.starts_with("debugfs: ") {
            sections.push(String::new());
        } else if let Some(last) = sections.last_mut() {
            last.push_str(line);
        }
    }
    assert_eq!(sections.len(), commands.len(), "debugfs output:\n{stdout}");
    for (command, section) in commands.iter().zip(&sections) {
        if command.starts_with("stat") && section.is_empty() {
            panic!(
                "debugfs {command}: no output; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    sections
}

/// What both the driver and debugfs report for one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub inode: u32,
    pub kind: FileType,
    pub permissions: u16,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub links: u16,
    pub times: [u32; 3],
    /// File contents, or symlink target.
    pub data: Option<Vec<u8>>,
}

fn field<'a>(text: &'a str, key: &str) -> &'a str {
    let start = text
        .find(key)
        .unwrap_or_else(|| panic!("no {key} in {text}"))
        + key.len();
    text[start..].split_whitespace().next().expect("value")
}

fn time_field(text: &str, key: &str) -> u32 {
    let value = field(text, key);
    let hex = value.trim_start_matches("0x");
    let hex = hex.split(':').next().expect("hex");
    u32::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("bad time {value}"))
}

/// The tree as debugfs sees it.
pub fn debugfs_snapshot(image: &Path, scratch: &Path) -> BTreeMap<String, Node> {
    let mut listing: BTreeMap<String, (u32, u16)> = BTreeMap::new();
    let mut level = vec![(String::new(), 2u32)];
    while !level.is_empty() {
        let commands: Vec<String> = level
            .iter()
            .map(|(_, inode)| format!("ls -p <{inode}>"))
            .collect();
        let outputs = debugfs(image, &commands, false);
        let mut next = Vec::new();
        for ((path, _), output) in level.iter().zip(outputs) {
            for line in output.lines().filter(|line| line.starts_with('/')) {
                let parts: Vec<&str> = line.split('/').collect();
                let name = parts[5];
                if name == "." || name == ".." {
                    continue;
                }
                let inode: u32 = parts[1].parse().expect("inode");
                if inode == 0 {
                    continue; // debugfs lists empty directory blocks as inode 0
                }
                let mode = u16::from_str_radix(parts[2], 8).expect("mode");
                let child = format!("{path}/{name}");
                if FileType::from_mode(mode) == FileType::Directory {
                    next.push((child.clone(), inode));
                }
                listing.insert(child, (inode, mode));
            }
        }
        level = next;
    }
    let mut inodes: BTreeMap<u32, u16> = BTreeMap::new();
    for (inode, mode) in listing.values() {
        inodes.insert(*inode, *mode);
    }
    let mut commands = Vec::new();
    for (inode, mode) in &inodes {
        commands.push(format!("stat <{inode}>"));
        let kind = FileType::from_mode(*mode);
        if kind == FileType::Regular || kind == FileType::Symlink {
            commands.push(format!("dump <{inode}> {}/dump-{inode}", scratch.display()));
        }
    }
    let mut outputs = debugfs(image, &commands, false).into_iter();
    let mut nodes: BTreeMap<u32, Node> = BTreeMap::new();
    for (inode, mode) in inodes {
        let stat = outputs.next().expect("stat output");
        let kind = FileType::from_mode(mode);
        let mut data = None;
        if kind == FileType::Regular || kind == FileType::Symlink {
            let _ = outputs.next();
            let dumped = scratch.join(format!("dump-{inode}"));
            if let Some(start) = stat.find("Fast link dest: \"") {
                let rest = &stat[start + 17..];
                data = Some(rest.as_bytes()[..rest.rfind('"').expect("quote")].to_vec());
            } else {
                data = Some(
                    fs::read(&dumped)
                        .unwrap_or_else(|error| panic!("dump of {inode}: {error}\n{stat}")),
                );
            }
            let _ = fs::remove_file(&dumped);
        }
        let node = Node {
            inode,
            kind,
            permissions: u16::from_str_radix(field(&stat, "Mode:"), 8).expect("mode"),
            uid: field(&stat, "User:").parse().expect("uid"),
            gid: field(&stat, "Group:").parse().expect("gid"),
            size: field(&stat, "Size:").parse().expect("size"),
            links: field(&stat, "Links:").parse().expect("links"),
            times: [
                time_field(&stat, "atime:"),
                time_field(&stat, "mtime:"),
                time_field(&stat, "ctime:"),
            ],
            data,
        };
        nodes.insert(inode, node);
    }
    listing
        .into_iter()
        .map(|(path, (inode, _))| (path, nodes[&inode].clone()))
        .collect()
}

/// The tree as the driver sees it.
pub fn driver_snapshot<D: BlockDevice>(fs: &mut FileSystem<D>) -> BTreeMap<String, Node> {
    let mut snapshot = BTreeMap::new();
    let mut pending = vec![(String::new(), fs.root())];
    while let Some((path, directory)) = pending.pop() {
        for entry in fs.read_dir(directory).expect("read_dir") {
            if entry.name == b"." || entry.name == b".." {
                continue;
            }
            let child = format!("{path}/{}", String::from_utf8_lossy(&entry.name));
            let metadata = fs.metadata(entry.inode).expect("metadata");
            assert_eq!(metadata.file_type, entry.file_type, "entry type of {child}");
            let data = match metadata.file_type {
                FileType::Regular => {
                    let mut buffer = vec![0u8; metadata.size as usize];
                    let read = fs.read(entry.inode, 0, &mut buffer).expect("read");
                    assert_eq!(read as u64, metadata.size, "short read of {child}");
                    Some(buffer)
                }
                FileType::Symlink => Some(fs.read_link(entry.inode).expect("read_link")),
                FileType::Directory => {
                    pending.push((child.clone(), entry.inode));
                    None
                }
                _ => None,
            };
            let node = Node {
                inode: entry.inode,
                kind: metadata.file_type,
                permissions: metadata.permissions,
                uid: metadata.uid,
                gid: metadata.gid,
                size: metadata.size,
                links: metadata.links,
                times: [
                    metadata.atime.seconds as u32,
                    metadata.mtime.seconds as u32,
                    metadata.ctime.seconds as u32,
                ],
                data,
            };
            snapshot.insert(child, node);
        }
    }
    snapshot
}

/// Asserts two snapshots agree, entry by entry, with a readable message.
pub fn assert_same(
    driver: &BTreeMap<String, Node>,
    reference: &BTreeMap<String, Node>,
    context: &str,
) {
    let driver_paths: Vec<&String> = driver.keys().collect();
    let reference_paths: Vec<&String> = reference.keys().collect();
    assert_eq!(driver_paths, reference_paths, "{context}: path sets differ");
    for (path, expected) in reference {
        let actual = &driver[path];
        let strip = |node: &Node| Node {
            data: None,
            ..node.clone()
        };
        assert_eq!(
            strip(actual),
            strip(expected),
            "{context}: metadata of {path}"
        );
        if actual.data != expected.data {
            let length = |data: &Option<Vec<u8>>| data.as_ref().map(Vec::len);
            let first_difference = match (&actual.data, &expected.data) {
                (Some(a), Some(b)) => a.iter().zip(b).position(|(x, y)| x != y),
                _ => None,
            };
            panic!(
                "{context}: data of {path} differs (driver {:?} bytes, debugfs {:?}, first difference at {:?})",
                length(&actual.data),
                length(&expected.data),
                first_difference
            );
        }
    }
}

/// Small deterministic generator (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    pub fn bytes(&mut self, length: usize) -> Vec<u8> {
        (0..length).map(|_| self.next() as u8).collect()
    }
}
