//! Benchmark: sequential file I/O and metadata operations through the driver over an image
//! file, next to the raw rate of the same `FileDevice`; then "readdir + lookup + stat of every
//! entry" in hash-indexed directories of 10 000 and 100 000 names, whose per-entry cost must
//! not grow with the directory.
//!
//! `cargo run --release -p ext2 --example bench -- [image]`. Without an argument a 256 MiB
//! scratch image is made with mke2fs in the temp directory. A given image is modified (a
//! file and a directory are created and removed again); raw writes rewrite the bytes read.
//! The large-directory images are always scratch ones (built with e2fsprogs).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use ext2::{BlockDevice, FileDevice, FileSystem, MountOptions, Owner};

// The test helpers' large-directory builder (the module allows its unused parts).
#[path = "../tests/common/mod.rs"]
mod common;

use common::large::{large_directory_image, LargeDirectory};
use common::TempDir;

const FILE_SIZE: usize = 64 << 20;
const CHUNK: usize = 128 << 10;
const FILES: usize = 10_000;

fn megabytes_per_second(bytes: usize, seconds: f64) -> f64 {
    bytes as f64 / (1 << 20) as f64 / seconds
}

fn mount(image: &PathBuf) -> FileSystem<FileDevice> {
    let device = FileDevice::open(image, true).expect("open image");
    FileSystem::mount(device, MountOptions::default())
        .unwrap_or_else(|error| panic!("mount: {error}"))
}

fn main() {
    let (image, scratch) = match std::env::args().nth(1) {
        Some(path) => (PathBuf::from(path), false),
        None => {
            let path = std::env::temp_dir().join(format!("ext2-bench-{}.img", std::process::id()));
            let status = Command::new("mke2fs")
                .args(["-q", "-F", "-t", "ext2", "-b", "4096"])
                .arg(&path)
                .arg("256M")
                .status()
                .expect("mke2fs (e2fsprogs) is needed to make the scratch image");
            assert!(status.success(), "mke2fs failed");
            (path, true)
        }
    };
    println!("image: {}", image.display());

    // Sequential file write (including the final sync), then a read after remount (the
    // driver's cache is cold, the host page cache is not).
    let mut fs = mount(&image);
    let root = fs.root();
    let owner = Owner::default();
    let file = fs
        .create(root, b"bench-file", 0o644, owner)
        .expect("create");
    let pattern: Vec<u8> = (0..CHUNK).map(|index| (index * 13) as u8).collect();
    let start = Instant::now();
    for index in 0..FILE_SIZE / CHUNK {
        fs.write(file, (index * CHUNK) as u64, &pattern)
            .expect("write");
    }
    fs.sync().expect("sync");
    let file_write = megabytes_per_second(FILE_SIZE, start.elapsed().as_secs_f64());
    fs.unmount().expect("unmount");
    let mut fs = mount(&image);
    let mut buffer = vec![0u8; CHUNK];
    let start = Instant::now();
    for index in 0..FILE_SIZE / CHUNK {
        fs.read(file, (index * CHUNK) as u64, &mut buffer)
            .expect("read");
    }
    let file_read = megabytes_per_second(FILE_SIZE, start.elapsed().as_secs_f64());
    assert_eq!(buffer, pattern, "read back differs");
    fs.unlink(root, b"bench-file").expect("unlink");

    // Metadata: create, stat, unlink 10 000 files in one directory.
    let directory = fs.mkdir(root, b"bench-meta", 0o755, owner).expect("mkdir");
    let names: Vec<String> = (0..FILES).map(|index| format!("file-{index:05}")).collect();
    let start = Instant::now();
    for name in &names {
        fs.create(directory, name.as_bytes(), 0o644, owner)
            .expect("create");
    }
    let creates = FILES as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    for name in &names {
        let inode = fs.lookup(directory, name.as_bytes()).expect("lookup");
        fs.metadata(inode).expect("stat");
    }
    let stats = FILES as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    for name in &names {
        fs.unlink(directory, name.as_bytes()).expect("unlink");
    }
    fs.sync().expect("sync");
    let unlinks = FILES as f64 / start.elapsed().as_secs_f64();
    fs.rmdir(root, b"bench-meta").expect("rmdir");
    fs.unmount().expect("unmount");

    // Raw device through the same FileDevice, measured last so the host page cache is as
    // warm as the driver found it: read 64 MiB twice (the second pass counts), then write the
    // same bytes back and flush.
    let mut device = FileDevice::open(&image, true).expect("open image");
    let length = (FILE_SIZE as u64).min(device.len() / CHUNK as u64 * CHUNK as u64) as usize;
    let mut data = vec![0u8; length];
    let mut raw_read = 0.0;
    for _ in 0..2 {
        let start = Instant::now();
        for (index, chunk) in data.chunks_mut(CHUNK).enumerate() {
            device
                .read_at((index * CHUNK) as u64, chunk)
                .expect("raw read");
        }
        raw_read = megabytes_per_second(length, start.elapsed().as_secs_f64());
    }
    let start = Instant::now();
    for (index, chunk) in data.chunks(CHUNK).enumerate() {
        device
            .write_at((index * CHUNK) as u64, chunk)
            .expect("raw write");
    }
    device.flush().expect("flush");
    let raw_write = megabytes_per_second(length, start.elapsed().as_secs_f64());
    drop(device);

    println!(
        "raw device   read {raw_read:9.1} MB/s   write {raw_write:9.1} MB/s  ({} MiB)",
        length >> 20
    );
    println!("ext2 file    read {file_read:9.1} MB/s   write {file_write:9.1} MB/s  (64 MiB, {} KiB calls)", CHUNK >> 10);
    println!("metadata     create {creates:9.0}/s   stat {stats:9.0}/s   unlink {unlinks:9.0}/s  ({FILES} files, one directory)");
    if scratch {
        let _ = std::fs::remove_file(&image);
    }
    large_directories();
}

