//! Benchmark: parse speed of a ~64 MiB tar.lz4 initrd, against `lz4 -d` on the host.
//!
//! Run with `cargo run --release -p initrd --example bench`. Needs the `lz4` command. Prints
//! the best of several runs for: indexing the plain tar, decompressing and indexing the LZ4
//! archive, the decompression share of that, and `lz4 -d` writing to /dev/null.

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use initrd::Initrd;

const TOTAL: usize = 64 << 20;
const FILE_SIZE: usize = 48 << 10;
const RUNS: usize = 5;

fn main() {
    let tar = build_tar();
    let directory = std::env::temp_dir().join(format!("initrd-bench-{}", std::process::id()));
    fs::create_dir_all(&directory).expect("temp dir");
    let tar_path = directory.join("bench.tar");
    let lz4_path = directory.join("bench.tar.lz4");
    fs::write(&tar_path, &tar).expect("write tar");
    let status = Command::new("lz4")
        .args(["-q", "-f", "-z"])
        .arg(&tar_path)
        .arg(&lz4_path)
        .status()
        .expect("cannot run `lz4`: install it (apt-get install lz4)");
    assert!(status.success(), "lz4 failed");
    let compressed = fs::read(&lz4_path).expect("read lz4");
    let megabytes = tar.len() as f64 / (1024.0 * 1024.0);
    println!(
        "archive: {} files, {:.1} MiB tar, {:.1} MiB tar.lz4 (ratio {:.2})",
        TOTAL / FILE_SIZE,
        megabytes,
        compressed.len() as f64 / (1024.0 * 1024.0),
        tar.len() as f64 / compressed.len() as f64
    );

    let index = best(|| {
        let (initrd, diagnostics) = Initrd::parse(&tar).expect("parse tar");
        assert!(diagnostics.is_empty());
        initrd.node_count()
    });
    let full = best(|| {
        let (initrd, diagnostics) = Initrd::parse(&compressed).expect("parse lz4");
        assert!(diagnostics.is_empty());
        initrd.node_count()
    });
    let host = best(|| {
        let status = Command::new("lz4")
            .args(["-d", "-c", "-q"])
            .arg(&lz4_path)
            .stdout(Stdio::null())
            .status()
            .expect("run lz4 -d");
        assert!(status.success());
        0
    });
    let rate = |time: Duration| megabytes / time.as_secs_f64();
    let decompression = full.saturating_sub(index);
    println!(
        "index plain tar:            {:>8.1} ms {:>8.0} MB/s",
        ms(index),
        rate(index)
    );
    println!(
        "decompress + index tar.lz4: {:>8.1} ms {:>8.0} MB/s",
        ms(full),
        rate(full)
    );
    println!(
        "  of which decompression:   {:>8.1} ms {:>8.0} MB/s",
        ms(decompression),
        rate(decompression)
    );
    println!(
        "host `lz4 -d` > /dev/null:  {:>8.1} ms {:>8.0} MB/s",
        ms(host),
        rate(host)
    );
    println!("(MB/s = MiB of uncompressed tar per second; best of {RUNS} runs)");
    let _ = fs::remove_dir_all(&directory);
}

fn ms(time: Duration) -> f64 {
    time.as_secs_f64() * 1000.0
}

fn best(mut work: impl FnMut() -> usize) -> Duration {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(work());
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// A ustar archive of generated files: text-like lines with some noise, in 64 directories.
fn build_tar() -> Vec<u8> {
    let mut tar = Vec::with_capacity(TOTAL + TOTAL / 8);
    let mut state = 0x1234_5678_9ABC_DEF1u64;
    for index in 0..TOTAL / FILE_SIZE {
        let mut data = Vec::with_capacity(FILE_SIZE);
        while data.len() < FILE_SIZE {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let line = format!(
                "{index:06} {:016x} generated initrd benchmark line {}\n",
                state,
                state % 977
            );
            data.extend_from_slice(line.as_bytes());
        }
        data.truncate(FILE_SIZE);
        let name = format!("dir{:02}/file{index:05}.txt", index % 64);
        append(&mut tar, &name, &data);
    }
    tar.resize(tar.len() + 1024, 0);
    tar
}

fn append(tar: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    header[100..108].copy_from_slice(b"0000644\0");
    header[108..116].copy_from_slice(b"0000000\0");
    header[116..124].copy_from_slice(b"0000000\0");
    header[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    header[136..148].copy_from_slice(b"14524770000\0");
    header[156] = b'0';
    header[257..265].copy_from_slice(b"ustar\x0000");
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|&byte| u32::from(byte)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    tar.extend_from_slice(&header);
    tar.extend_from_slice(data);
    tar.resize(tar.len().div_ceil(512) * 512, 0);
}
