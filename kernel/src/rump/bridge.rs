//! The bridge: file systems NetBSD mounts in the rump kernel, served to the VFS (and so to the
//! shell's file commands and to processes) as foreign mounts (`crate::vfs::foreign`).
//!
//! `mount -t rump-ext2fs /dev/vdb /mnt/r` (the system call or the shell) mounts with NetBSD's
//! ext2fs at the same path inside the rump kernel, whose own namespace mirrors ours there; every
//! operation below the mount point becomes the rump kernel's system call on that path, run on a
//! pooled client thread ([`super::call_pooled`]), and NetBSD's answers — `struct stat`, the
//! `getdents` records, errno values — are converted to the VFS's types and Linux's numbers. An
//! open file is a rump descriptor, closed when its last holder drops it (a killed process
//! included), so nothing stays open in the rump kernel and its unmount is not refused.

use alloc::ffi::CString;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::{c_char, c_int, c_void};
use core::sync::atomic::{AtomicUsize, Ordering};

use rump_api::*;

use crate::vfs::foreign::{ForeignFile, ForeignFs, OpenMode, Usage};
use crate::vfs::ops::{Entry, Kind, Stat};
use crate::vfs::{Result, VfsError};

/// The NetBSD file-system types offered as `rump-NAME` mount types.
const TYPES: [(&str, &str); 2] = [("rump-ext2fs", "ext2fs"), ("rump-ffs", "ffs")];

/// Rump descriptors the bridge holds open now (for `rump` status and the leak check).
static OPEN_FILES: AtomicUsize = AtomicUsize::new(0);

/// Offers the `rump-*` mount types to the VFS (called once the rump kernel is up).
pub fn register() {
    crate::vfs::foreign::register_type("rump-ext2fs", |source, at, read_only| {
        mount("ext2fs", source, at, read_only)
    });
    crate::vfs::foreign::register_type("rump-ffs", |source, at, read_only| {
        mount("ffs", source, at, read_only)
    });
}

/// The open rump descriptors held for the VFS.
pub fn open_files() -> usize {
    OPEN_FILES.load(Ordering::Relaxed)
}

/// The rump mount type behind VFS type `name`, if it is one of ours.
pub fn netbsd_type(name: &str) -> Option<&'static str> {
    TYPES
        .iter()
        .find(|(ours, _)| *ours == name)
        .map(|(_, t)| *t)
}

fn errno() -> i32 {
    crate::sched::current_thread()
        .foreign_errno
        .load(Ordering::Relaxed)
}

/// The VFS error for NetBSD errno `value` from an operation on `what`.
fn error_for(value: i32, what: &str) -> VfsError {
    match value {
        2 => VfsError::NotFound,
        20 => VfsError::NotDirectory,
        21 => VfsError::IsDirectory,
        30 => VfsError::ReadOnly,
        17 => VfsError::AlreadyExists,
        66 => VfsError::DirectoryNotEmpty,
        18 => VfsError::CrossDevice,
        16 => VfsError::Busy("in use in the rump kernel"),
        28 => VfsError::NoSpace,
        62 => VfsError::TooManySymlinks,
        _ => VfsError::Foreign {
            errno: linux_errno(value),
            text: alloc::format!(
                "{what}: {} (NetBSD errno {value})",
                errno_name(value).unwrap_or("unknown error")
            ),
        },
    }
}

/// The calling client thread's last rump error, as a VFS error.
fn failure(what: &str) -> VfsError {
    error_for(errno(), what)
}

fn check(result: c_int, what: &str) -> Result<c_int> {
    if result < 0 {
        Err(failure(what))
    } else {
        Ok(result)
    }
}

fn c_path(path: &str) -> Result<CString> {
    CString::new(path).map_err(|_| VfsError::InvalidArgument("a path with a NUL byte"))
}

/// Runs `work` on a pooled rump client thread.
pub(super) fn run<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match super::call_pooled(work) {
        Ok(result) => result,
        Err(failure) => Err(VfsError::Foreign {
            errno: linux_abi::errno::EIO,
            text: match failure {
                super::CallFailure::Halted => alloc::format!(
                    "the rump kernel has halted ({})",
                    super::halt_reason().unwrap_or("no reason recorded")
                ),
                _ => String::from("no rump client thread for the call"),
            },
        }),
    }
}