/// Per-entry nanoseconds of readdir of `/big`, then lookup of every name, then stat of every
/// entry in readdir order (like `ls -l`; hash order, so the inode table is visited at random)
/// and, on a fresh mount, in inode order — each with a read-only mount caching
/// `cache_blocks`; last, nanoseconds per lookup of a name that is not there (10 000 of them,
/// the first one paying for the check of the whole index).
fn walk_large(image: &std::path::Path, cache_blocks: usize) -> [f64; 5] {
    let options = MountOptions {
        read_only: true,
        cache_blocks,
        ..MountOptions::default()
    };
    let mount = || {
        let device = FileDevice::open(image, false).expect("open image");
        FileSystem::mount(device, options).expect("mount")
    };
    let mut fs = mount();
    let start = Instant::now();
    let big = fs.resolve(b"/big", true).expect("/big");
    let entries = fs.read_dir(big).expect("read_dir");
    let listed = start.elapsed().as_secs_f64();
    for entry in &entries {
        let inode = fs.lookup(big, &entry.name).expect("lookup");
        assert_eq!(inode, entry.inode, "lookup disagrees with readdir");
    }
    let looked_up = start.elapsed().as_secs_f64();
    for entry in &entries {
        fs.metadata(entry.inode).expect("stat");
    }
    let statted = start.elapsed().as_secs_f64();
    let mut fs = mount();
    let mut inodes: Vec<u32> = fs
        .read_dir(big)
        .expect("read_dir")
        .iter()
        .map(|entry| entry.inode)
        .collect();
    inodes.sort_unstable();
    let start = Instant::now();
    for inode in inodes {
        fs.metadata(inode).expect("stat");
    }
    let in_order = start.elapsed().as_secs_f64();
    const ABSENT: usize = 10_000;
    let start = Instant::now();
    for index in 0..ABSENT {
        let name = format!("absent-{index}");
        assert!(fs.lookup(big, name.as_bytes()).is_err(), "{name} found");
    }
    let absent = start.elapsed().as_secs_f64() * 1e9 / ABSENT as f64;
    let per_entry = 1e9 / entries.len() as f64;
    [
        listed * per_entry,
        (looked_up - listed) * per_entry,
        (statted - looked_up) * per_entry,
        in_order * per_entry,
        absent,
    ]
}

/// readdir + lookup + stat of every entry of hash-indexed directories of 10 000 and
/// 100 000 names (4 KiB blocks), with the default cache and with one that holds the whole
/// working set; and, for scale, the 10 000-name directory with its index flag cleared.
fn large_directories() {
    const CACHES: [usize; 2] = [4096, 65536];
    println!(
        "large directories, ns per entry:      readdir    lookup      stat  total | stat in inode order  total | absent lookup"
    );
    // [cache][size] -> (total with stat in readdir order, total with stat in inode order)
    let mut totals = [[(0.0f64, 0.0f64); 2]; 2];
    for (size, count) in [10_000usize, 100_000].into_iter().enumerate() {
        let scratch = TempDir::new(&format!("bench-{count}"));
        let image = large_directory_image(scratch.path(), &LargeDirectory::new(count, 4096));
        let show = |label: String, figures: [f64; 5]| {
            let total = figures[0] + figures[1] + figures[2];
            let ordered = figures[0] + figures[1] + figures[3];
            println!(
                "  {label:<34} {:9.0} {:9.0} {:9.0} {total:6.0} | {:19.0} {ordered:6.0} | {:13.0}",
                figures[0], figures[1], figures[2], figures[3], figures[4]
            );
            (total, ordered)
        };
        for (which, cache) in CACHES.into_iter().enumerate() {
            let figures = walk_large(&image, cache);
            totals[which][size] = show(format!("{count} entries, cache {cache} blocks"), figures);
        }
        if count == 10_000 {
            common::debugfs(&image, &["sif /big flags 0".to_string()], true);
            show(
                format!("{count} entries, index flag cleared"),
                walk_large(&image, CACHES[0]),
            );
        }
    }
    for (which, cache) in CACHES.into_iter().enumerate() {
        let [small, large] = totals[which];
        println!(
            "per-entry cost 100 000 / 10 000, cache {cache:>5} blocks: {:.2} (stat in readdir order), {:.2} (stat in inode order); 1.00 = linear, 10 = quadratic",
            large.0 / small.0,
            large.1 / small.1
        );
    }
}
