//! `device_vfs_random_model`: random writes, truncates and reads on an ext2 disk through the
//! VFS, each read checked against an in-memory model of the files. Runs only when named
//! (`test=device_vfs_random_model`, the `ext2_random_writes_model` scenario), on `vda`.
//!
//! It exercises the whole native path — the driver's runs, the disk stream's read-ahead and
//! write-behind, their coherence — with writes of every size at every alignment, sequential
//! scans in small reads (which start read-ahead) with writes ahead of the scan in the middle
//! (which must drop what was read ahead), syncs in between, and remounts (a cold cache). At the
//! end it prints `model: PATH SIZE CHECKSUM` per file; the host compares those with what
//! `debugfs` reads from the image and runs `e2fsck -fn`.
//!
//! `model.seed=N` and `model.steps=N` on the command line change the sequence;
//! `model.fs=rump-ext2fs` runs it on NetBSD's ext2 through the rump kernel (the bridge's
//! foreign mount) instead of the native driver.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::{mount, ops};
use crate::kernel_test;

const FILES: usize = 4;

/// xorshift64*.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, limit: u64) -> u64 {
        self.next() % limit.max(1)
    }
}

fn path(file: usize) -> String {
    alloc::format!("/mnt/model-{file}.bin")
}

/// An offset: aligned to a sector, a block, a page or nothing, near the end or far out.
fn offset(random: &mut Random, size: u64) -> u64 {
    match random.below(6) {
        0 => random.below(size + 1),
        1 => random.below(3 << 20),
        2 => random.below(3 << 20) / 512 * 512,
        3 => size,
        4 => random.below(size + 1) / 4096 * 4096,
        _ => random.below(size + 1) / 1024 * 1024,
    }
}

fn length(random: &mut Random) -> usize {
    (match random.below(5) {
        0 => 1 + random.below(64),
        1 => 1 + random.below(4096),
        2 => 512 * (1 + random.below(16)),
        3 => 4096 * (1 + random.below(64)),
        _ => 1 + random.below(1 << 20),
    }) as usize
}

fn checksum(bytes: &[u8]) -> u32 {
    crate::block::bench::checksum(0, bytes)
}

fn fail(step: usize, what: impl core::fmt::Display) -> String {
    alloc::format!("step {step}: {what}")
}

/// Reads `[at, at + length)` of file `file` in pieces of `piece` bytes and compares each.
fn check_read(
    step: usize,
    file: usize,
    model: &[u8],
    at: u64,
    length: usize,
    piece: usize,
) -> Result<(), String> {
    let mut buffer = vec![0u8; piece];
    let mut position = at;
    let end = at + length as u64;
    while position < end {
        let want = ((end - position) as usize).min(piece);
        let got = ops::read_at(&path(file), position, &mut buffer[..want]).map_err(|e| {
            fail(
                step,
                alloc::format!("read {} at {position}: {e}", path(file)),
            )
        })?;
        let expected = model.get(position as usize..).unwrap_or(&[]);
        let expected = &expected[..expected.len().min(want)];
        if buffer[..got] != *expected {
            // Where the difference starts and ends, and whether the model has zeros there (a
            // hole or a tail past an old end of file).
            let differs = |i: &usize| buffer.get(*i) != expected.get(*i);
            let first = (0..got.max(expected.len())).find(differs).unwrap_or(0);
            let last = (0..got.max(expected.len()))
                .rev()
                .find(differs)
                .unwrap_or(0);
            let zeros = expected
                .get(first..=last)
                .is_some_and(|bytes| bytes.iter().all(|&b| b == 0));
            return Err(fail(
                step,
                alloc::format!(
                    "{} at {position}: {got} bytes read differ from the model ({} expected) at file offsets {}..={}{}",
                    path(file),
                    expected.len(),
                    position + first as u64,
                    position + last as u64,
                    if zeros { ", where the model has zeros" } else { "" }
                ),
            ));
        }
        if got < want {
            break;
        }
        position += got as u64;
    }
    Ok(())
}

/// Mounts `vda` on `/mnt` with the file system `model.fs` names (`ext2`, the native driver,
/// unless told otherwise).
fn mount_disk(kind: &str) -> Result<(), String> {
    let mounted = match kind {
        "ext2" => mount::mount("vda", "/mnt", false),
        foreign => mount::mount_foreign(foreign, "/dev/vda", "/mnt", false),
    };
    mounted
        .map(drop)
        .map_err(|e| alloc::format!("mount -t {kind} vda: {e}"))
}

