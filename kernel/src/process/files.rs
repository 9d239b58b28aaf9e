//! Descriptors: each process's table of open files, and what an open file is — a regular file
//! or directory of the VFS (initrd, native ext2), a pipe end, the terminal, or one of the
//! character devices under `/dev`.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use linux_abi::fcntl as o;

use super::pipe::{Pipe, PipeEnd};
use super::tty::Tty;
use super::Errno;
use crate::vfs;

/// Descriptors a process may have open (RLIMIT_NOFILE).
pub const MAX_FILES: usize = 1024;

/// What an open file is.
pub enum FileKind {
    /// A regular file: native ones are read and written by path; one a foreign file system
    /// serves (NetBSD's, through rump) is that kernel's open file, closed when this is dropped.
    Regular {
        path: String,
        foreign: Option<Arc<dyn vfs::foreign::ForeignFile>>,
    },
    Directory {
        path: String,
    },
    Pipe {
        pipe: Arc<Pipe>,
        end: PipeEnd,
    },
    Tty(Arc<Tty>),
    /// An IPv4 socket of one of the network stacks.
    Socket(Arc<super::syscalls::net::SocketFile>),
    /// A character device another kernel serves (`/dev/audio` through rump).
    Device {
        path: String,
        node: vfs::foreign::DeviceNode,
        device: Arc<dyn vfs::foreign::ForeignDevice>,
    },
    Null,
    Zero,
    Random,
    /// A /proc file: its text as of the open.
    Generated {
        path: String,
        data: Vec<u8>,
    },
}

/// One open file description (shared by `dup` and `fork`).
pub struct OpenFile {
    pub kind: FileKind,
    /// Access mode and status flags (O_APPEND, O_NONBLOCK ...).
    pub flags: AtomicU32,
    /// The file position; a sleeping lock, held across the file system call it positions (as
    /// Linux's `f_pos_lock`), so sharers of one description never read the same bytes twice.
    pub offset: crate::sched::mutex::Mutex<u64>,
}

impl OpenFile {
    pub fn new(kind: FileKind, flags: u32) -> Arc<Self> {
        if let FileKind::Pipe { pipe, end } = &kind {
            pipe.open_end(*end);
        }
        Arc::new(Self {
            kind,
            flags: AtomicU32::new(flags),
            offset: crate::sched::mutex::Mutex::new("file-offset", 0),
        })
    }

    pub fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    pub fn readable(&self) -> bool {
        self.status_flags() & o::O_ACCMODE != o::O_WRONLY
    }

    pub fn writable(&self) -> bool {
        self.status_flags() & o::O_ACCMODE != o::O_RDONLY
    }

    pub fn non_blocking(&self) -> bool {
        self.status_flags() & o::O_NONBLOCK != 0
    }

    /// The path this file was opened by, if any (fchdir, /proc).
    pub fn path(&self) -> Option<&str> {
        match &self.kind {
            FileKind::Regular { path, .. }
            | FileKind::Directory { path }
            | FileKind::Device { path, .. } => Some(path),
            FileKind::Tty(_) => Some("/dev/console"),
            FileKind::Null => Some("/dev/null"),
            FileKind::Zero => Some("/dev/zero"),
            FileKind::Random => Some("/dev/urandom"),
            FileKind::Generated { path, .. } => Some(path),
            FileKind::Pipe { .. } | FileKind::Socket(_) => None,
        }
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        if let FileKind::Pipe { pipe, end } = &self.kind {
            pipe.close_end(*end);
        }
    }
}

#[derive(Clone)]
struct Slot {
    file: Arc<OpenFile>,
    close_on_exec: bool,
}

/// A process's descriptors.
pub struct FileTable {
    slots: Vec<Option<Slot>>,
}

impl FileTable {
    pub fn new() -> Self {
        Self { slots: Vec::new() }
    }

    /// The same open files under the same numbers (fork).
    pub fn duplicate(&self) -> Self {
        Self {
            slots: self.slots.clone(),
        }
    }

