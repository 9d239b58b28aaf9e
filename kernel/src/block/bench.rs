//! Raw disk throughput: the measurements behind `bench_blk` (run only when named,
//! `test=bench_blk`) and the shell's `blk bench`, the baseline `cargo xtask bench` compares
//! the file systems with.
//!
//! Sequential transfers in requests of a given size with a given number in flight, and random
//! 4 KiB reads one at a time. `bench_blk` prints `bench: ...` lines; it fails only when the disk
//! is missing or a request fails.

use alloc::string::String;
use alloc::vec;

use super::tests::{disk, Inbox, Random};
use super::{Buffer, Disk, Operation, Request};
use crate::kernel_test;
use crate::time::monotonic_nanos;

const BENCH_NANOS: u64 = 2_000_000_000;

/// Moves `bytes` sequentially from byte `start` (both whole sectors) in requests of
/// `request_bytes`, keeping `depth` in flight; returns the nanoseconds taken. Writes write a
/// fixed pattern and end with a cache flush.
pub fn sequential(
    disk: &Disk,
    operation: Operation,
    start: u64,
    bytes: u64,
    request_bytes: usize,
    depth: usize,
) -> Result<u64, String> {
    let sector = u64::from(disk.sector_size());
    let end = start + bytes;
    if end > disk.size_bytes() || !start.is_multiple_of(sector) || request_bytes == 0 {
        return Err(alloc::format!(
            "{} bytes from {start} do not fit the disk ({} bytes) in whole sectors",
            bytes,
            disk.size_bytes()
        ));
    }
    let inbox = Inbox::new(depth.max(1));
    let mut next = start;
    let submit = |buffer: Buffer, tag: usize, next: &mut u64| {
        let length = (end - *next).min(buffer.len() as u64) as usize;
        let mut buffer = buffer;
        if let Buffer::Heap(bytes) = &mut buffer {
            bytes.truncate(length);
        }
        disk.submit(Request {
            operation,
            sector: *next / sector,
            buffer,
            done: inbox.callback(tag),
        });
        *next += length as u64;
    };
    let pattern: vec::Vec<u8> = (0..request_bytes).map(|i| (i * 7 % 251) as u8).collect();
    let begin = monotonic_nanos();
    let mut outstanding = 0;
    for tag in 0..depth.max(1) {
        if next >= end {
            break;
        }
        submit(Buffer::Heap(pattern.clone()), tag, &mut next);
        outstanding += 1;
    }
    while outstanding > 0 {
        for (tag, result, buffer) in inbox.take() {
            result.map_err(|error| alloc::format!("{error}"))?;
            outstanding -= 1;
            if next < end {
                let Buffer::Heap(mut bytes) = buffer else {
                    return Err("a heap buffer came back as something else".into());
                };
                bytes.resize(request_bytes, 0);
                submit(Buffer::Heap(bytes), tag, &mut next);
                outstanding += 1;
            }
        }
    }
    if operation == Operation::Write {
        match disk.flush() {
            Ok(()) | Err(super::BlockError::Unsupported) => {}
            Err(error) => return Err(alloc::format!("flush: {error}")),
        }
    }
    Ok(monotonic_nanos() - begin)
}

/// `count` random 4 KiB reads, one at a time, at 4 KiB-aligned offsets in
/// `[start, start + span)`, chosen by the same generator as the file benchmarks. Returns the
/// nanoseconds taken and a checksum of the bytes read in order.
pub fn random_reads(disk: &Disk, start: u64, span: u64, count: u64) -> Result<(u64, u32), String> {
    let sector = u64::from(disk.sector_size());
    let pages = span / 4096;
    if pages == 0 || start + span > disk.size_bytes() || !start.is_multiple_of(sector) {
        return Err("the region does not fit the disk".into());
    }
    let mut offsets = RandomOffsets::new(pages);
    let mut buffer = vec![0u8; 4096];
    let mut sum = 0u32;
    let begin = monotonic_nanos();
    for _ in 0..count {
        let at = start + offsets.next_page() * 4096;
        disk.read(at / sector, &mut buffer)
            .map_err(|error| alloc::format!("read at {at}: {error}"))?;
        sum = checksum(sum, &buffer);
    }
    Ok((monotonic_nanos() - begin, sum))
}

