//! File and directory system calls over the descriptors of [`crate::process::files`].

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use linux_abi::fcntl as f;

use super::{Call, Errno, SysResult};
use crate::process::files::{self, FileKind, OpenFile};
use crate::process::pipe::{Pipe, PipeEnd};
use crate::process::usermem::{
    check_range, read_bytes, read_path, write_bytes, write_i32, write_u64,
};
use crate::process::Process;
use crate::vfs;

/// Largest transfer one read or write does (Linux caps at 0x7ffff000).
pub(super) const MAX_TRANSFER: usize = 1 << 20;

fn vfs_error(error: vfs::VfsError) -> Errno {
    Errno::from_vfs(&error)
}

/// The directory a `*at` call is relative to.
fn base_directory(process: &Process, dirfd: i64) -> Result<String, Errno> {
    if dirfd == i64::from(f::AT_FDCWD) {
        return Ok(process.cwd.lock().clone());
    }
    let file = process.files.lock().get(dirfd)?;
    match &file.kind {
        FileKind::Directory { path } => Ok(path.clone()),
        _ => Err(Errno::ENOTDIR),
    }
}

/// Resolves a path argument against `dirfd`.
fn resolve_at(process: &Process, dirfd: i64, path: &str) -> Result<String, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let joined = if path.starts_with('/') {
        String::from(path)
    } else {
        vfs::path::join(&base_directory(process, dirfd)?, path)
    };
    vfs::path::normalise(&joined).map_err(vfs_error)
}

fn path_argument(call: &Call<'_>, dirfd: i64, index: usize) -> Result<String, Errno> {
    let path = read_path(call.arg(index))?;
    resolve_at(call.process, dirfd, &path)
}

fn install(process: &Process, file: Arc<OpenFile>, close_on_exec: bool) -> SysResult {
    process
        .files
        .lock()
        .install(file, close_on_exec, 0)
        .map(|fd| fd as u64)
}

/// Opens `path` (absolute, normalised) as `open(2)` would.
pub fn open_path(
    process: &Process,
    path: &str,
    flags: u32,
    mode: u32,
) -> Result<Arc<OpenFile>, Errno> {
    // /dev/fd/N and /dev/std{in,out,err} name the caller's own descriptors (bash's process
    // substitution opens /dev/fd/63): the same open file, as Linux gives for pipes.
    if let Some(fd) = files::own_descriptor(path) {
        return process.files.lock().get(fd).map_err(|_| Errno::ENOENT);
    }
    if let Some(node) = files::foreign_device_at(path) {
        let access = flags & f::O_ACCMODE;
        let device =
            (node.open)(access != f::O_RDONLY, access != f::O_WRONLY).map_err(vfs_error)?;
        let kind = FileKind::Device {
            path: String::from(path),
            node,
            device,
        };
        return Ok(OpenFile::new(kind, flags));
    }
    if let Some((name, _, _)) = files::device_at(path) {
        return Ok(OpenFile::new(files::open_device(name), flags));
    }
    if files::block_device_at(path).is_some() {
        return Err(Errno::ENXIO); // raw block devices are for mount(2) only
    }
    if path.starts_with("/proc/") {
        if flags & f::O_ACCMODE != f::O_RDONLY {
            return Err(Errno::EACCES);
        }
        let own = process.pid;
        return match crate::process::procfs::lookup(path, own)? {
            crate::process::procfs::Node::Directory => Ok(OpenFile::new(
                FileKind::Directory {
                    path: String::from(path),
                },
                flags,
            )),
            crate::process::procfs::Node::File(data) => Ok(OpenFile::new(
                FileKind::Generated {
                    path: String::from(path),
                    data,
                },
                flags,
            )),
            crate::process::procfs::Node::Link(target) => open_path(process, &target, flags, mode),
        };
    }
    if path == "/dev" {
        return Ok(OpenFile::new(
            FileKind::Directory {
                path: String::from(path),
            },
            flags,
        ));
    }
    let exists = match vfs::ops::stat(path) {
        Ok(stat) => Some(stat),
        Err(vfs::VfsError::NotFound) => None,
        Err(error) => return Err(vfs_error(error)),
    };
    if flags & f::O_NOFOLLOW != 0 && files::lstat(path)?.is_some() {
        return Err(Errno::ELOOP);
    }
    let stat = match exists {
        Some(stat) => {
            if flags & f::O_CREAT != 0 && flags & f::O_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            stat
        }
        None if flags & f::O_CREAT != 0 => {
            let umask = process.umask.load(Ordering::Relaxed);
            vfs::ops::create(path, mode & !umask & 0o7777).map_err(vfs_error)?;
            vfs::ops::stat(path).map_err(vfs_error)?
        }
        None => return Err(Errno::ENOENT),
    };
    let access = flags & f::O_ACCMODE;
    match stat.kind {
        vfs::ops::Kind::Directory => {
            if access != f::O_RDONLY {
                return Err(Errno::EISDIR);
            }
            Ok(OpenFile::new(
                FileKind::Directory {
                    path: String::from(path),
                },
                flags,
            ))
        }
        _ => {
            if flags & f::O_DIRECTORY != 0 {
                return Err(Errno::ENOTDIR);
            }
            if flags & f::O_TRUNC != 0 && access != f::O_RDONLY && stat.size != 0 {
                vfs::ops::truncate(path, 0).map_err(vfs_error)?;
            }
            if access != f::O_RDONLY && stat.source == "initrd" {
                return Err(Errno::EROFS);
            }
            let mode = vfs::foreign::OpenMode {
                write: access != f::O_RDONLY,
                ..Default::default()
            };
            let foreign = vfs::ops::open_foreign(path, mode).map_err(vfs_error)?;
            Ok(OpenFile::new(
                FileKind::Regular {
                    path: String::from(path),
                    foreign,
                },
                flags,
            ))
        }
    }
}