    /// Installs `file` at the lowest free number >= `minimum`.
    pub fn install(
        &mut self,
        file: Arc<OpenFile>,
        close_on_exec: bool,
        minimum: usize,
    ) -> Result<usize, Errno> {
        let mut fd = minimum;
        while fd < self.slots.len() && self.slots[fd].is_some() {
            fd += 1;
        }
        if fd >= MAX_FILES {
            return Err(Errno::EMFILE);
        }
        if fd >= self.slots.len() {
            self.slots.resize(fd + 1, None);
        }
        self.slots[fd] = Some(Slot {
            file,
            close_on_exec,
        });
        Ok(fd)
    }

    /// Puts `file` at exactly `fd`, closing what was there (dup2).
    pub fn install_at(
        &mut self,
        fd: usize,
        file: Arc<OpenFile>,
        close_on_exec: bool,
    ) -> Result<Option<Arc<OpenFile>>, Errno> {
        if fd >= MAX_FILES {
            return Err(Errno::EBADF);
        }
        if fd >= self.slots.len() {
            self.slots.resize(fd + 1, None);
        }
        let old = self.slots[fd].replace(Slot {
            file,
            close_on_exec,
        });
        Ok(old.map(|s| s.file))
    }

    fn slot(&self, fd: i64) -> Result<&Slot, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|fd| self.slots.get(fd))
            .and_then(|s| s.as_ref())
            .ok_or(Errno::EBADF)
    }

    fn slot_mut(&mut self, fd: i64) -> Result<&mut Option<Slot>, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|fd| self.slots.get_mut(fd))
            .ok_or(Errno::EBADF)
    }

    pub fn get(&self, fd: i64) -> Result<Arc<OpenFile>, Errno> {
        self.slot(fd).map(|s| s.file.clone())
    }

    /// Removes `fd`; the caller drops the returned file outside the table's lock.
    pub fn close(&mut self, fd: i64) -> Result<Arc<OpenFile>, Errno> {
        self.slot_mut(fd)?
            .take()
            .map(|s| s.file)
            .ok_or(Errno::EBADF)
    }

    pub fn close_on_exec_flag(&self, fd: i64) -> Result<bool, Errno> {
        self.slot(fd).map(|s| s.close_on_exec)
    }

    pub fn set_close_on_exec(&mut self, fd: i64, value: bool) -> Result<(), Errno> {
        let slot = self.slot_mut(fd)?.as_mut().ok_or(Errno::EBADF)?;
        slot.close_on_exec = value;
        Ok(())
    }

    /// Removes the close-on-exec descriptors; the caller drops the returned files outside the
    /// table's lock (closing a foreign file sleeps).
    #[must_use = "drop the closed files after releasing the table's lock"]
    pub fn close_on_exec(&mut self) -> Vec<Arc<OpenFile>> {
        let mut closed = Vec::new();
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|s| s.close_on_exec) {
                closed.extend(slot.take().map(|s| s.file));
            }
        }
        closed
    }

    /// Removes every descriptor; the caller drops the returned files outside the lock.
    #[must_use = "drop the closed files after releasing the table's lock"]
    pub fn close_all(&mut self) -> Vec<Arc<OpenFile>> {
        self.slots.drain(..).flatten().map(|s| s.file).collect()
    }

    /// Open descriptor numbers (for /proc and poll checks).
    pub fn open_numbers(&self) -> Vec<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(fd, _)| fd)
            .collect()
    }
}

impl Default for FileTable {
    fn default() -> Self {
        Self::new()
    }
}

/// The character devices under `/dev`, by name.
pub const DEVICES: [(&str, u32, u32); 7] = [
    ("console", 5, 1),
    ("null", 1, 3),
    ("random", 1, 8),
    ("tty", 5, 0),
    ("ttyS0", 4, 64),
    ("urandom", 1, 9),
    ("zero", 1, 5),
];

