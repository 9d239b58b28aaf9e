//! Test helpers: temporary trees, GNU tar and lz4 invocations, `tar tv` parsing, a hash.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use initrd::{Initrd, NodeKind};

/// Runs a tool and returns its stdout; a missing tool fails the test with an explanation.
pub fn run(tool: &str, args: &[&str], directory: Option<&Path>) -> Vec<u8> {
    let mut command = Command::new(tool);
    command.args(args);
    if let Some(directory) = directory {
        command.current_dir(directory);
    }
    let output = command.output().unwrap_or_else(|error| {
        panic!("cannot run `{tool}` ({error}): the initrd tests need GNU tar and lz4; install them (apt-get install tar lz4)")
    });
    assert!(
        output.status.success(),
        "`{tool} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let number = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("initrd-test-{tag}-{}-{number}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Deterministic bytes: half text-like (compressible), half noise (stored uncompressed by lz4).
pub fn content(seed: u64, length: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut bytes = Vec::with_capacity(length);
    while bytes.len() < length {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        if (bytes.len() / 8192) % 2 == 0 {
            bytes.extend_from_slice(format!("line {} of seed {seed}\n", bytes.len()).as_bytes());
        } else {
            bytes.extend_from_slice(&state.to_le_bytes());
        }
    }
    bytes.truncate(length);
    bytes
}

pub fn write_file(path: &Path, data: &[u8], mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A tree with files of awkward sizes, a deep directory, a symlink, a hard link and long
/// paths; `long_components` adds a single name over 100 bytes (not storable in ustar).
pub fn make_tree(root: &Path, long_components: bool) {
    let sizes = [0usize, 1, 511, 512, 513, 4096, 70_000, 300_000];
    for (index, size) in sizes.iter().enumerate() {
        write_file(
            &root.join(format!("files/size-{size}.bin")),
            &content(index as u64, *size),
            0o644,
        );
    }
    write_file(&root.join("bin/tool"), b"#!/bin/sh\necho tool\n", 0o755);
    write_file(&root.join("etc/secret"), b"private\n", 0o600);
    write_file(
        &root.join("a/b/c/d/e/deep.txt"),
        b"five levels down\n",
        0o640,
    );
    let long_dir = "long/directory-name-number-one-which-is-rather-long/and-another-directory-name-that-is-long-too";
    write_file(
        &root.join(format!(
            "{long_dir}/file-with-a-long-name-in-a-long-directory.txt"
        )),
        b"prefix\n",
        0o644,
    );
    std::os::unix::fs::symlink("../etc/secret", root.join("bin/secret-link")).unwrap();
    fs::hard_link(root.join("bin/tool"), root.join("bin/tool-hardlink")).unwrap();
    fs::create_dir_all(root.join("empty-dir")).unwrap();
    fs::set_permissions(root.join("empty-dir"), fs::Permissions::from_mode(0o700)).unwrap();
    if long_components {
        let name = "n".repeat(150);
        write_file(
            &root.join(format!("long/{name}")),
            b"a name of 150 bytes\n",
            0o644,
        );
        let target = format!("../{long_dir}/file-with-a-long-name-in-a-long-directory.txt");
        std::os::unix::fs::symlink(&target, root.join("long/link-with-a-long-target")).unwrap();
    }
}

/// Creates `archive` from the contents of `source` with GNU tar.
pub fn tar_create(format: &str, source: &Path, archive: &Path, extra: &[&str]) {
    let format = format!("--format={format}");
    let file = archive.to_str().unwrap();
    let mut args = vec![
        format.as_str(),
        "--sort=name",
        "--mtime=@1700000000",
        "-cf",
        file,
    ];
    if !extra.iter().any(|arg| arg.starts_with("--owner")) {
        args.extend(["--owner=0", "--group=0"]);
    }
    args.extend_from_slice(extra);
    args.push(".");
    run("tar", &args, Some(source));
}

/// Compresses `input` to `output` with the lz4 command and the given options.
pub fn lz4_compress(input: &Path, output: &Path, options: &[&str]) {
    let mut args = vec!["-q", "-z", "-f"];
    args.extend_from_slice(options);
    args.push(input.to_str().unwrap());
    args.push(output.to_str().unwrap());
    run("lz4", &args, None);
}

/// One line of `tar --numeric-owner -tvf`.
#[derive(Debug)]
pub struct Listed {
    pub path: String,
    pub type_char: char,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub target: Option<String>,
}

pub fn tar_listing(archive: &Path) -> Vec<Listed> {
    let output = run(
        "tar",
        &["--numeric-owner", "-tvf", archive.to_str().unwrap()],
        None,
    );
    String::from_utf8(output)
        .unwrap()
        .lines()
        .map(|line| {
            // permissions owner size date time name: sizes are right-aligned with spaces.
            let mut parts = line.split_whitespace();
            let permissions = parts.next().unwrap();
            let owner = parts.next().unwrap();
            let size = parts.next().unwrap();
            let rest = after_fields(line, 5);
            let (type_char, mode) = parse_permissions(permissions);
            let (path, target) = match type_char {
                'l' => split_once(rest, " -> "),
                'h' => split_once(rest, " link to "),
                _ => (rest.to_string(), None),
            };
            let (uid, gid) = owner.split_once('/').unwrap();
            Listed {
                path: normalise(&path),
                type_char,
                mode,
                uid: uid.parse().unwrap(),
                gid: gid.parse().unwrap(),
                size: size.parse().unwrap(),
                target,
            }
        })
        .collect()
}

/// What follows the first `count` space-separated fields of `line`.
fn after_fields(line: &str, count: usize) -> &str {
    let mut rest = line;
    for _ in 0..count {
        rest = rest.trim_start_matches(' ');
        let end = rest.find(' ').unwrap();
        rest = &rest[end..];
    }
    &rest[1..]
}

fn split_once(text: &str, separator: &str) -> (String, Option<String>) {
    let (left, right) = text.split_once(separator).unwrap();
    (left.to_string(), Some(right.to_string()))
}

fn parse_permissions(text: &str) -> (char, u32) {
    let chars: Vec<char> = text.chars().collect();
    let mut mode = 0;
    for (index, &flag) in chars[1..10].iter().enumerate() {
        let bit = 1 << (8 - index);
        match flag {
            'r' | 'w' | 'x' => mode |= bit,
            's' | 't' => mode |= bit | special(index),
            'S' | 'T' => mode |= special(index),
            _ => {}
        }
    }
    (chars[0], mode)
}

fn special(index: usize) -> u32 {
    match index {
        2 => 0o4000,
        5 => 0o2000,
        _ => 0o1000,
    }
}

/// The archive path as the initrd stores it.
pub fn normalise(path: &str) -> String {
    path.split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// FNV-1a, 64 bits: enough to tell contents apart in tests.
pub fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Checks every listed entry against the initrd and the source tree; returns how many.
pub fn check_against_listing(initrd: &Initrd<'_>, listing: &[Listed], source: &Path) -> usize {
    for entry in listing {
        let node = initrd.lookup(&entry.path).unwrap_or_else(|| {
            panic!("`{}` listed by tar but missing from the initrd", entry.path)
        });
        let stat = node.stat();
        assert_eq!(stat.mode, entry.mode, "mode of `{}`", entry.path);
        assert_eq!(
            (stat.uid, stat.gid),
            (entry.uid, entry.gid),
            "owner of `{}`",
            entry.path
        );
        assert_eq!(stat.mtime, 1_700_000_000, "mtime of `{}`", entry.path);
        let on_disk = source.join(&entry.path);
        match entry.type_char {
            'd' => assert_eq!(stat.kind, NodeKind::Directory, "`{}`", entry.path),
            '-' | 'h' => {
                assert_eq!(stat.kind, NodeKind::File, "`{}`", entry.path);
                let expected = fs::read(&on_disk).unwrap();
                if entry.type_char == '-' {
                    assert_eq!(stat.size, entry.size, "size of `{}`", entry.path);
                }
                assert_eq!(stat.size, expected.len() as u64, "size of `{}`", entry.path);
                assert_eq!(
                    hash(node.data().unwrap()),
                    hash(&expected),
                    "content of `{}`",
                    entry.path
                );
            }
            'l' => {
                assert_eq!(stat.kind, NodeKind::Symlink, "`{}`", entry.path);
                assert_eq!(
                    stat.link_target,
                    entry.target.as_deref(),
                    "target of `{}`",
                    entry.path
                );
            }
            other => panic!("unexpected type {other:?} for `{}`", entry.path),
        }
    }
    // Nothing more than what tar lists (the root may or may not be listed).
    let listed_root = listing.iter().any(|entry| entry.path.is_empty());
    assert_eq!(
        initrd.walk().count(),
        listing.len() + usize::from(!listed_root)
    );
    listing.len()
}

/// One pax record, `"<length> <key>=<value>\n"`.
pub fn pax_record(key: &str, value: &str) -> String {
    // The length counts its own digits: iterate to the fixed point.
    let body = format!(" {key}={value}\n");
    let mut length = body.len();
    while length.to_string().len() + body.len() != length {
        length = length.to_string().len() + body.len();
    }
    format!("{length}{body}")
}

/// A minimal ustar writer for hand-made (often broken) archives.
#[derive(Default)]
pub struct TarBuilder {
    pub bytes: Vec<u8>,
}

impl TarBuilder {
    /// Appends a header and its padded data; returns the header's offset.
    pub fn entry(&mut self, name: &[u8], typeflag: u8, link: &[u8], data: &[u8]) -> usize {
        let offset = self.bytes.len();
        let header = header(name, typeflag, link, data.len() as u64);
        self.bytes.extend_from_slice(&header);
        self.bytes.extend_from_slice(data);
        self.bytes.resize(self.bytes.len().div_ceil(512) * 512, 0);
        offset
    }

    pub fn file(&mut self, name: &str, data: &[u8]) -> usize {
        self.entry(name.as_bytes(), b'0', b"", data)
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.extend_from_slice(&[0; 1024]);
        self.bytes
    }
}

pub fn header(name: &[u8], typeflag: u8, link: &[u8], size: u64) -> [u8; 512] {
    let mut header = [0u8; 512];
    header[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
    header[100..108].copy_from_slice(b"0000644\0");
    header[108..116].copy_from_slice(b"0001750\0");
    header[116..124].copy_from_slice(b"0001750\0");
    header[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    header[136..148].copy_from_slice(b"14524770000\0");
    header[156] = typeflag;
    header[157..157 + link.len().min(100)].copy_from_slice(&link[..link.len().min(100)]);
    header[257..265].copy_from_slice(b"ustar\x0000");
    fix_checksum(&mut header);
    header
}

/// Recomputes a header checksum after editing it.
pub fn fix_checksum(header: &mut [u8]) {
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header[..512].iter().map(|&byte| u32::from(byte)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}
