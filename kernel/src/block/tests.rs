//! In-kernel tests of the block layer and virtio-blk; they need a disk, so they are named
//! `device_blk_*` and only run when asked for (`test=device_blk_`, the xtask `blk` scenarios).
//!
//! Without a disk they fail: a run that asks for them promised one. The scenario's disk is at
//! least 8 MiB; the host checks the pattern [`pattern_byte`] that `device_blk_host_pattern`
//! leaves in sectors [`PATTERN_FIRST`]`..+`[`PATTERN_SECTORS`].

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::completion::wait_until;
use super::{BlockError, Buffer, CompletionFn, Disk, Operation, Request};
use crate::sync::spin::IrqSpinLock;
use crate::{check, kernel_test};

/// First sector of the pattern the host checks (at 4 MiB).
pub const PATTERN_FIRST: u64 = 8192;
/// Length of the pattern in sectors (512 KiB).
pub const PATTERN_SECTORS: u64 = 1024;

/// The pattern byte at byte `offset` of the disk (the host computes the same).
pub fn pattern_byte(offset: u64) -> u8 {
    let word = offset.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56;
    (word as u8) ^ (offset >> 9) as u8
}

pub(super) fn disk() -> Result<Arc<Disk>, String> {
    super::find("vda").ok_or_else(|| {
        String::from("no virtio-blk disk 'vda': these tests need one (cargo xtask test blk)")
    })
}

/// A finished request: the submitter's tag, the result, the buffer.
pub(super) type Finished = (usize, Result<(), BlockError>, Buffer);

/// Finished requests handed from the interrupt handler back to a submitting loop.
pub(super) struct Inbox {
    finished: IrqSpinLock<Vec<Finished>>,
    count: AtomicUsize,
}

impl Inbox {
    /// An inbox for up to `in_flight` outstanding requests (pushes never reallocate).
    pub(super) fn new(in_flight: usize) -> Arc<Self> {
        Arc::new(Self {
            finished: IrqSpinLock::new("block-test-inbox", Vec::with_capacity(in_flight)),
            count: AtomicUsize::new(0),
        })
    }

    /// A completion that files the result under `tag`.
    pub(super) fn callback(self: &Arc<Self>, tag: usize) -> CompletionFn {
        let inbox = Arc::clone(self);
        Box::new(move |result, buffer| {
            inbox.finished.lock().push((tag, result, buffer));
            inbox.count.fetch_add(1, Ordering::Release);
        })
    }

    /// Waits for at least one finished request and takes all of them.
    pub(super) fn take(&self) -> Vec<Finished> {
        wait_until(|| self.count.load(Ordering::Acquire) > 0);
        let mut finished = self.finished.lock();
        let capacity = finished.capacity();
        let taken = core::mem::replace(&mut *finished, Vec::with_capacity(capacity));
        self.count.fetch_sub(taken.len(), Ordering::Release);
        taken
    }
}

/// xorshift64*: the tests' deterministic pseudo-random numbers.
pub(super) struct Random(pub u64);

impl Random {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(super) fn below(&mut self, limit: u64) -> u64 {
        self.next() % limit
    }
}

fn present() -> Result<(), String> {
    let disk = disk()?;
    check!(
        disk.sector_size() == 512,
        "sector size {}",
        disk.sector_size()
    );
    check!(
        disk.size_bytes() >= 8 << 20,
        "disk of {} bytes; the scenario gives at least 8 MiB",
        disk.size_bytes()
    );
    check!(!disk.read_only(), "disk is read-only");
    crate::println!("    {}: {}", disk.name(), disk.describe());
    check!(
        disk.describe().contains("MSI-X") || disk.describe().contains("INTx"),
        "no interrupt mode in '{}'",
        disk.describe()
    );
    Ok(())
}
kernel_test!(device_blk_present, present);