/// The descriptor number `/dev/fd/N`, `/dev/stdin`, `/dev/stdout` or `/dev/stderr` names.
pub fn own_descriptor(path: &str) -> Option<i64> {
    match path {
        "/dev/stdin" => Some(0),
        "/dev/stdout" => Some(1),
        "/dev/stderr" => Some(2),
        _ => path.strip_prefix("/dev/fd/")?.parse().ok(),
    }
}

/// The device at an absolute, normalised path, if it names one (ours or a foreign kernel's).
pub fn device_at(path: &str) -> Option<(&'static str, u32, u32)> {
    let name = path.strip_prefix("/dev/")?;
    DEVICES
        .iter()
        .find(|(n, _, _)| *n == name)
        .copied()
        .or_else(|| foreign_device_at(path).map(|node| (node.name, node.major, node.minor)))
}

/// The foreign kernel's device at `path`, if one is registered there.
pub fn foreign_device_at(path: &str) -> Option<vfs::foreign::DeviceNode> {
    vfs::foreign::device(path.strip_prefix("/dev/")?)
}

/// Opens the device `name`.
pub fn open_device(name: &str) -> FileKind {
    match name {
        "null" => FileKind::Null,
        "zero" => FileKind::Zero,
        "random" | "urandom" => FileKind::Random,
        _ => FileKind::Tty(super::tty::console()),
    }
}

/// Linux `struct stat` fields (x86_64 layout via [`linux_abi`]).
pub struct FileStatus {
    pub device: u64,
    pub inode: u64,
    pub links: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: i64,
    pub blocks: i64,
    pub mtime: i64,
}

impl FileStatus {
    /// The 144-byte `struct stat`.
    pub fn to_bytes(&self) -> [u8; 144] {
        let mut b = [0u8; 144];
        b[0..8].copy_from_slice(&self.device.to_le_bytes());
        b[8..16].copy_from_slice(&self.inode.to_le_bytes());
        b[16..24].copy_from_slice(&self.links.to_le_bytes());
        b[24..28].copy_from_slice(&self.mode.to_le_bytes());
        b[28..32].copy_from_slice(&self.uid.to_le_bytes());
        b[32..36].copy_from_slice(&self.gid.to_le_bytes());
        b[40..48].copy_from_slice(&self.rdev.to_le_bytes());
        b[48..56].copy_from_slice(&self.size.to_le_bytes());
        b[56..64].copy_from_slice(&4096i64.to_le_bytes());
        b[64..72].copy_from_slice(&self.blocks.to_le_bytes());
        for time in [72, 88, 104] {
            b[time..time + 8].copy_from_slice(&self.mtime.to_le_bytes());
        }
        b
    }
}

/// A stable inode number for file systems without one (the initrd): a hash of the path.
fn path_inode(path: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash & 0xffff_ffff) | 1
}

fn device_number(source: &str) -> u64 {
    match source {
        "initrd" => 1,
        "vfs" => 2,
        other => 0x800 + (path_inode(other) & 0xff),
    }
}

fn kind_bits(kind: vfs::ops::Kind) -> u32 {
    match kind {
        vfs::ops::Kind::File => 0o100000,
        vfs::ops::Kind::Directory => 0o040000,
        vfs::ops::Kind::Symlink => 0o120000,
        vfs::ops::Kind::Other => 0o100000,
    }
}

/// Converts the VFS's answer for `path`.
pub fn status_of(path: &str, stat: &vfs::ops::Stat) -> FileStatus {
    let size = if stat.kind == vfs::ops::Kind::Symlink {
        stat.link_target
            .as_ref()
            .map_or(stat.size, |t| t.len() as u64)
    } else {
        stat.size
    };
    FileStatus {
        device: device_number(&stat.source),
        inode: stat
            .inode
            .map_or_else(|| path_inode(path), |(i, _)| u64::from(i)),
        links: stat.inode.map_or(
            if stat.kind == vfs::ops::Kind::Directory {
                2
            } else {
                1
            },
            |(_, l)| u64::from(l),
        ),
        mode: kind_bits(stat.kind) | (stat.mode & 0o7777),
        uid: stat.uid as u32,
        gid: stat.gid as u32,
        rdev: 0,
        size: size as i64,
        blocks: (size.div_ceil(4096) * 8) as i64,
        mtime: stat.mtime,
    }
}

