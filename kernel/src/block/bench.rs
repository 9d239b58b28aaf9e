//! `bench_blk`: virtio-blk throughput and request rate, run only when named (`test=bench_blk`).
//!
//! Sequential reads with 4 KiB and 128 KiB requests, one in flight, then random 4 KiB reads with
//! one and with eight in flight. Figures are printed as `bench: ...` lines; the test only fails
//! when the disk is missing or a request fails.

use alloc::string::String;
use alloc::vec;

use super::tests::{disk, Inbox, Random};
use super::{Buffer, Operation, Request};
use crate::kernel_test;
use crate::time::monotonic_nanos;

const BENCH_NANOS: u64 = 2_000_000_000;

fn sequential(request_bytes: usize) -> Result<(), String> {
    let disk = disk()?;
    let sectors = (request_bytes / 512) as u64;
    let span = disk.sector_count() - disk.sector_count() % sectors;
    let mut buffer = vec![0u8; request_bytes];
    let (mut sector, mut bytes) = (0u64, 0u64);
    let start = monotonic_nanos();
    while monotonic_nanos() - start < BENCH_NANOS {
        disk.read(sector, &mut buffer)
            .map_err(|e| alloc::format!("{e}"))?;
        bytes += request_bytes as u64;
        sector = (sector + sectors) % span;
    }
    let nanos = monotonic_nanos() - start;
    crate::println!(
        "bench: sequential read, {} KiB requests, 1 in flight: {}.{} MB/s ({} requests)",
        request_bytes >> 10,
        bytes * 1000 / nanos,
        bytes * 10_000 / nanos % 10,
        bytes / request_bytes as u64
    );
    Ok(())
}

fn random_reads(depth: usize) -> Result<(), String> {
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
    sequential(4096)?;
    sequential(128 << 10)?;
    random_reads(1)?;
    random_reads(8)
}
kernel_test!(bench_blk, bench);
