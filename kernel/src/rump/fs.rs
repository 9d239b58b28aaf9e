//! File systems through the linked rump kernel: register a kernel block device with rump's etfs,
//! mount it with NetBSD's own driver (ext2fs), and list, stat and read files — the rump side of
//! "compare native and rump ext2". Only built with components (docs/contract.md §10.2-§10.4).
//! Runs on the client thread (see `super::call`). Every failed call is reported with NetBSD's
//! errno name.

use alloc::ffi::CString;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::{c_char, c_int, c_void};
use core::sync::atomic::Ordering;

use crate::println;

use rump_api::*;

fn errno() -> i32 {
    crate::sched::current_thread()
        .foreign_errno
        .load(Ordering::Relaxed)
}

fn c_string(text: &str) -> Result<CString, String> {
    CString::new(text).map_err(|_| alloc::format!("'{text}' contains a NUL byte"))
}

/// `what: ENAME (NetBSD errno N)` for the calling thread's last rump error.
fn failure(what: &str) -> String {
    let value = errno();
    match errno_name(value) {
        Some(name) => alloc::format!("{what}: {name} (NetBSD errno {value})"),
        None => alloc::format!("{what}: NetBSD errno {value}"),
    }
}

fn check(result: c_int, what: &str) -> Result<c_int, String> {
    if result < 0 {
        Err(failure(what))
    } else {
        Ok(result)
    }
}

/// Makes directory `path` and the missing ones above it in the rump kernel's namespace.
fn make_directories(path: &str) {
    let mut prefix = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        prefix.push('/');
        prefix.push_str(part);
        if let Ok(name) = c_string(&prefix) {
            // SAFETY: NUL-terminated path; an existing directory gives EEXIST, which is fine.
            let _ = unsafe { rump___sysimpl_mkdir(name.as_ptr(), 0o755) };
        }
    }
}

/// Mounts `device` at `path` in the rump kernel's namespace (made if missing) with NetBSD's
/// file-system type `fs_type` (`ext2fs`, `ffs`: both take a `struct ufs_args`), read-only
/// unless `writable`. `device` is either a kernel block device (`vdb`: registered with rump's
/// etfs as `/dev/rump-vdb`) or a device node of the rump kernel itself (`/dev/sd0a`: a disk
/// that a rump driver such as umass attached).
pub fn mount_as(fs_type: &str, device: &str, path: &str, writable: bool) -> Result<(), String> {
    make_disk_nodes(device)?;
    let key = if device.starts_with('/') {
        c_string(device)?
    } else {
        if crate::block::find(device).is_none() {
            return Err(alloc::format!("no block device '{device}'"));
        }
        let key = c_string(&alloc::format!("/dev/rump-{device}"))?;
        let host = c_string(&alloc::format!("/dev/{device}"))?;
        // SAFETY: both strings are NUL-terminated and outlive the call; rump copies them.
        let registered =
            unsafe { rump_pub_etfs_register(key.as_ptr(), host.as_ptr(), RUMP_ETFS_BLK) };
        if registered != 0 && registered != 17 {
            return Err(alloc::format!(
                "etfs register: {} (NetBSD errno {registered})",
                errno_name(registered).unwrap_or("unknown error")
            ));
        }
        key
    };
    let target = c_string(path)?;
    let mut args = UfsArgs {
        fspec: key.as_ptr(),
    };
    let flags = if writable { 0 } else { MNT_RDONLY };
    make_directories(path);
    let fs_type = c_string(fs_type)?;
    // SAFETY: the strings are NUL-terminated and `args` is a `struct ufs_args` that lives across
    // the call; rump copies what it keeps.
    let result = unsafe {
        rump___sysimpl_mount50(
            fs_type.as_ptr(),
            target.as_ptr(),
            flags,
            &mut args as *mut UfsArgs as *mut c_void,
            core::mem::size_of::<UfsArgs>(),
        )
    };
    check(result, "mount")?;
    Ok(())
}

/// NetBSD's `makedev`, `major` and `minor` for 64-bit `dev_t`.
fn make_device(major: u64, minor: u64) -> u64 {
    ((major << 8) & 0x000f_ff00) | ((minor << 12) & 0xfff0_0000) | (minor & 0xff)
}

fn device_major(device: u64) -> u64 {
    (device & 0x000f_ff00) >> 8
}

fn device_minor(device: u64) -> u64 {
    ((device & 0xfff0_0000) >> 12) | (device & 0xff)
}