fn convert_stat(stat: &rump_api::Stat, source: &str, link_target: Option<String>) -> Stat {
    let kind = match stat.mode & S_IFMT {
        S_IFREG => Kind::File,
        S_IFDIR => Kind::Directory,
        S_IFLNK => Kind::Symlink,
        _ => Kind::Other,
    };
    Stat {
        kind,
        size: u64::try_from(stat.size).unwrap_or(0),
        mode: stat.mode & 0o7777,
        uid: u64::from(stat.uid),
        gid: u64::from(stat.gid),
        mtime: stat.mtime[0],
        inode: Some((
            u32::try_from(stat.ino).unwrap_or(u32::MAX),
            u16::try_from(stat.nlink).unwrap_or(u16::MAX),
        )),
        link_target,
        source: String::from(source),
    }
}

/// `stat` (or `lstat`, with the link's target) of rump path `path`; on a client thread.
fn stat_on_client(path: &str, follow: bool, source: &str) -> Result<Stat> {
    let name = c_path(path)?;
    let mut stat = rump_api::Stat::default();
    // SAFETY: NUL-terminated path; `stat` is a correctly sized and aligned `struct stat`.
    let result = unsafe {
        if follow {
            rump___sysimpl_stat50(name.as_ptr(), &mut stat)
        } else {
            rump___sysimpl_lstat50(name.as_ptr(), &mut stat)
        }
    };
    check(result, path)?;
    let target = if stat.mode & S_IFMT == S_IFLNK {
        let mut buffer = vec![0u8; 4096];
        // SAFETY: the buffer is writable for its length; readlink does not add a NUL.
        let length = unsafe {
            rump___sysimpl_readlink(
                name.as_ptr(),
                buffer.as_mut_ptr() as *mut c_char,
                buffer.len(),
            )
        };
        if length < 0 {
            return Err(failure(path));
        }
        buffer.truncate(length as usize);
        Some(String::from_utf8_lossy(&buffer).into_owned())
    } else {
        None
    };
    Ok(convert_stat(&stat, source, target))
}

/// Names in one `getdents` buffer of NetBSD `struct dirent` records (`d_fileno` u64,
/// `d_reclen` u16, `d_namlen` u16, `d_type` u8, then the name); stops at a malformed record.
fn dirent_names(records: &[u8], names: &mut Vec<String>) {
    let mut at = 0usize;
    while at + 13 <= records.len() {
        let record = usize::from(u16::from_le_bytes([records[at + 8], records[at + 9]]));
        let length = usize::from(u16::from_le_bytes([records[at + 10], records[at + 11]]));
        if record < 13 || at + 13 + length > records.len() || at + record > records.len() {
            break;
        }
        names.push(String::from_utf8_lossy(&records[at + 13..at + 13 + length]).into_owned());
        at += record;
    }
}

/// A NetBSD file system mounted in the rump kernel at `root` (the same path as in the VFS).
pub struct RumpFs {
    root: String,
    type_name: &'static str,
    source: String,
    read_only: bool,
    /// The etfs key registered for a kernel disk, removed at unmount.
    etfs_device: Option<String>,
}

impl RumpFs {
    fn full(&self, relative: &str) -> String {
        if relative.is_empty() {
            self.root.clone()
        } else {
            alloc::format!("{}/{relative}", self.root.trim_end_matches('/'))
        }
    }

    /// Runs `work` on a client thread with the rump path of `relative` and the source name.
    fn on_path<T: Send + 'static>(
        &self,
        relative: &str,
        work: impl FnOnce(&str, &str) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (path, source) = (self.full(relative), self.source.clone());
        run(move || work(&path, &source))
    }
}