fn host_pattern() -> Result<(), String> {
    let disk = disk()?;
    let bytes = (PATTERN_SECTORS * 512) as usize;
    let first = PATTERN_FIRST * 512;
    let data: Vec<u8> = (0..bytes as u64).map(|i| pattern_byte(first + i)).collect();
    // In 64 KiB pieces, several in flight at once.
    let inbox = Inbox::new(8);
    for (index, piece) in data.chunks(64 << 10).enumerate() {
        disk.submit(Request {
            operation: Operation::Write,
            sector: PATTERN_FIRST + (index as u64) * 128,
            buffer: Buffer::Heap(piece.to_vec()),
            done: inbox.callback(index),
        });
    }
    let mut finished = 0;
    while finished < data.len().div_ceil(64 << 10) {
        for (_, result, _) in inbox.take() {
            result.map_err(|e| alloc::format!("pattern write failed: {e}"))?;
            finished += 1;
        }
    }
    disk.flush()
        .map_err(|e| alloc::format!("flush failed: {e}"))?;
    let mut back = vec![0u8; bytes];
    disk.read(PATTERN_FIRST, &mut back)
        .map_err(|e| alloc::format!("read-back failed: {e}"))?;
    check!(back == data, "the pattern did not read back");
    Ok(())
}
kernel_test!(device_blk_host_pattern, host_pattern);

fn past_end_refused() -> Result<(), String> {
    let disk = disk()?;
    let count = disk.sector_count();
    let mut buffer = vec![0u8; 1024];
    for sector in [count, count - 1, u64::MAX - 1] {
        match disk.read(sector, &mut buffer) {
            Err(error @ BlockError::OutOfRange { .. }) => {
                check!(
                    alloc::format!("{error}").contains("past the end"),
                    "unclear message: {error}"
                );
            }
            other => return Err(alloc::format!("read at sector {sector}: {other:?}")),
        }
    }
    check!(
        disk.write(count, &buffer[..512]).is_err(),
        "write past the end accepted"
    );
    check!(
        matches!(
            disk.read(0, &mut buffer[..100]),
            Err(BlockError::Misaligned { .. })
        ),
        "a 100-byte read was not refused"
    );
    check!(
        disk.read(count - 2, &mut buffer).is_ok(),
        "the last two sectors cannot be read"
    );
    Ok(())
}
kernel_test!(device_blk_past_end_refused, past_end_refused);

fn stack_buffer_segments() -> Result<(), String> {
    // A kernel-stack buffer is not in the direct map: its pages are translated one by one and may
    // be several DMA segments. Unaligned on purpose.
    let disk = disk()?;
    let data: Vec<u8> = (0..8192u32).map(|i| (i * 31 + 7) as u8).collect();
    disk.write(64, &data).map_err(|e| alloc::format!("{e}"))?;
    let mut on_stack = [0u8; 8192 + 100];
    disk.read(64, &mut on_stack[100..])
        .map_err(|e| alloc::format!("{e}"))?;
    check!(on_stack[100..] == data[..], "stack buffer read mismatch");
    Ok(())
}
kernel_test!(device_blk_stack_buffer, stack_buffer_segments);