/// `stat` of a device node.
pub fn device_status(name: &str, major: u32, minor: u32) -> FileStatus {
    FileStatus {
        device: 3,
        inode: path_inode(name),
        links: 1,
        mode: 0o020666,
        uid: 0,
        gid: 0,
        rdev: u64::from(major) << 8 | u64::from(minor),
        size: 0,
        blocks: 0,
        mtime: 0,
    }
}

/// `stat` of an open file.
pub fn open_file_status(file: &OpenFile) -> Result<FileStatus, Errno> {
    match &file.kind {
        FileKind::Regular {
            path,
            foreign: Some(foreign),
        } => {
            let stat = foreign.stat().map_err(|e| Errno::from_vfs(&e))?;
            Ok(status_of(path, &stat))
        }
        FileKind::Regular { path, .. }
        | FileKind::Directory { path }
        | FileKind::Generated { path, .. } => stat_path(path, true),
        FileKind::Pipe { pipe, .. } => Ok(pipe_status(pipe)),
        FileKind::Socket(socket) => Ok(FileStatus {
            mode: 0o140777,
            inode: Arc::as_ptr(socket) as u64 & 0xffff_ffff,
            ..pipe_status_blank()
        }),
        FileKind::Tty(_) => Ok(device_status("console", 5, 1)),
        FileKind::Device { node, .. } => Ok(device_status(node.name, node.major, node.minor)),
        FileKind::Null => Ok(device_status("null", 1, 3)),
        FileKind::Zero => Ok(device_status("zero", 1, 5)),
        FileKind::Random => Ok(device_status("urandom", 1, 9)),
    }
}

fn pipe_status_blank() -> FileStatus {
    FileStatus {
        device: 4,
        inode: 0,
        links: 1,
        mode: 0,
        uid: 0,
        gid: 0,
        rdev: 0,
        size: 0,
        blocks: 0,
        mtime: 0,
    }
}

/// `stat` of a pipe.
pub fn pipe_status(pipe: &Pipe) -> FileStatus {
    FileStatus {
        inode: pipe.id(),
        mode: 0o010600,
        ..pipe_status_blank()
    }
}

fn own_pid() -> u32 {
    super::current().map_or(0, |p| p.pid)
}

fn synthetic_directory_status(inode: u64) -> FileStatus {
    FileStatus {
        device: 3,
        inode,
        links: 2,
        mode: 0o040555,
        uid: 0,
        gid: 0,
        rdev: 0,
        size: 0,
        blocks: 0,
        mtime: 0,
    }
}

/// A block device under /dev: (name, major, minor).
pub fn block_device_at(path: &str) -> Option<(String, u32, u32)> {
    let name = path.strip_prefix("/dev/")?;
    super::procfs::block_devices()
        .into_iter()
        .find(|(n, _, _)| n == name)
}

/// `stat` for `path` (devices and /proc included); `follow` false gives the link itself.
pub fn stat_path(path: &str, follow: bool) -> Result<FileStatus, Errno> {
    if path == "/dev/fd" {
        return Ok(synthetic_directory_status(path_inode(path)));
    }
    if let Some(fd) = own_descriptor(path) {
        let process = super::current().ok_or(Errno::ENOENT)?;
        let file = process.files.lock().get(fd).map_err(|_| Errno::ENOENT)?;
        return open_file_status(&file);
    }
    if let Some((name, major, minor)) = device_at(path) {
        return Ok(device_status(name, major, minor));
    }
    if let Some((name, major, minor)) = block_device_at(path) {
        let mut status = device_status(&name, major, minor);
        status.mode = 0o060660;
        return Ok(status);
    }
    if path == "/proc" || path.starts_with("/proc/") {
        return match super::procfs::lookup(path, own_pid())? {
            super::procfs::Node::Directory => Ok(synthetic_directory_status(path_inode(path))),
            super::procfs::Node::File(_) => Ok(FileStatus {
                mode: 0o100444,
                links: 1,
                ..synthetic_directory_status(path_inode(path))
            }),
            super::procfs::Node::Link(target) if !follow => Ok(FileStatus {
                mode: 0o120777,
                links: 1,
                size: target.len() as i64,
                ..synthetic_directory_status(path_inode(path))
            }),
            super::procfs::Node::Link(target) => stat_path(&target, true),
        };
    }
    if path == "/dev" {
        return Ok(FileStatus {
            mode: 0o040755,
            ..synthetic_directory_status(2)
        });
    }
    if !follow {
        if let Some(stat) = lstat(path)? {
            return Ok(status_of(path, &stat));
        }
    }
    let stat = vfs::ops::stat(path).map_err(|e| Errno::from_vfs(&e))?;
    Ok(status_of(path, &stat))
}