/// Mounts `source` (`/dev/vdb`: a kernel disk through etfs; `/dev/sd0a`: a disk a rump driver
/// attached) with NetBSD's `netbsd_type` at `at`.
fn mount(
    netbsd_type: &'static str,
    source: &str,
    at: &str,
    read_only: bool,
) -> Result<Arc<dyn ForeignFs>> {
    let kernel_disk = source
        .strip_prefix("/dev/")
        .filter(|name| crate::block::find(name).is_some())
        .map(String::from);
    let device = kernel_disk.clone().unwrap_or_else(|| String::from(source));
    let (target, fs_type) = (String::from(at), netbsd_type);
    let mounted = run(move || {
        super::fs::mount_as(fs_type, &device, &target, !read_only)
            .map_err(|text| mount_error(&text))
    });
    mounted?;
    let type_name = TYPES
        .iter()
        .find(|(_, t)| *t == netbsd_type)
        .map_or("rump", |(ours, _)| ours);
    Ok(Arc::new(RumpFs {
        root: String::from(at),
        type_name,
        source: String::from(source),
        read_only,
        etfs_device: kernel_disk,
    }))
}

/// A failed mount's message as a VFS error (the message keeps NetBSD's errno name).
fn mount_error(text: &str) -> VfsError {
    let errno = text
        .rsplit("NetBSD errno ")
        .next()
        .and_then(|rest| rest.trim_end_matches(')').parse::<i32>().ok());
    match errno {
        Some(2) => VfsError::NotFound,
        Some(16) => VfsError::Busy("in use in the rump kernel"),
        Some(value) => VfsError::Foreign {
            errno: linux_errno(value),
            text: String::from(text),
        },
        None => VfsError::Foreign {
            errno: linux_abi::errno::EINVAL,
            text: String::from(text),
        },
    }
}