fn do_open(call: &mut Call<'_>, dirfd: i64, path_index: usize, flags: u32, mode: u32) -> SysResult {
    let path = path_argument(call, dirfd, path_index)?;
    let file = open_path(call.process, &path, flags & !f::O_CLOEXEC, mode)?;
    install(call.process, file, flags & f::O_CLOEXEC != 0)
}

pub fn open(call: &mut Call<'_>) -> SysResult {
    do_open(
        call,
        i64::from(f::AT_FDCWD),
        0,
        call.arg(1) as u32,
        call.arg(2) as u32,
    )
}

pub fn openat(call: &mut Call<'_>) -> SysResult {
    let dirfd = call.int(0);
    do_open(call, dirfd, 1, call.arg(2) as u32, call.arg(3) as u32)
}

pub fn creat(call: &mut Call<'_>) -> SysResult {
    let flags = f::O_CREAT | f::O_WRONLY | f::O_TRUNC;
    do_open(call, i64::from(f::AT_FDCWD), 0, flags, call.arg(1) as u32)
}

pub fn close(call: &mut Call<'_>) -> SysResult {
    let file = call.process.files.lock().close(call.int(0))?;
    drop(file);
    Ok(0)
}

/// Reads up to `buffer.len()` bytes from `file` at its offset (or at `at` for pread).
pub fn read_file(
    process: &Arc<Process>,
    file: &OpenFile,
    buffer: &mut [u8],
    at: Option<u64>,
) -> Result<usize, Errno> {
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    match &file.kind {
        FileKind::Regular { path, foreign } => {
            let mut offset = file.offset.lock();
            let position = at.unwrap_or(*offset);
            let count = match foreign {
                Some(foreign) => foreign.read_at(position, buffer),
                None => vfs::ops::read_at(path, position, buffer),
            }
            .map_err(vfs_error)?;
            if at.is_none() {
                *offset = position + count as u64;
            }
            Ok(count)
        }
        FileKind::Directory { .. } => Err(Errno::EISDIR),
        FileKind::Pipe { pipe, end } => {
            if at.is_some() {
                return Err(Errno::ESPIPE);
            }
            if *end != PipeEnd::Read {
                return Err(Errno::EBADF);
            }
            pipe.read(process, buffer, file.non_blocking())
        }
        FileKind::Tty(tty) => tty.read(process, buffer, file.non_blocking()),
        FileKind::Socket(socket) => {
            if at.is_some() {
                return Err(Errno::ESPIPE);
            }
            socket
                .read(process, buffer, file.non_blocking())
                .map(|count| count as usize)
        }
        FileKind::Generated { data, .. } => {
            let mut offset = file.offset.lock();
            let position = at.unwrap_or(*offset).min(data.len() as u64) as usize;
            let count = buffer.len().min(data.len() - position);
            buffer[..count].copy_from_slice(&data[position..position + count]);
            if at.is_none() {
                *offset = (position + count) as u64;
            }
            Ok(count)
        }
        FileKind::Device { device, .. } => {
            if at.is_some() {
                return Err(Errno::ESPIPE);
            }
            device.read(buffer, file.non_blocking()).map_err(vfs_error)
        }
        FileKind::Null => Ok(0),
        FileKind::Zero => {
            buffer.fill(0);
            Ok(buffer.len())
        }
        FileKind::Random => {
            crate::arch::cpu::random_fill(buffer);
            Ok(buffer.len())
        }
    }
}

/// Writes `data` to `file` at its offset (or at `at` for pwrite).
pub fn write_file(
    process: &Arc<Process>,
    file: &OpenFile,
    data: &[u8],
    at: Option<u64>,
) -> Result<usize, Errno> {
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    match &file.kind {
        FileKind::Regular {
            foreign: Some(foreign),
            ..
        } => {
            let mut offset = file.offset.lock();
            let position = if file.status_flags() & f::O_APPEND != 0 && at.is_none() {
                foreign.stat().map_err(vfs_error)?.size
            } else {
                at.unwrap_or(*offset)
            };
            let mut done = 0;
            while done < data.len() {
                match foreign.write_at(position + done as u64, &data[done..]) {
                    Ok(0) => break,
                    Ok(count) => done += count,
                    Err(_) if done > 0 => break, // the short count reports it
                    Err(error) => return Err(vfs_error(error)),
                }
            }
            if at.is_none() {
                *offset = position + done as u64;
            }
            Ok(done)
        }
        FileKind::Regular { path, .. } => {
            let mut offset = file.offset.lock();
            if file.status_flags() & f::O_APPEND != 0 && at.is_none() {
                vfs::ops::write(path, vfs::ops::WriteMode::Append, data).map_err(vfs_error)?;
                *offset = vfs::ops::stat(path).map_err(vfs_error)?.size;
            } else {
                let position = at.unwrap_or(*offset);
                vfs::ops::write(path, vfs::ops::WriteMode::At(position), data)
                    .map_err(vfs_error)?;
                if at.is_none() {
                    *offset = position + data.len() as u64;
                }
            }
            Ok(data.len())
        }
        FileKind::Directory { .. } => Err(Errno::EISDIR),
        FileKind::Pipe { pipe, end } => {
            if at.is_some() {
                return Err(Errno::ESPIPE);
            }
            if *end != PipeEnd::Write {
                return Err(Errno::EBADF);
            }
            pipe.write(process, data, file.non_blocking())
        }
        FileKind::Tty(tty) => tty.write(process, data),
        FileKind::Socket(socket) => {
            if at.is_some() {
                return Err(Errno::ESPIPE);
            }
            socket
                .write(process, data, file.non_blocking())
                .map(|count| count as usize)
        }
        FileKind::Device { device, .. } => {
            if at.is_some() {
                return Err(Errno::ESPIPE);
            }
            write_device(process, device.as_ref(), data, file.non_blocking())
        }
        FileKind::Null | FileKind::Zero | FileKind::Random => Ok(data.len()),
        FileKind::Generated { .. } => Err(Errno::EBADF),
    }
}