/// The pages random-read benchmarks visit: xorshift64* from a fixed seed, so the native, the
/// NetBSD and the raw runs read the same pages in the same order.
pub struct RandomOffsets {
    random: Random,
    pages: u64,
}

impl RandomOffsets {
    /// Pages `0..pages`.
    pub fn new(pages: u64) -> Self {
        Self {
            random: Random(0x9e37_79b9_7f4a_7c15),
            pages: pages.max(1),
        }
    }

    /// The next page number.
    pub fn next_page(&mut self) -> u64 {
        self.random.below(self.pages)
    }
}

/// The shell's running checksum (`read`, `rump read`): `sum * 31 + byte` over every byte.
pub fn checksum(sum: u32, bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(sum, |a, &b| a.wrapping_mul(31).wrapping_add(u32::from(b)))
}

/// The write benchmarks (`write --bench`, `rump write --bench`) write 128 KiB chunks built
/// from this pattern (byte `j` of a chunk), with [`stamp_pages`] applied for each chunk.
pub fn pattern_byte(j: usize) -> u8 {
    ((j as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8
}

/// Writes the file offset of each 4 KiB page of `chunk` (which goes to file offset `at`) into
/// the page's first 8 bytes: every page differs, at a cost that does not weigh on the figures.
pub fn stamp_pages(chunk: &mut [u8], at: u64) {
    for (index, page) in chunk.chunks_mut(4096).enumerate() {
        let stamp = (at + (index * 4096) as u64).to_le_bytes();
        let length = stamp.len().min(page.len());
        page[..length].copy_from_slice(&stamp[..length]);
    }
}

/// `bytes` in `nanos` as `N.N MB/s`.
pub fn rate(bytes: u64, nanos: u64) -> String {
    let tenths = bytes * 10_000 / nanos.max(1);
    alloc::format!("{}.{} MB/s", tenths / 10, tenths % 10)
}

fn sequential_line(request_bytes: usize, depth: usize) -> Result<(), String> {
    let disk = disk()?;
    // Two seconds' worth at most: TCG reads small requests slowly.
    let bytes = (disk.size_bytes() / request_bytes as u64 * request_bytes as u64).min(64 << 20);
    let mut moved = 0u64;
    let begin = monotonic_nanos();
    while monotonic_nanos() - begin < BENCH_NANOS {
        sequential(
            &disk,
            Operation::Read,
            0,
            bytes.min(request_bytes as u64 * 256),
            request_bytes,
            depth,
        )?;
        moved += bytes.min(request_bytes as u64 * 256);
    }
    crate::println!(
        "bench: sequential read, {} KiB requests, {depth} in flight: {}",
        request_bytes >> 10,
        rate(moved, monotonic_nanos() - begin)
    );
    Ok(())
}

fn random_line(depth: usize) -> Result<(), String> {
    let disk = disk()?;
    let pages = disk.sector_count() / 8;
    let inbox = Inbox::new(depth);
    let mut random = Random(0xfeed_beef_1234_5678);
    let next = |random: &mut Random| random.below(pages) * 8;
    for tag in 0..depth {
        disk.submit(Request {
            operation: Operation::Read,
            sector: next(&mut random),
            buffer: Buffer::Heap(vec![0u8; 4096]),
            done: inbox.callback(tag),
        });
    }
    let (mut done, mut outstanding) = (0u64, depth);
    let start = monotonic_nanos();
    while outstanding > 0 {
        for (tag, result, buffer) in inbox.take() {
            result.map_err(|e| alloc::format!("{e}"))?;
            done += 1;
            outstanding -= 1;
            if monotonic_nanos() - start < BENCH_NANOS {
                disk.submit(Request {
                    operation: Operation::Read,
                    sector: next(&mut random),
                    buffer,
                    done: inbox.callback(tag),
                });
                outstanding += 1;
            }
        }
    }
    let nanos = monotonic_nanos() - start;
    crate::println!(
        "bench: random 4 KiB reads, {depth} in flight: {} IOPS ({done} requests)",
        done * 1_000_000_000 / nanos
    );
    Ok(())
}

fn bench() -> Result<(), String> {
    sequential_line(4096, 1)?;
    for depth in [1, 2, 8] {
        sequential_line(128 << 10, depth)?;
    }
    sequential_line(1 << 20, 1)?;
    random_line(1)?;
    random_line(8)
}
kernel_test!(bench_blk, bench);