impl ForeignFs for RumpFs {
    fn type_name(&self) -> &str {
        self.type_name
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn stat(&self, relative: &str, follow: bool) -> Result<Stat> {
        self.on_path(relative, move |path, source| {
            stat_on_client(path, follow, source)
        })
    }

    fn read_dir(&self, relative: &str) -> Result<Vec<Entry>> {
        self.on_path(relative, |path, source| {
            let name = c_path(path)?;
            // SAFETY: NUL-terminated path.
            let fd = unsafe {
                rump___sysimpl_open(name.as_ptr(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
            };
            let fd = check(fd, path)?;
            let mut names = Vec::new();
            let mut buffer = vec![0u8; 8192];
            let listed = loop {
                // SAFETY: the buffer is writable for its length; `fd` came from open above.
                let filled = unsafe {
                    rump___sysimpl_getdents30(fd, buffer.as_mut_ptr() as *mut c_char, buffer.len())
                };
                match filled {
                    0 => break Ok(()),
                    n if n < 0 => break Err(failure(path)),
                    n => dirent_names(&buffer[..n as usize], &mut names),
                }
            };
            // SAFETY: `fd` came from open above.
            unsafe { rump___sysimpl_close(fd) };
            listed?;
            // ext2fs reports DT_UNKNOWN in its records: the types come from lstat.
            let mut entries = Vec::with_capacity(names.len());
            for entry in names.into_iter().filter(|n| n != "." && n != "..") {
                let full = alloc::format!("{}/{entry}", path.trim_end_matches('/'));
                match stat_on_client(&full, false, source) {
                    Ok(stat) => entries.push(Entry { name: entry, stat }),
                    Err(VfsError::NotFound) => {} // removed meanwhile
                    Err(error) => return Err(error),
                }
            }
            Ok(entries)
        })
    }

    fn open(&self, relative: &str, mode: OpenMode) -> Result<Arc<dyn ForeignFile>> {
        let source = self.source.clone();
        let fd = self.on_path(relative, move |path, _| {
            let mut flags = if mode.write { O_RDWR } else { O_RDONLY } | O_CLOEXEC;
            if mode.create {
                flags |= O_CREAT;
            }
            if mode.truncate {
                flags |= O_TRUNC;
            }
            if mode.exclusive {
                flags |= O_EXCL;
            }
            let name = c_path(path)?;
            // SAFETY: NUL-terminated path.
            let fd = unsafe { rump___sysimpl_open(name.as_ptr(), flags, mode.permissions) };
            let fd = check(fd, path)?;
            let mut stat = rump_api::Stat::default();
            // SAFETY: `stat` is a correctly sized `struct stat`; `fd` came from open above.
            let result = unsafe { rump___sysimpl_fstat50(fd, &mut stat) };
            if result == 0 && stat.mode & S_IFMT == S_IFDIR {
                // SAFETY: as above.
                unsafe { rump___sysimpl_close(fd) };
                return Err(VfsError::IsDirectory);
            }
            Ok(fd)
        })?;
        OPEN_FILES.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(RumpFile {
            fd,
            path: self.full(relative),
            source,
        }))
    }

    fn mkdir(&self, relative: &str, permissions: u32) -> Result<()> {
        self.on_path(relative, move |path, _| {
            let name = c_path(path)?;
            // SAFETY: NUL-terminated path.
            check(
                unsafe { rump___sysimpl_mkdir(name.as_ptr(), permissions) },
                path,
            )
            .map(drop)
        })
    }

    fn remove(&self, relative: &str) -> Result<()> {
        self.on_path(relative, |path, source| {
            let directory = stat_on_client(path, false, source)?.kind == Kind::Directory;
            let name = c_path(path)?;
            // SAFETY: NUL-terminated path.
            let result = unsafe {
                if directory {
                    rump___sysimpl_rmdir(name.as_ptr())
                } else {
                    rump___sysimpl_unlink(name.as_ptr())
                }
            };
            check(result, path).map(drop)
        })
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let to = self.full(to);
        self.on_path(from, move |from, _| {
            let (old, new) = (c_path(from)?, c_path(&to)?);
            // SAFETY: NUL-terminated paths.
            check(
                unsafe { rump___sysimpl_rename(old.as_ptr(), new.as_ptr()) },
                from,
            )
            .map(drop)
        })
    }

    fn truncate(&self, relative: &str, size: u64) -> Result<()> {
        let size = i64::try_from(size).map_err(|_| VfsError::InvalidArgument("size too large"))?;
        self.on_path(relative, move |path, _| {
            let name = c_path(path)?;
            // SAFETY: NUL-terminated path.
            check(
                unsafe { rump___sysimpl_truncate(name.as_ptr(), size) },
                path,
            )
            .map(drop)
        })
    }

    fn chmod(&self, relative: &str, permissions: u32) -> Result<()> {
        self.on_path(relative, move |path, _| {
            let name = c_path(path)?;
            // SAFETY: NUL-terminated path.
            check(
                unsafe { rump___sysimpl_chmod(name.as_ptr(), permissions) },
                path,
            )
            .map(drop)
        })
    }

    fn set_times(&self, relative: &str, follow: bool, atime: i64, mtime: i64) -> Result<()> {
        self.on_path(relative, move |path, _| {
            let name = c_path(path)?;
            let times = [
                Timespec {
                    seconds: atime,
                    nanoseconds: 0,
                },
                Timespec {
                    seconds: mtime,
                    nanoseconds: 0,
                },
            ];
            let flags = if follow { 0 } else { AT_SYMLINK_NOFOLLOW };
            // SAFETY: NUL-terminated path; `times` holds the two timespecs utimensat reads.
            let result =
                unsafe { rump___sysimpl_utimensat(AT_FDCWD, name.as_ptr(), times.as_ptr(), flags) };
            check(result, path).map(drop)
        })
    }

    fn symlink(&self, target: &str, relative: &str) -> Result<()> {
        let target = c_path(target)?;
        self.on_path(relative, move |path, _| {
            let name = c_path(path)?;
            // SAFETY: NUL-terminated strings.
            check(
                unsafe { rump___sysimpl_symlink(target.as_ptr(), name.as_ptr()) },
                path,
            )
            .map(drop)
        })
    }

    fn usage(&self) -> Result<Usage> {
        self.on_path("", |path, _| {
            let name = c_path(path)?;
            // u64 words: aligned for the structure's head.
            let mut buffer = vec![0u64; STATVFS_BUFFER / 8];
            // SAFETY: NUL-terminated path; the buffer is larger than `struct statvfs`.
            let result = unsafe {
                rump___sysimpl_statvfs1(name.as_ptr(), buffer.as_mut_ptr() as *mut c_void, ST_WAIT)
            };
            check(result, path)?;
            let word = |index: usize| buffer[index];
            Ok(Usage {
                block_size: u32::try_from(word(2)).unwrap_or(4096), // f_frsize
                blocks: word(4),
                free_blocks: word(5),
                available_blocks: word(6),
                files: word(8),
                free_files: word(9),
                name_max: u32::try_from(word(18)).unwrap_or(255),
            })
        })
    }

    fn sync(&self) -> Result<()> {
        // Each file's data is synced with fsync; the mount's metadata with a sync of the tree.
        run(|| {
            // SAFETY: takes no arguments.
            unsafe { rump___sysimpl_sync() };
            Ok(())
        })
    }

    fn unmount(&self) -> Result<()> {
        let device = self.etfs_device.clone();
        self.on_path("", move |path, _| {
            super::fs::unmount(path, device.as_deref()).map_err(|text| mount_error(&text))
        })
    }
}

/// An open rump descriptor.
struct RumpFile {
    fd: c_int,
    path: String,
    source: String,
}

impl ForeignFile for RumpFile {
    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        let (fd, path) = (self.fd, self.path.clone());
        let offset = i64::try_from(offset).map_err(|_| VfsError::InvalidArgument("offset"))?;
        let length = buffer.len();
        // The client thread reads into its own buffer: the caller's may be on a stack it
        // cannot see (and is only borrowed here).
        let data = run(move || {
            let mut data = vec![0u8; length];
            // SAFETY: `data` is writable for its length; `fd` is open until the file drops.
            let count = unsafe {
                rump___sysimpl_pread(fd, data.as_mut_ptr() as *mut c_void, data.len(), offset)
            };
            if count < 0 {
                return Err(failure(&path));
            }
            data.truncate(count as usize);
            Ok(data)
        })?;
        buffer[..data.len()].copy_from_slice(&data);
        Ok(data.len())
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> Result<usize> {
        let (fd, path, data) = (self.fd, self.path.clone(), Vec::from(data));
        let offset = i64::try_from(offset).map_err(|_| VfsError::InvalidArgument("offset"))?;
        run(move || {
            // SAFETY: `data` is readable for its length; `fd` is open until the file drops.
            let count = unsafe {
                rump___sysimpl_pwrite(fd, data.as_ptr() as *const c_void, data.len(), offset)
            };
            if count < 0 {
                return Err(failure(&path));
            }
            Ok(count as usize)
        })
    }

    fn stat(&self) -> Result<Stat> {
        let (fd, path, source) = (self.fd, self.path.clone(), self.source.clone());
        run(move || {
            let mut stat = rump_api::Stat::default();
            // SAFETY: `stat` is a correctly sized `struct stat`; `fd` is open.
            check(unsafe { rump___sysimpl_fstat50(fd, &mut stat) }, &path)?;
            Ok(convert_stat(&stat, &source, None))
        })
    }

    fn truncate(&self, size: u64) -> Result<()> {
        let (fd, path) = (self.fd, self.path.clone());
        let size = i64::try_from(size).map_err(|_| VfsError::InvalidArgument("size too large"))?;
        // SAFETY: `fd` is open until the file drops.
        run(move || check(unsafe { rump___sysimpl_ftruncate(fd, size) }, &path).map(drop))
    }

    fn sync(&self) -> Result<()> {
        let (fd, path) = (self.fd, self.path.clone());
        // SAFETY: `fd` is open until the file drops.
        run(move || check(unsafe { rump___sysimpl_fsync(fd) }, &path).map(drop))
    }
}

impl Drop for RumpFile {
    fn drop(&mut self) {
        let fd = self.fd;
        if !crate::sched::may_sleep() {
            // Dropped under a spin lock: a pooled thread closes it later.
            // SAFETY: `fd` came from open and nothing uses it after this.
            super::call_detached(move || unsafe {
                rump___sysimpl_close(fd);
                OPEN_FILES.fetch_sub(1, Ordering::Relaxed);
            });
            return;
        }
        // SAFETY: `fd` came from open and nothing uses it after this.
        let closed = run(move || Ok(unsafe { rump___sysimpl_close(fd) }));
        if !matches!(closed, Ok(0)) {
            log::warn!("rump: closing {} (descriptor {fd}) failed", self.path);
        }
        OPEN_FILES.fetch_sub(1, Ordering::Relaxed);
    }
}