/// How much of a write one call into a foreign device hands over: a device that plays what it
/// is given (audio) blocks for the time this takes to play, and a signal is noticed in between.
const DEVICE_WRITE_PIECE: usize = 16 * 1024;

/// Writes `data` to a foreign device piece by piece; a signal ends it early with the count
/// written so far (or the interruption, if nothing was).
fn write_device(
    process: &Arc<Process>,
    device: &dyn vfs::foreign::ForeignDevice,
    data: &[u8],
    non_blocking: bool,
) -> Result<usize, Errno> {
    let mut done = 0;
    for piece in data.chunks(DEVICE_WRITE_PIECE) {
        if process.signals.lock().has_deliverable() {
            if done == 0 {
                return Err(crate::process::signal::WaitError::Interrupted.errno());
            }
            break;
        }
        match device.write(piece, non_blocking) {
            Ok(count) => {
                done += count;
                if count < piece.len() {
                    break;
                }
            }
            Err(_) if done > 0 => break, // the short count reports it
            Err(error) => return Err(vfs_error(error)),
        }
    }
    Ok(done)
}

fn read_common(call: &mut Call<'_>, at: Option<u64>) -> SysResult {
    let file = call.process.files.lock().get(call.int(0))?;
    check_range(call.arg(1), call.arg(2), true)?;
    let length = (call.arg(2) as usize).min(MAX_TRANSFER);
    let mut buffer = alloc::vec![0u8; length];
    let count = read_file(call.process, &file, &mut buffer, at)?;
    write_bytes(call.arg(1), &buffer[..count])?;
    Ok(count as u64)
}

fn write_common(call: &mut Call<'_>, at: Option<u64>) -> SysResult {
    let file = call.process.files.lock().get(call.int(0))?;
    check_range(call.arg(1), call.arg(2), false)?;
    let length = (call.arg(2) as usize).min(MAX_TRANSFER);
    let data = read_bytes(call.arg(1), length)?;
    write_file(call.process, &file, &data, at).map(|n| n as u64)
}

pub fn read(call: &mut Call<'_>) -> SysResult {
    read_common(call, None)
}

pub fn write(call: &mut Call<'_>) -> SysResult {
    write_common(call, None)
}

pub fn pread64(call: &mut Call<'_>) -> SysResult {
    let offset = call.arg(3) as i64;
    if offset < 0 {
        return Err(Errno::EINVAL);
    }
    read_common(call, Some(offset as u64))
}

pub fn pwrite64(call: &mut Call<'_>) -> SysResult {
    let offset = call.arg(3) as i64;
    if offset < 0 {
        return Err(Errno::EINVAL);
    }
    write_common(call, Some(offset as u64))
}

/// The iovec array at `address`; every buffer must be user memory (writable for a read).
fn iovecs(address: u64, count: u64, write: bool) -> Result<Vec<(u64, usize)>, Errno> {
    if count > 1024 {
        return Err(Errno::EINVAL);
    }
    let bytes = read_bytes(address, count as usize * 16)?;
    for chunk in bytes.chunks(16) {
        let base = u64::from_le_bytes(chunk[0..8].try_into().unwrap_or([0; 8]));
        let length = u64::from_le_bytes(chunk[8..16].try_into().unwrap_or([0; 8]));
        check_range(base, length, write)?;
    }
    Ok(bytes
        .chunks(16)
        .map(|c| {
            let base = u64::from_le_bytes(c[0..8].try_into().unwrap_or([0; 8]));
            let length = u64::from_le_bytes(c[8..16].try_into().unwrap_or([0; 8]));
            (base, length.min(MAX_TRANSFER as u64) as usize)
        })
        .collect())
}

pub fn readv(call: &mut Call<'_>) -> SysResult {
    let file = call.process.files.lock().get(call.int(0))?;
    let mut total = 0u64;
    for (base, length) in iovecs(call.arg(1), call.arg(2), true)? {
        if length == 0 {
            continue;
        }
        let mut buffer = alloc::vec![0u8; length];
        let count = match read_file(call.process, &file, &mut buffer, None) {
            Ok(count) => count,
            Err(error) if total == 0 => return Err(error),
            Err(_) => break,
        };
        write_bytes(base, &buffer[..count])?;
        total += count as u64;
        if count < length {
            break;
        }
    }
    Ok(total)
}

pub fn writev(call: &mut Call<'_>) -> SysResult {
    let file = call.process.files.lock().get(call.int(0))?;
    let mut total = 0u64;
    for (base, length) in iovecs(call.arg(1), call.arg(2), false)? {
        if length == 0 {
            continue;
        }
        let data = read_bytes(base, length)?;
        match write_file(call.process, &file, &data, None) {
            Ok(count) => {
                total += count as u64;
                if count < length {
                    break;
                }
            }
            Err(error) if total == 0 => return Err(error),
            Err(_) => break,
        }
    }
    Ok(total)
}

