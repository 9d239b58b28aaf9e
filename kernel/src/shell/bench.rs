//! Storage benchmark commands, each printing one `bench:` line that `cargo xtask bench` reads:
//! `read --random`, `read --chunk`, `write --bench` on native files, and `blk bench` on a raw
//! disk. `rump read --random` and `rump write --bench` measure the same through NetBSD, with
//! the same request sizes and the same random pages, so the lines compare one to one.

use alloc::vec;

use crate::block::bench::{
    checksum, pattern_byte, random_reads, rate, sequential, stamp_pages, RandomOffsets,
};
use crate::block::Operation;
use crate::println;
use crate::time::monotonic_nanos;
use crate::vfs::mount;
use crate::vfs::ops::{self, WriteMode};

/// Bytes per call of the sequential benchmarks (as `rump read --bench` uses).
const CALL_BYTES: usize = 128 * 1024;

/// `read --random PATH COUNT`: COUNT reads of 4 KiB at random 4 KiB-aligned offsets of the
/// file; prints the rate and a checksum of the bytes in reading order.
pub fn read_random(arguments: &str) {
    let Some((path, count)) = arguments.rsplit_once(' ') else {
        println!("usage: read --random PATH COUNT");
        return;
    };
    let Ok(count) = count.parse::<u64>() else {
        println!("read: '{count}' is not a count");
        return;
    };
    let size = match ops::stat(path) {
        Ok(stat) => stat.size,
        Err(error) => {
            println!("read: {path}: {error}");
            return;
        }
    };
    let mut offsets = RandomOffsets::new(size / 4096);
    let mut buffer = vec![0u8; 4096];
    let mut sum = 0u32;
    let start = monotonic_nanos();
    for _ in 0..count {
        let at = offsets.next_page() * 4096;
        match ops::read_at(path, at, &mut buffer) {
            Ok(got) => sum = checksum(sum, &buffer[..got]),
            Err(error) => {
                println!("read: {path} at {at}: {error}");
                return;
            }
        }
    }
    let nanos = (monotonic_nanos() - start).max(1);
    println!(
        "bench: native random read {path}: {count} reads of 4096 bytes in {} ms, {} IOPS, checksum {sum:08x}",
        nanos / 1_000_000,
        count * 1_000_000_000 / nanos
    );
}

/// `read --chunk BYTES PATH`: reads the file in calls of BYTES and prints its size and
/// checksum (small calls make the disk stream read ahead).
pub fn read_chunked(arguments: &str) {
    let Some((chunk, path)) = arguments.split_once(' ') else {
        println!("usage: read --chunk BYTES PATH");
        return;
    };
    let chunk = match chunk.parse::<usize>() {
        Ok(chunk) if chunk > 0 => chunk,
        _ => {
            println!("read: '{chunk}' is not a size");
            return;
        }
    };
    let mut buffer = vec![0u8; chunk];
    let (mut at, mut sum) = (0u64, 0u32);
    let start = monotonic_nanos();
    loop {
        match ops::read_at(path, at, &mut buffer) {
            Ok(0) => break,
            Ok(got) => {
                sum = checksum(sum, &buffer[..got]);
                at += got as u64;
            }
            Err(error) => {
                println!("read: {path} at {at}: {error}");
                return;
            }
        }
    }
    let nanos = (monotonic_nanos() - start).max(1);
    println!(
        "{path}: {at} bytes, checksum {sum:08x}, {} KB/s native in {chunk}-byte calls",
        at * 1_000_000 / nanos
    );
}

/// `write --bench PATH MIB`: writes MIB MiB in 128 KiB calls into a new file, then syncs;
/// prints the rate including the sync.
pub fn write_bench(arguments: &str) {
    let Some((path, mib)) = arguments.rsplit_once(' ') else {
        println!("usage: write --bench PATH MIB");
        return;
    };
    let Ok(mib) = mib.parse::<u64>() else {
        println!("write: '{mib}' is not a size in MiB");
        return;
    };
    let bytes = mib << 20;
    let mut buffer: alloc::vec::Vec<u8> = (0..CALL_BYTES).map(pattern_byte).collect();
    let start = monotonic_nanos();
    let mut at = 0u64;
    while at < bytes {
        stamp_pages(&mut buffer, at);
        let mode = if at == 0 {
            WriteMode::Replace
        } else {
            WriteMode::At(at)
        };
        if let Err(error) = ops::write(path, mode, &buffer) {
            println!("write: {path} at {at}: {error}");
            return;
        }
        at += CALL_BYTES as u64;
    }
    for (point, result) in mount::sync_all() {
        if let Err(error) = result {
            println!("write: sync {point}: {error}");
            return;
        }
    }
    let nanos = (monotonic_nanos() - start).max(1);
    println!(
        "bench: native write {path}: {bytes} bytes in {} ms, {}",
        nanos / 1_000_000,
        rate(bytes, nanos)
    );
}

/// `blk bench DEV read|write START_MIB MIB [DEPTH]` (128 KiB requests, DEPTH in flight, 1 by
/// default) or `blk bench DEV random START_MIB MIB COUNT` (4 KiB reads, one at a time).
pub fn blk_bench(arguments: &str) {
    let words: alloc::vec::Vec<&str> = arguments.split_whitespace().collect();
    let usage = "usage: blk bench DEV read|write START_MIB MIB [DEPTH] | blk bench DEV random START_MIB MIB COUNT";
    let (name, kind, numbers) = match words.as_slice() {
        [name, kind, rest @ ..] if rest.len() >= 2 => (*name, *kind, rest),
        _ => {
            println!("{usage}");
            return;
        }
    };
    let Ok(numbers) = numbers
        .iter()
        .map(|word| word.parse::<u64>())
        .collect::<Result<alloc::vec::Vec<u64>, _>>()
    else {
        println!("{usage}");
        return;
    };
    let Some(disk) = crate::block::find(name) else {
        println!("blk: no block device '{name}'");
        return;
    };
    let (start, bytes) = (numbers[0] << 20, numbers[1] << 20);
    let extra = numbers.get(2).copied();
    let result = match kind {
        "read" | "write" => {
            let depth = extra.unwrap_or(1).clamp(1, 64) as usize;
            let operation = if kind == "read" {
                Operation::Read
            } else {
                Operation::Write
            };
            sequential(&disk, operation, start, bytes, CALL_BYTES, depth).map(|nanos| {
                alloc::format!(
                    "bench: raw {name} sequential {kind}: {bytes} bytes in 128 KiB requests, {depth} in flight, in {} ms, {}",
                    nanos / 1_000_000,
                    rate(bytes, nanos)
                )
            })
        }
        "random" => {
            let count = extra.unwrap_or(1000);
            random_reads(&disk, start, bytes, count).map(|(nanos, sum)| {
                alloc::format!(
                    "bench: raw {name} random read: {count} reads of 4096 bytes in {} ms, {} IOPS, checksum {sum:08x}",
                    nanos / 1_000_000,
                    count * 1_000_000_000 / nanos.max(1)
                )
            })
        }
        _ => Err(alloc::string::String::from(usage)),
    };
    match result {
        Ok(line) => println!("{line}"),
        Err(error) => println!("blk: {name}: {error}"),
    }
}
