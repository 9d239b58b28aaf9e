//! `bench_ext2`: ext2 through the VFS over virtio-blk, next to the raw device rate, run only
//! when named (`test=bench_ext2`, from `cargo xtask bench`).
//!
//! Needs `vda` holding an ext2 file system smaller than the disk by at least [`FILE_BYTES`]
//! (the raw transfers go past the file system's end). Prints `bench:` lines, in this order:
//! file write (with the final sync) and cold-cache read of a 64 MiB file in 128 KiB calls; raw
//! sequential write and read of 64 MiB in 128 KiB requests; create/stat/unlink rates for
//! `ext2.files=N` files (10 000 by default) in one directory. It fails only when the disk is
//! missing or an operation fails.

use alloc::string::String;
use alloc::vec;

use super::{mount, ops};
use crate::kernel_test;
use crate::time::monotonic_nanos;

/// Size of the file (and of each raw transfer).
const FILE_BYTES: u64 = 64 << 20;
/// Bytes per call or request.
const CALL_BYTES: usize = 128 * 1024;

fn megabytes_per_second(bytes: u64, nanos: u64) -> String {
    let tenths = bytes * 10_000 / nanos.max(1);
    alloc::format!("{}.{} MB/s", tenths / 10, tenths % 10)
}

fn per_second(count: u64, nanos: u64) -> u64 {
    count * 1_000_000_000 / nanos.max(1)
}

fn error(what: &str, error: impl core::fmt::Display) -> String {
    alloc::format!("{what}: {error}")
}