/// The entry for `path` itself if it is a symbolic link (`None` otherwise).
pub fn lstat(path: &str) -> Result<Option<vfs::ops::Stat>, Errno> {
    if path.starts_with("/proc/") {
        if let Ok(super::procfs::Node::Link(target)) = super::procfs::lookup(path, own_pid()) {
            // /proc/self reads as the bare number, as on Linux.
            let target = target
                .strip_prefix("/proc/")
                .filter(|_| path == "/proc/self")
                .map_or(target.clone(), String::from);
            return Ok(Some(vfs::ops::Stat {
                kind: vfs::ops::Kind::Symlink,
                size: 0,
                mode: 0o777,
                uid: 0,
                gid: 0,
                mtime: 0,
                inode: None,
                link_target: Some(target),
                source: String::from("proc"),
            }));
        }
    }
    if path.starts_with("/proc/") || path.starts_with("/dev/") {
        return Ok(None);
    }
    Ok(vfs::ops::lstat(path)
        .ok()
        .filter(|stat| stat.kind == vfs::ops::Kind::Symlink))
}

/// Directory entries for `getdents64`: ".", "..", then the VFS listing (and /dev's devices).
pub fn directory_entries(path: &str) -> Result<Vec<(u64, u8, String)>, Errno> {
    let mut out = Vec::new();
    out.push((path_inode(path), 4, String::from(".")));
    out.push((
        path_inode(vfs::path::split(path).map_or("/", |(d, _)| if d.is_empty() { "/" } else { d })),
        4,
        String::from(".."),
    ));
    if path == "/dev" {
        for (name, _, _) in DEVICES {
            out.push((path_inode(name), 2, String::from(name)));
        }
        for node in vfs::foreign::devices() {
            out.push((path_inode(node.name), 2, String::from(node.name)));
        }
        for (name, _, _) in super::procfs::block_devices() {
            out.push((path_inode(&name), 6, name));
        }
        return Ok(out);
    }
    if path == "/proc" || path.starts_with("/proc/") {
        for (name, kind) in super::procfs::list(path, own_pid())? {
            out.push((path_inode(&vfs::path::join(path, &name)), kind, name));
        }
        return Ok(out);
    }
    let entries = vfs::ops::read_dir(path).map_err(|e| Errno::from_vfs(&e))?;
    for entry in entries {
        let full = vfs::path::join(path, &entry.name);
        let inode = entry
            .stat
            .inode
            .map_or_else(|| path_inode(&full), |(i, _)| u64::from(i));
        let kind = match entry.stat.kind {
            vfs::ops::Kind::File => 8,
            vfs::ops::Kind::Directory => 4,
            vfs::ops::Kind::Symlink => 10,
            vfs::ops::Kind::Other => 0,
        };
        out.push((inode, kind, entry.name));
    }
    for synthetic in ["dev", "proc"] {
        if path == "/" && !out.iter().any(|(_, _, n)| n == synthetic) {
            out.push((path_inode(synthetic), 4, String::from(synthetic)));
        }
    }
    Ok(out)
}