fn run() -> Result<(), String> {
    let options = crate::boot::info();
    let kind = options.option("model.fs").unwrap_or("ext2");
    // `model.trace` prints each step before it runs (to find what a failure followed).
    let trace = options.option("model.trace").is_some();
    let seed = options
        .option("model.seed")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6d6f_6465_6c21u64);
    let steps: usize = options
        .option("model.steps")
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    mount_disk(kind)?;
    let mut random = Random(seed | 1);
    let mut models: Vec<Vec<u8>> = vec![Vec::new(); FILES];
    for file in 0..FILES {
        ops::write(&path(file), ops::WriteMode::Replace, b"")
            .map_err(|e| alloc::format!("create {}: {e}", path(file)))?;
    }
    let mut written = 0u64;
    for step in 0..steps {
        let file = random.below(FILES as u64) as usize;
        let model = &mut models[file];
        let operation = random.below(12);
        if trace {
            crate::println!(
                "model: step {step}: operation {operation} on {} ({} bytes)",
                path(file),
                model.len()
            );
        }
        match operation {
            0..=4 => {
                let at = offset(&mut random, model.len() as u64);
                let data: Vec<u8> = (0..length(&mut random))
                    .map(|_| (random.next() >> 56) as u8)
                    .collect();
                if trace {
                    crate::println!("model:   write {} at {at}", data.len());
                }
                ops::write(&path(file), ops::WriteMode::At(at), &data)
                    .map_err(|e| fail(step, alloc::format!("write {}: {e}", path(file))))?;
                let end = at as usize + data.len();
                if model.len() < end {
                    model.resize(end, 0);
                }
                model[at as usize..end].copy_from_slice(&data);
                written += data.len() as u64;
            }
            5 => {
                let size = offset(&mut random, model.len() as u64);
                if trace {
                    crate::println!("model:   truncate to {size}");
                }
                ops::truncate(&path(file), size)
                    .map_err(|e| fail(step, alloc::format!("truncate {}: {e}", path(file))))?;
                model.resize(size as usize, 0);
            }
            6 => {
                for (at, result) in mount::sync_all() {
                    result.map_err(|e| fail(step, alloc::format!("sync {at}: {e}")))?;
                }
            }
            7 => {
                // A cold cache: everything written so far comes back from the disk.
                mount::umount("/mnt").map_err(|e| fail(step, alloc::format!("umount: {e}")))?;
                mount_disk(kind).map_err(|e| fail(step, e))?;
            }
            8 => {
                // A sequential scan in small reads (read-ahead starts), with a write ahead of
                // the scan half-way (what was read ahead must not be served afterwards).
                let length = model.len();
                let half = length / 2;
                check_read(step, file, model, 0, half, 4096)?;
                if length > half + 8192 {
                    let at = (half + 4096 + random.below(4096) as usize) as u64;
                    let data: Vec<u8> = (0..(1 + random.below(20000) as usize))
                        .map(|_| (random.next() >> 56) as u8)
                        .collect();
                    ops::write(&path(file), ops::WriteMode::At(at), &data)
                        .map_err(|e| fail(step, alloc::format!("write {}: {e}", path(file))))?;
                    let end = at as usize + data.len();
                    if model.len() < end {
                        model.resize(end, 0);
                    }
                    model[at as usize..end].copy_from_slice(&data);
                }
                check_read(step, file, model, half as u64, model.len() - half, 4096)?;
            }
            _ => {
                let at = offset(&mut random, model.len() as u64);
                let length = length(&mut random);
                let piece = [512, 4096, 128 * 1024][random.below(3) as usize];
                check_read(step, file, model, at, length, piece)?;
            }
        }
    }
    for (file, model) in models.iter().enumerate() {
        check_read(steps, file, model, 0, model.len() + 1, 128 * 1024)?;
    }
    mount::umount("/mnt").map_err(|e| alloc::format!("umount: {e}"))?;
    for (file, model) in models.iter().enumerate() {
        crate::println!(
            "model: {} {} {:08x}",
            path(file),
            model.len(),
            checksum(model)
        );
    }
    crate::println!("model: {steps} steps, {written} bytes written, seed {seed:#x}, {kind}");
    Ok(())
}
kernel_test!(device_vfs_random_model, run);