/// The rump kernel makes device nodes for the first disk of a kind only (`/dev/sd0a` ...): for
/// `/dev/sdNx` with N > 0, makes that unit's nodes like unit 0's, 16 partitions a unit
/// (NetBSD/amd64's MAXPARTITIONS).
fn make_disk_nodes(device: &str) -> Result<(), String> {
    const PARTITIONS: u64 = 16;
    let Some(rest) = device.strip_prefix("/dev/") else {
        return Ok(());
    };
    let kind: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let unit: String = rest[kind.len()..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let Ok(unit) = unit.parse::<u64>() else {
        return Ok(());
    };
    if unit == 0 || lstat(device).is_ok() {
        return Ok(());
    }
    let Ok(template) = lstat(&alloc::format!("/dev/{kind}0a")) else {
        return Ok(()); // nothing to copy; the mount reports the missing node
    };
    let (major, first) = (device_major(template.rdev), device_minor(template.rdev));
    for (index, letter) in ('a'..='p').enumerate() {
        let name = c_string(&alloc::format!("/dev/{kind}{unit}{letter}"))?;
        let minor = first + unit * PARTITIONS + index as u64;
        // SAFETY: NUL-terminated path; mode and device number are plain integers.
        let made = unsafe {
            rump___sysimpl_mknod50(name.as_ptr(), S_IFBLK | 0o600, make_device(major, minor))
        };
        if made < 0 && errno() != 17 {
            return Err(failure("mknod"));
        }
    }
    Ok(())
}

/// `rump umount PATH`.
pub fn unmount(path: &str, device: Option<&str>) -> Result<(), String> {
    let target = c_string(path)?;
    // SAFETY: NUL-terminated path.
    let result = unsafe { rump___sysimpl_unmount(target.as_ptr(), 0) };
    check(result, "unmount")?;
    if let Some(device) = device {
        let key = c_string(&alloc::format!("/dev/rump-{device}"))?;
        // SAFETY: NUL-terminated key.
        unsafe { rump_pub_etfs_remove(key.as_ptr()) };
    }
    Ok(())
}

fn lstat(path: &str) -> Result<Stat, String> {
    let c_path = c_string(path)?;
    let mut stat = Stat::default();
    // SAFETY: `stat` is a correctly sized and aligned `struct stat`.
    let result = unsafe { rump___sysimpl_lstat50(c_path.as_ptr(), &mut stat) };
    check(result, path)?;
    Ok(stat)
}

/// `rump ls PATH`: names with type, mode and size (types through stat: ext2fs reports
/// DT_UNKNOWN in directory entries).
pub fn list(path: &str) -> Result<(), String> {
    let c_path = c_string(path)?;
    // SAFETY: NUL-terminated path.
    let result = unsafe { rump___sysimpl_open(c_path.as_ptr(), O_RDONLY | O_DIRECTORY, 0) };
    let fd = check(result, path)?;
    let mut names = Vec::new();
    let mut buffer = vec![0u8; 8192];
    loop {
        // SAFETY: the buffer is writable for its length.
        let filled = unsafe {
            rump___sysimpl_getdents30(fd, buffer.as_mut_ptr() as *mut c_char, buffer.len())
        };
        if filled < 0 {
            let error = failure(&alloc::format!("reading directory {path}"));
            // SAFETY: `fd` came from open above.
            unsafe { rump___sysimpl_close(fd) };
            return Err(error);
        }
        if filled == 0 {
            break;
        }
        let mut at = 0usize;
        while at + 13 <= filled as usize {
            let record = u16::from_le_bytes([buffer[at + 8], buffer[at + 9]]) as usize;
            let length = u16::from_le_bytes([buffer[at + 10], buffer[at + 11]]) as usize;
            if record == 0 || at + 13 + length > filled as usize {
                break;
            }
            names.push(String::from_utf8_lossy(&buffer[at + 13..at + 13 + length]).into_owned());
            at += record;
        }
    }
    // SAFETY: `fd` came from open above.
    unsafe { rump___sysimpl_close(fd) };
    names.sort();
    for name in names.iter().filter(|n| *n != "." && *n != "..") {
        let full = alloc::format!("{}/{}", path.trim_end_matches('/'), name);
        match lstat(&full) {
            Ok(stat) => {
                let suffix = match stat.mode & S_IFMT {
                    S_IFDIR => "/",
                    S_IFLNK => "@",
                    _ => "",
                };
                println!(
                    "{:>10} {:04o} {}{}",
                    stat.size,
                    stat.mode & 0o7777,
                    name,
                    suffix
                );
            }
            Err(error) => println!("{:>10} ???? {name} ({error})", "?"),
        }
    }
    Ok(())
}

/// Reads a file through rump in 128 KiB pieces, handing each to `each`; returns the size.
pub fn read_each(path: &str, mut each: impl FnMut(&[u8])) -> Result<u64, String> {
    let c_path = c_string(path)?;
    // SAFETY: NUL-terminated path.
    let result = unsafe { rump___sysimpl_open(c_path.as_ptr(), O_RDONLY, 0) };
    let fd = check(result, path)?;
    let mut total = 0u64;
    let mut chunk = vec![0u8; 128 * 1024];
    let result = loop {
        // SAFETY: the chunk is writable for its length.
        let count =
            unsafe { rump___sysimpl_read(fd, chunk.as_mut_ptr() as *mut c_void, chunk.len()) };
        match count {
            0 => break Ok(total),
            n if n < 0 => break Err(failure(&alloc::format!("read {path}"))),
            n => {
                each(&chunk[..n as usize]);
                total += n as u64;
            }
        }
    };
    // SAFETY: `fd` came from open above.
    unsafe { rump___sysimpl_close(fd) };
    result
}

/// `rump cat PATH`.
pub fn cat(path: &str) -> Result<(), String> {
    let mut last = 0u8;
    let size = read_each(path, |piece| {
        crate::print!("{}", String::from_utf8_lossy(piece));
        last = piece.last().copied().unwrap_or(last);
    })?;
    if size > 0 && last != b'\n' {
        println!();
    }
    Ok(())
}

/// `rump read PATH`: reads a file and prints its size, a checksum and the rate, for comparing
/// with the native driver's `read` of the same file.
pub fn timed_read(path: &str) -> Result<(), String> {
    let start = crate::time::monotonic_nanos();
    let mut sum = 0u32;
    let size = read_each(path, |piece| {
        sum = piece
            .iter()
            .fold(sum, |a, b| a.wrapping_mul(31).wrapping_add(*b as u32));
    })?;
    let elapsed = (crate::time::monotonic_nanos() - start).max(1);
    println!(
        "{path}: {size} bytes, checksum {sum:08x}, {} KB/s through rump",
        size * 1_000_000 / elapsed
    );
    Ok(())
}

/// `rump read --bench PATH`: reads a file in 128 KiB calls without looking at the bytes and
/// prints a `bench:` line with the rate, timed in the kernel (`cargo xtask bench` compares it
/// with the native `read --bench`).
pub fn bench_read(path: &str) -> Result<(), String> {
    let start = crate::time::monotonic_nanos();
    let size = read_each(path, |_| {})?;
    let elapsed = (crate::time::monotonic_nanos() - start).max(1);
    println!(
        "bench: rump read {path}: {size} bytes in {} ms, {}.{} MB/s",
        elapsed / 1_000_000,
        size * 1000 / elapsed,
        size * 10_000 / elapsed % 10
    );
    Ok(())
}

/// Context switches and idle time of every CPU so far.
fn cpu_counters() -> (u64, u64, u64) {
    let (mut switches, mut idle) = (0, 0);
    for index in 0..crate::arch::cpus::online_count() {
        if let Some(cpu) = crate::arch::percpu::of(index) {
            switches += cpu.context_switches.load(Ordering::Relaxed);
            idle += cpu.idle_nanos.load(Ordering::Relaxed);
        }
    }
    (switches, idle, crate::sched::reschedule_ipis())
}

/// `rump read --profile PATH`: `rump read --bench` with the hypercall profile on
/// (`rumpuser::stats`), then each kind of hypercall per MiB read and the time in it.
pub fn profile_read(path: &str, trace: bool) -> Result<(), String> {
    use rumpuser::stats;
    let (switches, idle, ipis) = cpu_counters();
    stats::reset();
    stats::set_tracing(trace);
    stats::set_enabled(true);
    let start = crate::time::monotonic_nanos();
    let size = read_each(path, |_| {});
    let elapsed = (crate::time::monotonic_nanos() - start).max(1);
    stats::set_enabled(false);
    stats::set_tracing(false);
    let size = size?;
    let (switches_after, idle_after, ipis_after) = cpu_counters();
    // Per MiB with one decimal: value * 10 * 2^20 / size.
    let per_mib = |value: u64| (value as u128 * 10 * (1 << 20) / u128::from(size.max(1))) as u64;
    let switched = per_mib(switches_after - switches);
    let interrupted = per_mib(ipis_after - ipis);
    println!(
        "profile: rump read {path}: {size} bytes in {} ms, {} MB/s; {}.{} context switches/MiB, {}.{} reschedule IPIs/MiB, CPUs idle {} ms of {} ms",
        elapsed / 1_000_000,
        size * 1000 / elapsed,
        switched / 10,
        switched % 10,
        interrupted / 10,
        interrupted % 10,
        (idle_after - idle) / 1_000_000,
        elapsed * crate::arch::cpus::online_count() as u64 / 1_000_000,
    );
    println!(
        "profile: hypercall                                  calls/MiB     us/MiB  %wall  ns/call"
    );
    for entry in stats::snapshot().iter().filter(|e| e.calls > 0) {
        let nanos = crate::time::tsc::ticks_to_nanos(entry.ticks);
        let calls = per_mib(entry.calls);
        println!(
            "profile: {:<42} {:>8}.{} {:>10} {:>6} {:>8}",
            entry.name,
            calls / 10,
            calls % 10,
            per_mib(nanos) / 10_000,
            nanos * 100 / elapsed,
            nanos / entry.calls,
        );
    }
    if trace {
        let events = stats::trace(stats::TRACE_ENTRIES);
        let first = events.first().map_or(0, |e| e.timestamp);
        for event in events {
            let at = crate::time::tsc::ticks_to_nanos(event.timestamp.wrapping_sub(first));
            println!(
                "trace: {:>9} ns {:>12x} {:?} {}",
                at, event.thread, event.phase, event.name
            );
        }
    }
    Ok(())
}

/// `rump read --random PATH COUNT`: COUNT reads of 4 KiB at the random pages the native
/// `read --random` visits, in the same order; prints the rate and a checksum.
pub fn bench_random_read(path: &str, count: &str) -> Result<(), String> {
    use crate::block::bench::{checksum, RandomOffsets};
    let count: u64 = count
        .parse()
        .map_err(|_| alloc::format!("'{count}' is not a count"))?;
    let size = lstat(path)?.size.max(0) as u64;
    let c_path = c_string(path)?;
    // SAFETY: NUL-terminated path.
    let fd = check(
        unsafe { rump___sysimpl_open(c_path.as_ptr(), O_RDONLY, 0) },
        path,
    )?;
    let mut offsets = RandomOffsets::new(size / 4096);
    let mut buffer = vec![0u8; 4096];
    let mut sum = 0u32;
    let start = crate::time::monotonic_nanos();
    let mut result = Ok(());
    for _ in 0..count {
        let at = offsets.next_page() * 4096;
        // SAFETY: the buffer is writable for its length; `fd` came from open above.
        let got = unsafe {
            rump___sysimpl_pread(fd, buffer.as_mut_ptr() as *mut c_void, 4096, at as i64)
        };
        if got < 0 {
            result = Err(failure(&alloc::format!("pread {path} at {at}")));
            break;
        }
        sum = checksum(sum, &buffer[..got as usize]);
    }
    let nanos = (crate::time::monotonic_nanos() - start).max(1);
    // SAFETY: `fd` came from open above.
    unsafe { rump___sysimpl_close(fd) };
    result?;
    println!(
        "bench: rump random read {path}: {count} reads of 4096 bytes in {} ms, {} IOPS, checksum {sum:08x}",
        nanos / 1_000_000,
        count * 1_000_000_000 / nanos
    );
    Ok(())
}

/// `rump write --bench PATH MIB`: writes MIB MiB in 128 KiB calls into a new file (the bytes
/// the native `write --bench` writes), fsyncs and closes it; prints the rate including both.
pub fn bench_write(path: &str, mib: &str) -> Result<(), String> {
    use crate::block::bench::{pattern_byte, rate, stamp_pages};
    let bytes = mib
        .parse::<u64>()
        .map_err(|_| alloc::format!("'{mib}' is not a size in MiB"))?
        << 20;
    let c_path = c_string(path)?;
    let start = crate::time::monotonic_nanos();
    // SAFETY: NUL-terminated path.
    let fd = unsafe { rump___sysimpl_open(c_path.as_ptr(), O_WRONLY | O_CREAT | O_TRUNC, 0o644) };
    let fd = check(fd, path)?;
    let mut chunk: Vec<u8> = (0..128 * 1024).map(pattern_byte).collect();
    let mut at = 0u64;
    let mut result = Ok(());
    while at < bytes {
        stamp_pages(&mut chunk, at);
        // SAFETY: the chunk is readable for its length; `fd` came from open above.
        let written =
            unsafe { rump___sysimpl_write(fd, chunk.as_ptr() as *const c_void, chunk.len()) };
        if written != chunk.len() as isize {
            result = Err(failure(&alloc::format!("write {path} at {at}")));
            break;
        }
        at += chunk.len() as u64;
    }
    // SAFETY: as above.
    let synced = unsafe { rump___sysimpl_fsync(fd) };
    // SAFETY: as above.
    unsafe { rump___sysimpl_close(fd) };
    result?;
    check(synced, "fsync")?;
    let nanos = (crate::time::monotonic_nanos() - start).max(1);
    println!(
        "bench: rump write {path}: {bytes} bytes in {} ms, {}",
        nanos / 1_000_000,
        rate(bytes, nanos)
    );
    Ok(())
}

/// `rump mkdir PATH`.
pub fn make_directory(path: &str) -> Result<(), String> {
    let c_path = c_string(path)?;
    // SAFETY: NUL-terminated path.
    let result = unsafe { rump___sysimpl_mkdir(c_path.as_ptr(), 0o755) };
    check(result, path).map(|_| ())
}

/// `rump rm PATH`: removes a file, or an empty directory.
pub fn remove(path: &str) -> Result<(), String> {
    let is_directory = lstat(path)?.mode & S_IFMT == S_IFDIR;
    let c_path = c_string(path)?;
    // SAFETY: NUL-terminated path.
    let result = unsafe {
        if is_directory {
            rump___sysimpl_rmdir(c_path.as_ptr())
        } else {
            rump___sysimpl_unlink(c_path.as_ptr())
        }
    };
    check(result, path).map(|_| ())
}

/// `rump mv FROM TO`.
pub fn rename(from: &str, to: &str) -> Result<(), String> {
    let (c_from, c_to) = (c_string(from)?, c_string(to)?);
    // SAFETY: NUL-terminated paths.
    let result = unsafe { rump___sysimpl_rename(c_from.as_ptr(), c_to.as_ptr()) };
    check(result, from).map(|_| ())
}

/// `rump disks`: the disks NetBSD has attached (`hw.disknames`).
pub fn disks() -> Result<(), String> {
    const CTL_HW: c_int = 6;
    const HW_DISKNAMES: c_int = 8;
    let name = [CTL_HW, HW_DISKNAMES];
    let mut buffer = vec![0u8; 1024];
    let mut length = buffer.len();
    // SAFETY: `name` holds 2 integers; `buffer` is writable for `length` bytes, which the call
    // updates; no new value is set.
    let result = unsafe {
        rump___sysimpl___sysctl(
            name.as_ptr(),
            2,
            buffer.as_mut_ptr() as *mut c_void,
            &mut length,
            core::ptr::null(),
            0,
        )
    };
    check(result, "sysctl hw.disknames")?;
    let names = String::from_utf8_lossy(&buffer[..length.min(buffer.len())]);
    let names = names.trim_end_matches('\0').trim();
    println!("{}", if names.is_empty() { "no disks" } else { names });
    Ok(())
}

/// `rump write PATH TEXT`: creates or truncates PATH and writes TEXT and a newline through rump.
pub fn write_text(path: &str, text: &str) -> Result<(), String> {
    let c_path = c_string(path)?;
    // SAFETY: NUL-terminated path.
    let fd = unsafe { rump___sysimpl_open(c_path.as_ptr(), O_WRONLY | O_CREAT | O_TRUNC, 0o644) };
    let fd = check(fd, path)?;
    let mut data = Vec::from(text.as_bytes());
    data.push(b'\n');
    // SAFETY: `data` is readable for its length; `fd` came from open above.
    let written = unsafe { rump___sysimpl_write(fd, data.as_ptr() as *const c_void, data.len()) };
    let write_failure = (written < 0).then(|| failure(&alloc::format!("write {path}")));
    // SAFETY: as above.
    let synced = unsafe { rump___sysimpl_fsync(fd) };
    // SAFETY: as above.
    unsafe { rump___sysimpl_close(fd) };
    if let Some(error) = write_failure {
        return Err(error);
    }
    if written != data.len() as isize {
        return Err(alloc::format!(
            "write {path}: wrote {written} of {} bytes",
            data.len()
        ));
    }
    check(synced, "fsync")?;
    Ok(())
}
