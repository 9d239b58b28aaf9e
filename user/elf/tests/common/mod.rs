//! Test helpers: programs compiled by the host's gcc, readelf's view of a file, a synthetic ELF
//! builder for hand-made damage, and a small deterministic random generator.
#![allow(dead_code, reason = "each test binary uses a different part")]

pub mod invariants;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A small C program with data, bss and thread-local storage, so a static glibc link has
/// PT_TLS and a writable segment whose memory is larger than its file part.
pub const PROGRAM: &str = r#"
#include <stdio.h>
#include <string.h>
static char buffer[1 << 16];
int counter = 7;
__thread int per_thread = 3;
int main(int argc, char **argv) {
    strncpy(buffer, argv[0], sizeof buffer - 1);
    printf("%s %d %d\n", buffer, counter + argc, per_thread);
    return 0;
}
"#;

/// Whether `tool --version` runs; prints `SKIPPED: reason` when it does not.
pub fn have(tool: &str, test: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        println!("SKIPPED: {test}: {tool} is not installed");
    }
    found
}

/// Compiles [`PROGRAM`] with `gcc` and `flags` into a scratch directory (one per test binary,
/// reused by the next run); `None`
/// (with `SKIPPED:` printed) when gcc is missing. A failing compile fails the test.
pub fn compile(name: &str, flags: &[&str]) -> Option<PathBuf> {
    if !have("gcc", name) {
        return None;
    }
    let directory = scratch();
    let source = directory.join("program.c");
    if !source.exists() {
        std::fs::write(&source, PROGRAM).unwrap();
    }
    let output_path = directory.join(name);
    let output = Command::new("gcc")
        .args(["-O1", "-o"])
        .arg(&output_path)
        .arg(&source)
        .args(flags)
        .output()
        .expect("run gcc");
    assert!(
        output.status.success(),
        "gcc {flags:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(output_path)
}

/// The bytes of `gcc -static PROGRAM`, compiled once per test binary.
pub fn static_program() -> Option<&'static [u8]> {
    static BYTES: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    BYTES
        .get_or_init(|| {
            compile("static-seed", &["-static"]).map(|path| std::fs::read(path).unwrap())
        })
        .as_deref()
}

fn scratch() -> PathBuf {
    static DIRECTORY: OnceLock<PathBuf> = OnceLock::new();
    DIRECTORY
        .get_or_init(|| {
            let directory = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(concat!("elf-loader-", env!("CARGO_CRATE_NAME")));
            std::fs::create_dir_all(&directory).unwrap();
            directory
        })
        .clone()
}

/// One program header as `readelf -lW` prints it.
#[derive(Debug, Clone)]
pub struct ReadelfHeader {
    pub kind: String,
    pub offset: u64,
    pub vaddr: u64,
    pub file_size: u64,
    pub mem_size: u64,
    /// `R`, `W`, `E` letters as printed (e.g. "R E").
    pub flags: String,
}

/// What `readelf -lW` says about a file.
#[derive(Debug, Clone)]
pub struct Readelf {
    /// "EXEC" or "DYN".
    pub file_type: String,
    pub entry: u64,
    pub count: u16,
    pub table_offset: u64,
    pub headers: Vec<ReadelfHeader>,
    pub interpreter: Option<String>,
}

fn hex(text: &str) -> u64 {
    u64::from_str_radix(text.trim_start_matches("0x"), 16)
        .unwrap_or_else(|_| panic!("not hex: {text}"))
}