fn bench() -> Result<(), String> {
    let disk = crate::block::find("vda").ok_or("no disk 'vda' (cargo xtask bench makes one)")?;
    let sector = u64::from(disk.sector_size());
    let mut buffer = vec![0u8; CALL_BYTES];

    mount::mount("vda", "/mnt", false).map_err(|e| error("mount vda", e))?;
    let fs_bytes = mount::usage()
        .first()
        .map(|u| u.statfs.blocks * u64::from(u.statfs.block_size))
        .unwrap_or(u64::MAX);

    // File write in 128 KiB calls, then sync.
    for (index, byte) in buffer.iter_mut().enumerate() {
        *byte = (index * 7 % 251) as u8;
    }
    let start = monotonic_nanos();
    for index in 0..FILE_BYTES / CALL_BYTES as u64 {
        let mode = ops::WriteMode::At(index * CALL_BYTES as u64);
        ops::write("/mnt/bench.bin", mode, &buffer).map_err(|e| error("write", e))?;
    }
    for (at, result) in mount::sync_all() {
        result.map_err(|e| error(&at, e))?;
    }
    let nanos = monotonic_nanos() - start;
    crate::println!(
        "bench: ext2 sequential write, 64 MiB file in 128 KiB calls, including sync: {}",
        megabytes_per_second(FILE_BYTES, nanos)
    );

    // Cold read: remount so the block cache is empty.
    mount::umount("/mnt").map_err(|e| error("umount", e))?;
    mount::mount("vda", "/mnt", false).map_err(|e| error("mount again", e))?;
    let start = monotonic_nanos();
    let mut total = 0u64;
    loop {
        let got =
            ops::read_at("/mnt/bench.bin", total, &mut buffer).map_err(|e| error("read", e))?;
        if got == 0 {
            break;
        }
        total += got as u64;
    }
    let nanos = monotonic_nanos() - start;
    if total != FILE_BYTES {
        return Err(alloc::format!(
            "read {total} bytes back, wrote {FILE_BYTES}"
        ));
    }
    crate::println!(
        "bench: ext2 sequential read, 64 MiB file in 128 KiB calls, cold cache: {}",
        megabytes_per_second(FILE_BYTES, nanos)
    );
    // The same through the mount, into the caller's buffer (no VFS chunk copy).
    mount::umount("/mnt").map_err(|e| error("umount", e))?;
    mount::mount("vda", "/mnt", false).map_err(|e| error("mount again", e))?;
    let start = monotonic_nanos();
    let total = match mount::locate("/mnt/bench.bin") {
        mount::Location::Mounted { mount, relative } => mount
            .with(|fs| {
                let inode = fs.resolve(relative.as_bytes(), true)?;
                let mut total = 0u64;
                loop {
                    let got = fs.read(inode, total, &mut buffer)?;
                    if got == 0 {
                        break Ok(total);
                    }
                    total += got as u64;
                }
            })
            .map_err(|e| error("driver read", e))?,
        mount::Location::Root => return Err("not mounted".into()),
    };
    let nanos = monotonic_nanos() - start;
    crate::println!(
        "bench: ext2 driver read (no VFS copy), {total} bytes, cold cache: {}",
        megabytes_per_second(FILE_BYTES, nanos)
    );

    // Raw device, past the end of the file system: write, then read back the same region
    // (so both reads, file and raw, fetch data this run wrote).
    let raw_start = fs_bytes.next_multiple_of(CALL_BYTES as u64);
    let raw_start = if raw_start + FILE_BYTES <= disk.size_bytes() {
        let start = monotonic_nanos();
        for index in 0..FILE_BYTES / CALL_BYTES as u64 {
            let at = raw_start + index * CALL_BYTES as u64;
            disk.write(at / sector, &buffer)
                .map_err(|e| error("raw write", e))?;
        }
        let _ = disk.flush();
        let nanos = monotonic_nanos() - start;
        crate::println!(
            "bench: raw virtio-blk sequential write, 64 MiB in 128 KiB requests, with flush: {}",
            megabytes_per_second(FILE_BYTES, nanos)
        );
        raw_start
    } else {
        crate::println!("bench: raw write skipped: no 64 MiB past the file system's end");
        0
    };
    let start = monotonic_nanos();
    for index in 0..FILE_BYTES / CALL_BYTES as u64 {
        let at = raw_start + index * CALL_BYTES as u64;
        disk.read(at / sector, &mut buffer)
            .map_err(|e| error("raw read", e))?;
    }
    let nanos = monotonic_nanos() - start;
    crate::println!(
        "bench: raw virtio-blk sequential read, 64 MiB in 128 KiB requests: {}",
        megabytes_per_second(FILE_BYTES, nanos)
    );

    // Memory bandwidth: every copy a file read makes costs this much.
    let mut target = vec![0u8; CALL_BYTES];
    let start = monotonic_nanos();
    for _ in 0..FILE_BYTES / CALL_BYTES as u64 {
        target.copy_from_slice(core::hint::black_box(&buffer));
    }
    let nanos = monotonic_nanos() - start;
    crate::println!(
        "bench: memory copy, 64 MiB in 128 KiB copies: {}",
        megabytes_per_second(FILE_BYTES, nanos)
    );
    let start = monotonic_nanos();
    for _ in 0..FILE_BYTES / CALL_BYTES as u64 {
        core::hint::black_box(vec![0u8; CALL_BYTES]);
    }
    let nanos = monotonic_nanos() - start;
    crate::println!(
        "bench: zeroed 128 KiB allocation, 64 MiB: {}",
        megabytes_per_second(FILE_BYTES, nanos)
    );

    // Metadata: create, stat, unlink N files in one directory.
    let files: u64 = crate::boot::info()
        .option("ext2.files")
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    ops::mkdir("/mnt/meta").map_err(|e| error("mkdir", e))?;
    let name = |index: u64| alloc::format!("/mnt/meta/file-{index:05}");
    let mut rates = [0u64; 3];
    for (phase, rate) in rates.iter_mut().enumerate() {
        let start = monotonic_nanos();
        for index in 0..files {
            let path = name(index);
            let result = match phase {
                0 => ops::write(&path, ops::WriteMode::Replace, b""),
                1 => ops::stat(&path).map(|_| ()),
                _ => ops::remove(&path),
            };
            result.map_err(|e| error(&path, e))?;
        }
        *rate = per_second(files, monotonic_nanos() - start);
    }
    crate::println!(
        "bench: ext2 metadata, {files} files in one directory: create {} /s, stat {} /s, unlink {} /s",
        rates[0],
        rates[1],
        rates[2]
    );
    ops::remove("/mnt/meta").map_err(|e| error("rmdir", e))?;
    ops::remove("/mnt/bench.bin").map_err(|e| error("rm", e))?;
    mount::umount("/mnt").map_err(|e| error("umount", e))?;
    Ok(())
}
kernel_test!(bench_ext2, bench);