pub fn sendfile(call: &mut Call<'_>) -> SysResult {
    let (output, input) = {
        let table = call.process.files.lock();
        (table.get(call.int(0))?, table.get(call.int(1))?)
    };
    let offset_pointer = call.arg(2);
    let mut at = if offset_pointer != 0 {
        Some(crate::process::usermem::read_u64(offset_pointer)?)
    } else {
        None
    };
    let count = (call.arg(3) as usize).min(MAX_TRANSFER);
    let mut buffer = alloc::vec![0u8; count.min(64 * 1024)];
    let mut total = 0usize;
    while total < count {
        let want = (count - total).min(buffer.len());
        let got = match read_file(call.process, &input, &mut buffer[..want], at) {
            Ok(got) => got,
            Err(error) if total == 0 => return Err(error),
            Err(_) => break,
        };
        if got == 0 {
            break;
        }
        let put = match write_file(call.process, &output, &buffer[..got], None) {
            Ok(put) => put,
            Err(error) if total == 0 => return Err(error),
            Err(_) => break,
        };
        total += put;
        if let Some(position) = at.as_mut() {
            *position += put as u64;
        }
        if put < got {
            break;
        }
    }
    if let Some(position) = at {
        write_u64(offset_pointer, position)?;
    }
    Ok(total as u64)
}

pub fn lseek(call: &mut Call<'_>) -> SysResult {
    let file = call.process.files.lock().get(call.int(0))?;
    let offset = call.arg(1) as i64;
    let whence = call.arg(2) as u32;
    let size = match &file.kind {
        FileKind::Regular {
            foreign: Some(foreign),
            ..
        } => foreign.stat().map_err(vfs_error)?.size as i64,
        FileKind::Regular { path, .. } => vfs::ops::stat(path).map_err(vfs_error)?.size as i64,
        FileKind::Directory { .. } => 0,
        FileKind::Generated { data, .. } => data.len() as i64,
        FileKind::Null | FileKind::Zero | FileKind::Random => return Ok(0),
        FileKind::Pipe { .. }
        | FileKind::Tty(_)
        | FileKind::Socket(_)
        | FileKind::Device { .. } => return Err(Errno::ESPIPE),
    };
    let mut current = file.offset.lock();
    let new = match whence {
        0 => Some(offset),
        1 => (*current as i64).checked_add(offset),
        2 => size.checked_add(offset),
        _ => return Err(Errno::EINVAL),
    };
    match new {
        Some(new) if new >= 0 => {
            *current = new as u64;
            Ok(new as u64)
        }
        _ => Err(Errno::EINVAL),
    }
}

fn push_dirent(buffer: &mut Vec<u8>, inode: u64, next: u64, kind: u8, name: &str) {
    let length = (19 + name.len() + 1).next_multiple_of(8);
    let start = buffer.len();
    buffer.resize(start + length, 0);
    let record = &mut buffer[start..];
    record[0..8].copy_from_slice(&inode.to_le_bytes());
    record[8..16].copy_from_slice(&next.to_le_bytes());
    record[16..18].copy_from_slice(&(length as u16).to_le_bytes());
    record[18] = kind;
    record[19..19 + name.len()].copy_from_slice(name.as_bytes());
}

pub fn getdents64(call: &mut Call<'_>) -> SysResult {
    let file = call.process.files.lock().get(call.int(0))?;
    let FileKind::Directory { path } = &file.kind else {
        return Err(Errno::ENOTDIR);
    };
    check_range(call.arg(1), call.arg(2), true)?;
    let capacity = (call.arg(2) as usize).min(MAX_TRANSFER);
    let entries = files::directory_entries(path)?;
    let mut offset = file.offset.lock();
    let mut buffer = Vec::new();
    let mut index = *offset as usize;
    while index < entries.len() {
        let (inode, kind, name) = &entries[index];
        let length = (19 + name.len() + 1).next_multiple_of(8);
        if buffer.len() + length > capacity {
            if buffer.is_empty() {
                return Err(Errno::EINVAL);
            }
            break;
        }
        push_dirent(&mut buffer, *inode, index as u64 + 1, *kind, name);
        index += 1;
    }
    write_bytes(call.arg(1), &buffer)?;
    *offset = index as u64;
    Ok(buffer.len() as u64)
}

pub fn stat(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, i64::from(f::AT_FDCWD), 0)?;
    write_bytes(call.arg(1), &files::stat_path(&path, true)?.to_bytes())?;
    Ok(0)
}

pub fn lstat(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, i64::from(f::AT_FDCWD), 0)?;
    write_bytes(call.arg(1), &files::stat_path(&path, false)?.to_bytes())?;
    Ok(0)
}

pub fn fstat(call: &mut Call<'_>) -> SysResult {
    let file = call.process.files.lock().get(call.int(0))?;
    write_bytes(call.arg(1), &files::open_file_status(&file)?.to_bytes())?;
    Ok(0)
}

pub fn newfstatat(call: &mut Call<'_>) -> SysResult {
    let dirfd = call.int(0);
    let flags = call.arg(3) as u32;
    let raw = read_path(call.arg(1))?;
    let status = if raw.is_empty() && flags & f::AT_EMPTY_PATH != 0 {
        if dirfd == i64::from(f::AT_FDCWD) {
            files::stat_path(&call.process.cwd.lock().clone(), true)?
        } else {
            let file = call.process.files.lock().get(dirfd)?;
            files::open_file_status(&file)?
        }
    } else {
        let path = resolve_at(call.process, dirfd, &raw)?;
        files::stat_path(&path, flags & f::AT_SYMLINK_NOFOLLOW == 0)?
    };
    write_bytes(call.arg(2), &status.to_bytes())?;
    Ok(0)
}