/// Runs `readelf -lW path` and reads its output.
pub fn readelf(path: &Path) -> Readelf {
    let output = Command::new("readelf")
        .arg("-lW")
        .arg(path)
        .output()
        .expect("run readelf");
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let mut view = Readelf {
        file_type: String::new(),
        entry: 0,
        count: 0,
        table_offset: 0,
        headers: Vec::new(),
        interpreter: None,
    };
    let mut in_table = false;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(rest) = line.strip_prefix("Elf file type is ") {
            view.file_type = rest.split_whitespace().next().unwrap().to_string();
        } else if let Some(rest) = line.strip_prefix("Entry point ") {
            view.entry = hex(rest.trim());
        } else if line.starts_with("There are ") {
            // "There are 10 program headers, starting at offset 64"
            view.count = words[2].parse().unwrap();
            view.table_offset = words.last().unwrap().parse().unwrap();
        } else if line.trim_start().starts_with("Type ") {
            in_table = true;
        } else if line
            .trim_start()
            .starts_with("[Requesting program interpreter: ")
        {
            let path = line
                .trim()
                .trim_start_matches("[Requesting program interpreter: ");
            view.interpreter = Some(path.trim_end_matches(']').to_string());
        } else if in_table && words.len() >= 8 && words[1].starts_with("0x") {
            // Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align; Flg may hold spaces.
            view.headers.push(ReadelfHeader {
                kind: words[0].to_string(),
                offset: hex(words[1]),
                vaddr: hex(words[2]),
                file_size: hex(words[4]),
                mem_size: hex(words[5]),
                flags: words[6..words.len() - 1].join(" "),
            });
        } else if line.trim().is_empty() && !view.headers.is_empty() {
            in_table = false;
        }
    }
    assert_eq!(
        view.headers.len(),
        usize::from(view.count),
        "readelf output not understood:\n{text}"
    );
    view
}

/// splitmix64: deterministic, so a failure names a seed that reproduces it.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

pub const PT_LOAD: u32 = 1;
pub const PT_INTERP: u32 = 3;
pub const PT_PHDR: u32 = 6;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

/// A program header for [`build_elf`].
#[derive(Clone, Copy, Debug)]
pub struct Header {
    pub kind: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub file_size: u64,
    pub mem_size: u64,
    pub align: u64,
}

impl Header {
    pub fn load(flags: u32, offset: u64, vaddr: u64, file_size: u64, mem_size: u64) -> Self {
        Self {
            kind: PT_LOAD,
            flags,
            offset,
            vaddr,
            file_size,
            mem_size,
            align: 0x1000,
        }
    }
}

/// A little-endian ELF64 x86_64 file of `file_size` bytes (at least the headers) with the
/// given type, entry and program headers at offset 64.
pub fn build_elf(file_type: u16, entry: u64, headers: &[Header], file_size: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; file_size.max(64 + 56 * headers.len())];
    bytes[..4].copy_from_slice(b"\x7fELF");
    bytes[4] = 2; // ELFCLASS64
    bytes[5] = 1; // ELFDATA2LSB
    bytes[6] = 1; // EV_CURRENT
    bytes[16..18].copy_from_slice(&file_type.to_le_bytes());
    bytes[18..20].copy_from_slice(&62u16.to_le_bytes());
    bytes[20..24].copy_from_slice(&1u32.to_le_bytes());
    bytes[24..32].copy_from_slice(&entry.to_le_bytes());
    bytes[32..40].copy_from_slice(&64u64.to_le_bytes());
    bytes[52..54].copy_from_slice(&64u16.to_le_bytes());
    bytes[54..56].copy_from_slice(&56u16.to_le_bytes());
    bytes[56..58].copy_from_slice(&(headers.len() as u16).to_le_bytes());
    for (index, header) in headers.iter().enumerate() {
        let at = 64 + 56 * index;
        bytes[at..at + 4].copy_from_slice(&header.kind.to_le_bytes());
        bytes[at + 4..at + 8].copy_from_slice(&header.flags.to_le_bytes());
        bytes[at + 8..at + 16].copy_from_slice(&header.offset.to_le_bytes());
        bytes[at + 16..at + 24].copy_from_slice(&header.vaddr.to_le_bytes());
        bytes[at + 24..at + 32].copy_from_slice(&header.vaddr.to_le_bytes());
        bytes[at + 32..at + 40].copy_from_slice(&header.file_size.to_le_bytes());
        bytes[at + 40..at + 48].copy_from_slice(&header.mem_size.to_le_bytes());
        bytes[at + 48..at + 56].copy_from_slice(&header.align.to_le_bytes());
    }
    bytes
}

/// A valid static executable: headers and code in one R+X page at 0x400000, data in a RW
/// segment at 0x401000 with a bss tail.
pub fn minimal_elf() -> (Vec<Header>, Vec<u8>) {
    let headers = vec![
        Header::load(PF_R | PF_X, 0, 0x40_0000, 0x1000, 0x1000),
        Header::load(PF_R | PF_W, 0x1000, 0x40_1000, 0x100, 0x3000),
    ];
    let bytes = build_elf(2, 0x40_0200, &headers, 0x1100);
    (headers, bytes)
}
