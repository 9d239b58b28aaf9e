//! File systems through the linked rump kernel: register a kernel block device with rump's etfs,
//! mount it with NetBSD's own driver (ext2fs), and list, stat and read files — the rump side of
//! "compare native and rump ext2". Only built with components (docs/contract.md §10.2-§10.4). Runs on
//! the client thread (see `super::call`).

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

fn check(result: c_int, what: &str) -> Result<c_int, String> {
    if result < 0 {
        Err(alloc::format!("{what}: NetBSD errno {}", errno()))
    } else {
        Ok(result)
    }
}

/// `rump mount DEV PATH [rw]`: mounts with NetBSD's ext2fs, read-only unless `rw` is given.
/// `DEV` is either a kernel block device (`vdb`: registered with rump's etfs as
/// `/dev/rump-vdb`) or a device node of the rump kernel itself (`/dev/sd0a`: a disk that a rump
/// driver such as umass attached).
pub fn mount(device: &str, path: &str, writable: bool) -> Result<(), String> {
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
            return Err(alloc::format!("etfs register: NetBSD errno {registered}"));
        }
        key
    };
    let target = c_string(path)?;
    let mut args = UfsArgs {
        fspec: key.as_ptr(),
    };
    let flags = if writable { 0 } else { MNT_RDONLY };
    // SAFETY: the strings are NUL-terminated and `args` is a `struct ufs_args` that lives across
    // the calls; rump copies what it keeps.
    let result = unsafe {
        let _ = rump___sysimpl_mkdir(target.as_ptr(), 0o755);
        rump___sysimpl_mount50(
            c"ext2fs".as_ptr(),
            target.as_ptr(),
            flags,
            &mut args as *mut UfsArgs as *mut c_void,
            core::mem::size_of::<UfsArgs>(),
        )
    };
    check(result, "mount")?;
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
        if filled <= 0 {
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

/// Reads a whole file through rump; returns its bytes.
pub fn read_file(path: &str) -> Result<Vec<u8>, String> {
    let c_path = c_string(path)?;
    // SAFETY: NUL-terminated path.
    let result = unsafe { rump___sysimpl_open(c_path.as_ptr(), O_RDONLY, 0) };
    let fd = check(result, path)?;
    let mut contents = Vec::new();
    let mut chunk = vec![0u8; 128 * 1024];
    let result = loop {
        // SAFETY: the chunk is writable for its length.
        let count =
            unsafe { rump___sysimpl_read(fd, chunk.as_mut_ptr() as *mut c_void, chunk.len()) };
        match count {
            0 => break Ok(contents),
            n if n < 0 => break Err(alloc::format!("read {path}: NetBSD errno {}", errno())),
            n => contents.extend_from_slice(&chunk[..n as usize]),
        }
    };
    // SAFETY: `fd` came from open above.
    unsafe { rump___sysimpl_close(fd) };
    result
}

/// `rump cat PATH`.
pub fn cat(path: &str) -> Result<(), String> {
    let data = read_file(path)?;
    crate::print!("{}", String::from_utf8_lossy(&data));
    if !data.ends_with(b"\n") && !data.is_empty() {
        println!();
    }
    Ok(())
}

/// `rump read PATH`: reads a file and prints its size, a checksum and the rate, for comparing
/// with the native driver's `read` of the same file.
pub fn timed_read(path: &str) -> Result<(), String> {
    let start = crate::time::monotonic_nanos();
    let data = read_file(path)?;
    let elapsed = (crate::time::monotonic_nanos() - start).max(1);
    let sum = data
        .iter()
        .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(*b as u32));
    println!(
        "{path}: {} bytes, checksum {sum:08x}, {} KB/s through rump",
        data.len(),
        data.len() as u64 * 1_000_000 / elapsed
    );
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
    // SAFETY: as above.
    let synced = unsafe { rump___sysimpl_fsync(fd) };
    // SAFETY: as above.
    unsafe { rump___sysimpl_close(fd) };
    if written != data.len() as isize {
        return Err(alloc::format!(
            "write {path}: wrote {written} of {} bytes (NetBSD errno {})",
            data.len(),
            errno()
        ));
    }
    check(synced, "fsync")?;
    Ok(())
}