fn check_access(path: &str, mode: u32) -> SysResult {
    let status = files::stat_path(path, true)?;
    if mode & 1 != 0 && status.mode & 0o040000 == 0 && status.mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    if mode & 2 != 0 {
        if let Ok(stat) = vfs::ops::stat(path) {
            if stat.source == "initrd" || stat.source == "vfs" {
                return Err(Errno::EROFS);
            }
        }
    }
    Ok(0)
}

pub fn access(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, i64::from(f::AT_FDCWD), 0)?;
    check_access(&path, call.arg(1) as u32)
}

pub fn faccessat(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, call.int(0), 1)?;
    check_access(&path, call.arg(2) as u32)
}

pub fn faccessat2(call: &mut Call<'_>) -> SysResult {
    faccessat(call)
}

fn make_pipe(call: &mut Call<'_>, flags: u32) -> SysResult {
    if flags & !(f::O_CLOEXEC | f::O_NONBLOCK | f::O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    let pipe = Pipe::new();
    let status = flags & f::O_NONBLOCK;
    let reader = OpenFile::new(
        FileKind::Pipe {
            pipe: pipe.clone(),
            end: PipeEnd::Read,
        },
        f::O_RDONLY | status,
    );
    let writer = OpenFile::new(
        FileKind::Pipe {
            pipe,
            end: PipeEnd::Write,
        },
        f::O_WRONLY | status,
    );
    let cloexec = flags & f::O_CLOEXEC != 0;
    let (read_fd, write_fd) = {
        let mut table = call.process.files.lock();
        let read_fd = table.install(reader, cloexec, 0)?;
        match table.install(writer, cloexec, 0) {
            Ok(write_fd) => (read_fd, write_fd),
            Err(error) => {
                let _ = table.close(read_fd as i64);
                return Err(error);
            }
        }
    };
    let mut bytes = [0u8; 8];
    bytes[0..4].copy_from_slice(&(read_fd as i32).to_le_bytes());
    bytes[4..8].copy_from_slice(&(write_fd as i32).to_le_bytes());
    if let Err(error) = write_bytes(call.arg(0), &bytes) {
        let mut table = call.process.files.lock();
        let _ = table.close(read_fd as i64);
        let _ = table.close(write_fd as i64);
        return Err(error);
    }
    Ok(0)
}

pub fn pipe(call: &mut Call<'_>) -> SysResult {
    make_pipe(call, 0)
}

pub fn pipe2(call: &mut Call<'_>) -> SysResult {
    let flags = call.arg(1) as u32;
    make_pipe(call, flags)
}

pub fn dup(call: &mut Call<'_>) -> SysResult {
    let mut table = call.process.files.lock();
    let file = table.get(call.int(0))?;
    table.install(file, false, 0).map(|fd| fd as u64)
}

fn dup_to(call: &mut Call<'_>, old: i64, new: i64, close_on_exec: bool) -> SysResult {
    let replaced = {
        let mut table = call.process.files.lock();
        let file = table.get(old)?;
        if new < 0 {
            return Err(Errno::EBADF);
        }
        table.install_at(new as usize, file, close_on_exec)?
    };
    drop(replaced);
    Ok(new as u64)
}

pub fn dup2(call: &mut Call<'_>) -> SysResult {
    let (old, new) = (call.int(0), call.int(1));
    if old == new {
        call.process.files.lock().get(old)?;
        return Ok(new as u64);
    }
    dup_to(call, old, new, false)
}

pub fn dup3(call: &mut Call<'_>) -> SysResult {
    let (old, new, flags) = (call.int(0), call.int(1), call.arg(2) as u32);
    if old == new || flags & !f::O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    dup_to(call, old, new, flags & f::O_CLOEXEC != 0)
}

pub fn fcntl(call: &mut Call<'_>) -> SysResult {
    let fd = call.int(0);
    let command = call.arg(1) as u32;
    let argument = call.arg(2);
    let mut table = call.process.files.lock();
    let file = table.get(fd)?;
    match command {
        f::F_DUPFD | f::F_DUPFD_CLOEXEC => {
            let minimum = usize::try_from(argument as u32 as i32).map_err(|_| Errno::EINVAL)?;
            table
                .install(file, command == f::F_DUPFD_CLOEXEC, minimum)
                .map(|fd| fd as u64)
        }
        f::F_GETFD => Ok(u64::from(table.close_on_exec_flag(fd)?)),
        f::F_SETFD => {
            table.set_close_on_exec(fd, argument & u64::from(f::FD_CLOEXEC) != 0)?;
            Ok(0)
        }
        f::F_GETFL => Ok(u64::from(file.status_flags())),
        f::F_SETFL => {
            let changeable = f::O_APPEND | f::O_NONBLOCK;
            let old = file.status_flags();
            file.flags.store(
                (old & !changeable) | (argument as u32 & changeable),
                Ordering::Relaxed,
            );
            Ok(0)
        }
        f::F_GETLK => {
            drop(table);
            // No locks are ever held against another process: report the range unlocked.
            write_bytes(call.arg(2), &f::F_UNLCK.to_le_bytes())?;
            Ok(0)
        }
        f::F_SETLK | f::F_SETLKW => Ok(0),
        f::F_GETPIPE_SZ => match file.kind {
            FileKind::Pipe { .. } => Ok(crate::process::pipe::CAPACITY as u64),
            _ => Err(Errno::EBADF),
        },
        f::F_SETOWN | f::F_GETOWN => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

pub fn ioctl(call: &mut Call<'_>) -> SysResult {
    let fd = call.int(0);
    let request = call.arg(1) as u32;
    let argument = call.arg(2);
    let file = call.process.files.lock().get(fd)?;
    match request {
        linux_abi::ioctl::FIOCLEX | linux_abi::ioctl::FIONCLEX => {
            call.process
                .files
                .lock()
                .set_close_on_exec(fd, request == linux_abi::ioctl::FIOCLEX)?;
            return Ok(0);
        }
        linux_abi::ioctl::FIONBIO => {
            let on = crate::process::usermem::read_u32(argument)? != 0;
            let old = file.status_flags();
            let new = if on {
                old | f::O_NONBLOCK
            } else {
                old & !f::O_NONBLOCK
            };
            file.flags.store(new, Ordering::Relaxed);
            return Ok(0);
        }
        _ => {}
    }
    match &file.kind {
        FileKind::Tty(tty) => tty.ioctl(call.process, request, argument),
        FileKind::Device { device, .. } => device_ioctl(device.as_ref(), request, argument),
        FileKind::Pipe { pipe, .. } if request == linux_abi::ioctl::FIONREAD => {
            write_i32(argument, pipe.available() as i32)?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// An ioctl on a foreign device, in that kernel's encoding: the parameter is copied in from
/// and out to the caller's memory as the device says the request wants.
fn device_ioctl(
    device: &dyn vfs::foreign::ForeignDevice,
    request: u32,
    argument: u64,
) -> SysResult {
    let shape = device.ioctl_shape(request).ok_or(Errno::ENOTTY)?;
    let mut parameter = if shape.copy_in {
        read_bytes(argument, shape.length)?
    } else {
        alloc::vec![0u8; shape.length]
    };
    if shape.copy_out {
        check_range(argument, shape.length as u64, true)?;
    }
    let result = device
        .ioctl(request, &mut parameter, argument)
        .map_err(vfs_error)?;
    if shape.copy_out {
        write_bytes(argument, &parameter)?;
    }
    Ok(result)
}

pub fn fsync(call: &mut Call<'_>) -> SysResult {
    let file = call.process.files.lock().get(call.int(0))?;
    if let FileKind::Regular {
        foreign: Some(foreign),
        ..
    } = &file.kind
    {
        foreign.sync().map_err(vfs_error)?;
        return Ok(0);
    }
    for (mount, result) in vfs::mount::sync_all() {
        if let Err(error) = result {
            log::warn!("fsync: {mount}: {error}");
            return Err(Errno::EIO);
        }
    }
    Ok(0)
}

pub fn sync(_call: &mut Call<'_>) -> SysResult {
    let _ = vfs::mount::sync_all();
    Ok(0)
}

fn truncate_path(path: &str, length: i64) -> SysResult {
    if length < 0 {
        return Err(Errno::EINVAL);
    }
    vfs::ops::truncate(path, length as u64).map_err(vfs_error)?;
    Ok(0)
}

pub fn truncate(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, i64::from(f::AT_FDCWD), 0)?;
    truncate_path(&path, call.arg(1) as i64)
}

pub fn ftruncate(call: &mut Call<'_>) -> SysResult {
    let file = call.process.files.lock().get(call.int(0))?;
    match &file.kind {
        FileKind::Regular {
            foreign: Some(foreign),
            ..
        } if file.writable() => {
            let length = u64::try_from(call.arg(1) as i64).map_err(|_| Errno::EINVAL)?;
            foreign.truncate(length).map_err(vfs_error)?;
            Ok(0)
        }
        FileKind::Regular { path, .. } if file.writable() => {
            truncate_path(path, call.arg(1) as i64)
        }
        FileKind::Regular { .. } | FileKind::Directory { .. } => Err(Errno::EINVAL),
        _ => Err(Errno::EINVAL),
    }
}

pub fn getcwd(call: &mut Call<'_>) -> SysResult {
    let mut cwd = call.process.cwd.lock().clone().into_bytes();
    cwd.push(0);
    if cwd.len() > call.arg(1) as usize {
        return Err(Errno::ERANGE);
    }
    write_bytes(call.arg(0), &cwd)?;
    Ok(cwd.len() as u64)
}

fn change_directory(process: &Process, path: String) -> SysResult {
    let status = files::stat_path(&path, true)?;
    if status.mode & 0o170000 != 0o040000 {
        return Err(Errno::ENOTDIR);
    }
    *process.cwd.lock() = path;
    Ok(0)
}

pub fn chdir(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, i64::from(f::AT_FDCWD), 0)?;
    change_directory(call.process, path)
}

pub fn fchdir(call: &mut Call<'_>) -> SysResult {
    let file = call.process.files.lock().get(call.int(0))?;
    match &file.kind {
        FileKind::Directory { path } => change_directory(call.process, path.clone()),
        _ => Err(Errno::ENOTDIR),
    }
}

fn rename_paths(from: &str, to: &str, no_replace: bool) -> SysResult {
    let source = files::stat_path(from, false)?;
    if let Ok(target) = files::stat_path(to, false) {
        if no_replace {
            return Err(Errno::EEXIST);
        }
        let source_is_directory = source.mode & 0o170000 == 0o040000;
        let target_is_directory = target.mode & 0o170000 == 0o040000;
        if target_is_directory && !source_is_directory {
            return Err(Errno::EISDIR);
        }
        if source_is_directory && !target_is_directory {
            return Err(Errno::ENOTDIR);
        }
        if from == to {
            return Ok(0);
        }
        // POSIX replaces the target; the VFS's rename moves *into* a directory, so clear the
        // way first (an empty directory, or a file).
        vfs::ops::remove(to).map_err(vfs_error)?;
    }
    vfs::ops::rename(from, to).map_err(vfs_error)?;
    Ok(0)
}

pub fn rename(call: &mut Call<'_>) -> SysResult {
    let from = path_argument(call, i64::from(f::AT_FDCWD), 0)?;
    let to = path_argument(call, i64::from(f::AT_FDCWD), 1)?;
    rename_paths(&from, &to, false)
}

pub fn renameat(call: &mut Call<'_>) -> SysResult {
    let from = path_argument(call, call.int(0), 1)?;
    let to = path_argument(call, call.int(2), 3)?;
    rename_paths(&from, &to, false)
}

pub fn renameat2(call: &mut Call<'_>) -> SysResult {
    let flags = call.arg(4) as u32;
    if flags & !f::RENAME_NOREPLACE != 0 {
        return Err(Errno::EINVAL);
    }
    let from = path_argument(call, call.int(0), 1)?;
    let to = path_argument(call, call.int(2), 3)?;
    rename_paths(&from, &to, flags & f::RENAME_NOREPLACE != 0)
}

fn make_directory(process: &Process, path: &str, mode: u32) -> SysResult {
    let umask = process.umask.load(Ordering::Relaxed);
    vfs::ops::mkdir_mode(path, mode & !umask & 0o7777).map_err(vfs_error)?;
    Ok(0)
}

pub fn mkdir(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, i64::from(f::AT_FDCWD), 0)?;
    make_directory(call.process, &path, call.arg(1) as u32)
}

pub fn mkdirat(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, call.int(0), 1)?;
    make_directory(call.process, &path, call.arg(2) as u32)
}

fn remove_path(path: &str, directory: bool) -> SysResult {
    let status = files::stat_path(path, false)?;
    let is_directory = status.mode & 0o170000 == 0o040000;
    if directory && !is_directory {
        return Err(Errno::ENOTDIR);
    }
    if !directory && is_directory {
        return Err(Errno::EISDIR);
    }
    vfs::ops::remove(path).map_err(vfs_error)?;
    Ok(0)
}

pub fn rmdir(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, i64::from(f::AT_FDCWD), 0)?;
    remove_path(&path, true)
}

pub fn unlink(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, i64::from(f::AT_FDCWD), 0)?;
    remove_path(&path, false)
}