/// 8 logical requesters (there are no threads yet), each with one request in flight in its own
/// region, 1000 random reads and writes in all, checked against a shadow copy.
fn concurrent_random() -> Result<(), String> {
    const REQUESTERS: usize = 8;
    const REGION_SECTORS: u64 = 512;
    const FIRST: u64 = 128;
    const TOTAL: usize = 1000;
    let disk = disk()?;
    let mut shadow: Vec<Vec<u8>> = Vec::new();
    for r in 0..REQUESTERS {
        let mut region = vec![0u8; (REGION_SECTORS * 512) as usize];
        disk.read(FIRST + r as u64 * REGION_SECTORS, &mut region)
            .map_err(|e| alloc::format!("initial read: {e}"))?;
        shadow.push(region);
    }
    let mut random = Random(0x1234_5678_9abc_def1);
    let inbox = Inbox::new(REQUESTERS);
    // Per requester: (sector offset in region, is_read) of the request in flight.
    let mut in_flight: [Option<(u64, bool)>; REQUESTERS] = [None; REQUESTERS];
    let (mut issued, mut finished, mut reads, mut writes) = (0, 0, 0, 0);
    while finished < TOTAL {
        for r in 0..REQUESTERS {
            if in_flight[r].is_some() || issued == TOTAL {
                continue;
            }
            let sectors = 1 + random.below(16);
            let offset = random.below(REGION_SECTORS - sectors + 1);
            let range = (offset * 512) as usize..((offset + sectors) * 512) as usize;
            let is_read = random.below(2) == 0;
            let buffer = if is_read {
                vec![0u8; range.len()]
            } else {
                let data: Vec<u8> = (0..range.len()).map(|_| random.next() as u8).collect();
                shadow[r][range].copy_from_slice(&data);
                data
            };
            disk.submit(Request {
                operation: if is_read {
                    Operation::Read
                } else {
                    Operation::Write
                },
                sector: FIRST + r as u64 * REGION_SECTORS + offset,
                buffer: Buffer::Heap(buffer),
                done: inbox.callback(r),
            });
            in_flight[r] = Some((offset, is_read));
            issued += 1;
        }
        for (r, result, buffer) in inbox.take() {
            let (offset, is_read) = in_flight[r].take().ok_or("completion without request")?;
            result.map_err(|e| alloc::format!("requester {r}: {e}"))?;
            if is_read {
                let Buffer::Heap(bytes) = buffer else {
                    return Err("buffer changed kind".into());
                };
                let start = (offset * 512) as usize;
                check!(
                    bytes[..] == shadow[r][start..start + bytes.len()],
                    "requester {r}: read at region sector {offset} differs from the shadow"
                );
                reads += 1;
            } else {
                writes += 1;
            }
            finished += 1;
        }
    }
    for (r, expected) in shadow.iter().enumerate() {
        let mut region = vec![0u8; expected.len()];
        disk.read(FIRST + r as u64 * REGION_SECTORS, &mut region)
            .map_err(|e| alloc::format!("final read: {e}"))?;
        check!(
            region == *expected,
            "requester {r}: region differs at the end"
        );
    }
    crate::println!("    {reads} reads and {writes} writes by {REQUESTERS} requesters verified");
    Ok(())
}
kernel_test!(device_blk_concurrent_random, concurrent_random);

/// 8 kernel threads, 125 random blocking reads and writes each (1000 in all), each in its own
/// region, checked against its shadow copy; the threads run concurrently on every CPU.
fn threads_random() -> Result<(), String> {
    const THREADS: usize = 8;
    const REGION_SECTORS: u64 = 256;
    const FIRST: u64 = 128 + 8 * 512; // after the logical-requester test's regions
    let disk = disk()?;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let disk = disk.clone();
            crate::sched::spawn(crate::sched::Builder::new("blk-tester"), move || {
                let base = FIRST + t as u64 * REGION_SECTORS;
                let mut shadow = vec![0u8; (REGION_SECTORS * 512) as usize];
                if disk.read(base, &mut shadow).is_err() {
                    return 1;
                }
                let mut random = Random(0x5555_0000 + t as u64);
                for _ in 0..125 {
                    let sectors = 1 + random.below(8);
                    let offset = random.below(REGION_SECTORS - sectors + 1);
                    let range = (offset * 512) as usize..((offset + sectors) * 512) as usize;
                    if random.below(2) == 0 {
                        let mut buffer = vec![0u8; range.len()];
                        if disk.read(base + offset, &mut buffer).is_err()
                            || buffer[..] != shadow[range]
                        {
                            return 2;
                        }
                    } else {
                        let data: Vec<u8> = (0..range.len()).map(|_| random.next() as u8).collect();
                        if disk.write(base + offset, &data).is_err() {
                            return 3;
                        }
                        shadow[range].copy_from_slice(&data);
                    }
                }
                let mut region = vec![0u8; shadow.len()];
                if disk.read(base, &mut region).is_err() || region != shadow {
                    return 4;
                }
                0
            })
            .map_err(|e| alloc::format!("{e}"))
        })
        .collect::<Result<_, _>>()?;
    for (t, handle) in handles.into_iter().enumerate() {
        let code = handle.join();
        check!(
            code == 0,
            "thread {t} failed with code {code} (1 read, 2 mismatch, 3 write, 4 final)"
        );
    }
    crate::println!("    1000 blocking reads/writes by {THREADS} threads verified");
    Ok(())
}
kernel_test!(device_blk_threads_random, threads_random);