pub fn unlinkat(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, call.int(0), 1)?;
    remove_path(&path, call.arg(2) as u32 & f::AT_REMOVEDIR != 0)
}

fn read_link(path: &str, buffer: u64, size: u64) -> SysResult {
    let Some(stat) = files::lstat(path)? else {
        files::stat_path(path, true)?;
        return Err(Errno::EINVAL);
    };
    let target = stat.link_target.unwrap_or_default();
    let count = target.len().min(size as usize);
    write_bytes(buffer, &target.as_bytes()[..count])?;
    Ok(count as u64)
}

pub fn readlink(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, i64::from(f::AT_FDCWD), 0)?;
    read_link(&path, call.arg(1), call.arg(2))
}

pub fn readlinkat(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, call.int(0), 1)?;
    read_link(&path, call.arg(2), call.arg(3))
}

pub fn chmod(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, i64::from(f::AT_FDCWD), 0)?;
    vfs::ops::chmod(&path, call.arg(1) as u32).map_err(vfs_error)?;
    Ok(0)
}

pub fn fchmodat(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, call.int(0), 1)?;
    vfs::ops::chmod(&path, call.arg(2) as u32).map_err(vfs_error)?;
    Ok(0)
}

pub fn fchmod(call: &mut Call<'_>) -> SysResult {
    let file = call.process.files.lock().get(call.int(0))?;
    match &file.kind {
        FileKind::Regular { path, .. } | FileKind::Directory { path } => {
            vfs::ops::chmod(path, call.arg(1) as u32).map_err(vfs_error)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Ownership: every file here belongs to root and only root exists, so changing it to
/// root (or leaving it, -1) succeeds and anything else is refused.
fn change_owner(path: &str, uid: u32, gid: u32) -> SysResult {
    files::stat_path(path, true)?;
    if (uid == 0 || uid == u32::MAX) && (gid == 0 || gid == u32::MAX) {
        Ok(0)
    } else {
        Err(Errno::EPERM)
    }
}

pub fn chown(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, i64::from(f::AT_FDCWD), 0)?;
    change_owner(&path, call.arg(1) as u32, call.arg(2) as u32)
}

pub fn fchownat(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, call.int(0), 1)?;
    change_owner(&path, call.arg(2) as u32, call.arg(3) as u32)
}

pub fn fchown(call: &mut Call<'_>) -> SysResult {
    let file = call.process.files.lock().get(call.int(0))?;
    match file.path() {
        Some(path) => change_owner(&String::from(path), call.arg(1) as u32, call.arg(2) as u32),
        None => Err(Errno::EINVAL),
    }
}

pub fn umask(call: &mut Call<'_>) -> SysResult {
    let new = call.arg(0) as u32 & 0o777;
    Ok(u64::from(call.process.umask.swap(new, Ordering::Relaxed)))
}

pub fn utimensat(call: &mut Call<'_>) -> SysResult {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    let dirfd = call.int(0);
    let flags = call.arg(3) as u32;
    let path = if call.arg(1) == 0 {
        let file = call.process.files.lock().get(dirfd)?;
        String::from(file.path().ok_or(Errno::EBADF)?)
    } else {
        path_argument(call, dirfd, 1)?
    };
    let now = crate::time::wall_clock().0 as i64;
    let (mut atime, mut mtime) = (now, now);
    if call.arg(2) != 0 {
        let bytes = read_bytes(call.arg(2), 32)?;
        let word = |i: usize| i64::from_le_bytes(bytes[i..i + 8].try_into().unwrap_or([0; 8]));
        let current = vfs::ops::stat(&path).map_err(vfs_error)?;
        atime = match word(8) {
            UTIME_NOW => now,
            UTIME_OMIT => current.mtime,
            _ => word(0),
        };
        mtime = match word(24) {
            UTIME_NOW => now,
            UTIME_OMIT => current.mtime,
            _ => word(16),
        };
    }
    vfs::ops::set_times(&path, flags & f::AT_SYMLINK_NOFOLLOW == 0, atime, mtime)
        .map_err(vfs_error)?;
    Ok(0)
}

fn device_name(source: &str) -> Result<&str, Errno> {
    let name = source.strip_prefix("/dev/").unwrap_or(source);
    if crate::block::find(name).is_none() {
        return Err(Errno::ENODEV);
    }
    Ok(name)
}

/// `mount`: an ext2 file system on a block device (`/dev/vda`) read-write or read-only, or a
/// foreign type (`rump-ext2fs`: NetBSD's ext2 through the rump kernel, on a kernel disk or on a
/// disk the rump kernel attached, `/dev/sd0a`).
pub fn mount(call: &mut Call<'_>) -> SysResult {
    const MS_RDONLY: u64 = 1;
    const MS_REMOUNT: u64 = 32;
    let source = read_path(call.arg(0))?;
    let target = path_argument(call, i64::from(f::AT_FDCWD), 1)?;
    let kind = if call.arg(2) != 0 {
        read_path(call.arg(2))?
    } else {
        String::new()
    };
    let flags = call.arg(3);
    if flags & MS_REMOUNT != 0 {
        return Err(Errno::EINVAL);
    }
    let read_only = flags & MS_RDONLY != 0;
    let result = if matches!(kind.as_str(), "ext2" | "ext3" | "ext4" | "") {
        vfs::mount::mount(device_name(&source)?, &target, read_only)
    } else if vfs::foreign::mounter(&kind).is_some() {
        // The source goes as given: a kernel disk (/dev/vdb) or a node of the other kernel.
        vfs::mount::mount_foreign(&kind, &source, &target, read_only)
    } else {
        return Err(Errno::ENODEV);
    };
    match result {
        Ok(message) => {
            log::info!("pid {}: {message}", call.process.pid);
            Ok(0)
        }
        Err(vfs::VfsError::DeviceMounted(_)) => Err(Errno::EBUSY),
        Err(vfs::VfsError::Ext2(error)) => {
            log::warn!("mount {source} on {target}: {error}");
            Err(Errno::EINVAL)
        }
        Err(error) => Err(vfs_error(error)),
    }
}

pub fn umount2(call: &mut Call<'_>) -> SysResult {
    let target = path_argument(call, i64::from(f::AT_FDCWD), 0)?;
    match vfs::mount::umount(&target) {
        Ok(_) => Ok(0),
        Err(vfs::VfsError::NotMounted) => Err(Errno::EINVAL),
        Err(error) => Err(vfs_error(error)),
    }
}

fn statfs_of(path: &str) -> Result<[u8; 120], Errno> {
    files::stat_path(path, true)?;
    let mut bytes = [0u8; 120];
    let put = |bytes: &mut [u8; 120], offset: usize, value: u64| {
        bytes[offset..offset + 8].copy_from_slice(&value.to_le_bytes())
    };
    // The mount answering for the path: the longest mount point that prefixes it.
    let usage = vfs::mount::usage()
        .into_iter()
        .filter(|u| {
            path == u.path || path.starts_with(&alloc::format!("{}/", u.path.trim_end_matches('/')))
        })
        .max_by_key(|u| u.path.len());
    match usage {
        Some(usage) => {
            let s = usage.statfs;
            put(&mut bytes, 0, 0xef53); // EXT2_SUPER_MAGIC
            put(&mut bytes, 8, u64::from(s.block_size));
            put(&mut bytes, 16, s.blocks);
            put(&mut bytes, 24, s.free_blocks);
            put(&mut bytes, 32, s.free_blocks);
            put(&mut bytes, 40, u64::from(s.inodes));
            put(&mut bytes, 48, u64::from(s.free_inodes));
            put(&mut bytes, 64, u64::from(s.name_max));
            put(&mut bytes, 72, u64::from(s.block_size));
        }
        None => {
            let magic = if path.starts_with("/proc") {
                0x9fa0
            } else {
                0x858458f6
            }; // proc, ramfs
            put(&mut bytes, 0, magic);
            put(&mut bytes, 8, 4096);
            put(&mut bytes, 64, 255);
            put(&mut bytes, 72, 4096);
        }
    }
    Ok(bytes)
}

pub fn statfs(call: &mut Call<'_>) -> SysResult {
    let path = path_argument(call, i64::from(f::AT_FDCWD), 0)?;
    write_bytes(call.arg(1), &statfs_of(&path)?)?;
    Ok(0)
}

pub fn fstatfs(call: &mut Call<'_>) -> SysResult {
    let file = call.process.files.lock().get(call.int(0))?;
    let path = String::from(file.path().unwrap_or("/"));
    write_bytes(call.arg(1), &statfs_of(&path)?)?;
    Ok(0)
}

fn make_symlink(target: &str, path: &str) -> SysResult {
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    vfs::ops::symlink(target, path).map_err(vfs_error)?;
    Ok(0)
}

pub fn symlink(call: &mut Call<'_>) -> SysResult {
    let target = read_path(call.arg(0))?;
    let path = path_argument(call, i64::from(f::AT_FDCWD), 1)?;
    make_symlink(&target, &path)
}

pub fn symlinkat(call: &mut Call<'_>) -> SysResult {
    let target = read_path(call.arg(0))?;
    let path = path_argument(call, call.int(1), 2)?;
    make_symlink(&target, &path)
}
