//! Path operations across the mount table: stat, list, read, write, mkdir, remove, rename.
//!
//! Every operation normalises its path, finds the file system that answers for it
//! ([`mount::locate`]) and runs there: the read-only initrd and the synthetic directories in
//! the root, or an ext2 mount under its lock. Symbolic links are followed inside one file
//! system only (an absolute ext2 link target is taken from that file system's root).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use ext2::{FileType, Owner};

use super::error::{Result, VfsError};
use super::foreign;
use super::mount::{self, Ext2, Location, SYNTHETIC};
use super::path;

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Directory,
    Symlink,
    /// Device node, FIFO or socket (listed, not opened).
    Other,
}

impl core::fmt::Display for Kind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Kind::File => "file",
            Kind::Directory => "directory",
            Kind::Symlink => "symlink",
            Kind::Other => "special file",
        })
    }
}

/// What `stat` reports, whichever file system answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    pub kind: Kind,
    pub size: u64,
    /// Permission bits (`0o7777`).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Seconds since the Unix epoch.
    pub mtime: i64,
    /// Inode number and link count (ext2 only).
    pub inode: Option<(u32, u16)>,
    /// Target of a symbolic link (listings only: `stat` follows links).
    pub link_target: Option<String>,
    /// Which file system answered: "initrd", "vfs" (synthetic) or the device name.
    pub source: String,
}

/// One directory entry.
#[derive(Clone, Debug)]
pub struct Entry {
    pub name: String,
    pub stat: Stat,
}

fn synthetic_directory() -> Stat {
    Stat {
        kind: Kind::Directory,
        size: 0,
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime: 0,
        inode: None,
        link_target: None,
        source: String::from("vfs"),
    }
}

fn initrd_stat(stat: initrd::Stat<'_>) -> Stat {
    Stat {
        kind: match stat.kind {
            initrd::NodeKind::File => Kind::File,
            initrd::NodeKind::Directory => Kind::Directory,
            initrd::NodeKind::Symlink => Kind::Symlink,
        },
        size: stat.size,
        mode: stat.mode,
        uid: stat.uid,
        gid: stat.gid,
        mtime: stat.mtime,
        inode: None,
        link_target: stat.link_target.map(String::from),
        source: String::from("initrd"),
    }
}

fn ext2_stat(fs: &mut Ext2, inode: u32, device: &str) -> Result<Stat> {
    let metadata = fs.metadata(inode)?;
    let kind = match metadata.file_type {
        FileType::Regular => Kind::File,
        FileType::Directory => Kind::Directory,
        FileType::Symlink => Kind::Symlink,
        _ => Kind::Other,
    };
    let link_target = match kind {
        Kind::Symlink => Some(String::from_utf8_lossy(&fs.read_link(inode)?).into_owned()),
        _ => None,
    };
    Ok(Stat {
        kind,
        size: metadata.size,
        mode: u32::from(metadata.permissions),
        uid: u64::from(metadata.uid),
        gid: u64::from(metadata.gid),
        mtime: metadata.mtime.seconds,
        inode: Some((inode, metadata.links)),
        link_target,
        source: String::from(device),
    })
}

fn is_synthetic(normalised: &str) -> bool {
    normalised == "/" || SYNTHETIC.contains(&normalised)
}

/// `stat` of a path, following symbolic links.
pub fn stat(path: &str) -> Result<Stat> {
    let path = path::normalise(path)?;
    match mount::locate(&path) {
        Location::Mounted { mount, relative } => match mount.foreign() {
            Some(fs) => fs.stat(&relative, true),
            None => mount.with(|fs| {
                let inode = fs.resolve(relative.as_bytes(), true)?;
                ext2_stat(fs, inode, &mount.device)
            }),
        },
        Location::Root => match crate::rootfs::root().map(|root| root.stat(&path)) {
            Some(Ok(stat)) => Ok(initrd_stat(stat)),
            _ if is_synthetic(&path) => Ok(synthetic_directory()),
            Some(Err(error)) => Err(error.into()),
            None => Err(VfsError::NotFound),
        },
    }
}

/// The entries of a directory (without `.` and `..`), sorted by name; mount points and
/// synthetic directories appear in their parent's listing.
pub fn read_dir(path: &str) -> Result<Vec<Entry>> {
    let path = path::normalise(path)?;
    let mut entries: BTreeMap<String, Stat> = BTreeMap::new();
    match mount::locate(&path) {
        Location::Mounted { mount, relative } if mount.foreign().is_some() => {
            let fs = mount.foreign().expect("checked by the guard");
            for entry in fs.read_dir(&relative)? {
                if entry.name != "." && entry.name != ".." {
                    entries.insert(entry.name, entry.stat);
                }
            }
        }
        Location::Mounted { mount, relative } => mount.with(|fs| {
            let directory = fs.resolve(relative.as_bytes(), true)?;
            for entry in fs.read_dir(directory)? {
                if entry.name == b"." || entry.name == b".." {
                    continue;
                }
                let name = String::from_utf8_lossy(&entry.name).into_owned();
                entries.insert(name, ext2_stat(fs, entry.inode, &mount.device)?);
            }
            Ok(())
        })?,
        Location::Root => {
            match crate::rootfs::root().map(|root| root.read_dir(&path)) {
                Some(Ok(children)) => {
                    for child in children {
                        entries.insert(child.name().into(), initrd_stat(child.stat()));
                    }
                }
                _ if is_synthetic(&path) => {}
                Some(Err(error)) => return Err(error.into()),
                None => return Err(VfsError::NotFound),
            }
            for synthetic in SYNTHETIC {
                if let Some((parent, name)) = path::split(synthetic) {
                    if parent == path && !entries.contains_key(name) {
                        entries.insert(name.into(), synthetic_directory());
                    }
                }
            }
        }
    }
    // A mount point shows its mounted root (taken after the parent's lock is released).
    for point in mount::mount_points_in(&path) {
        if let (Some((_, name)), Ok(stat)) = (path::split(&point), stat(&point)) {
            entries.insert(name.into(), stat);
        }
    }
    Ok(entries
        .into_iter()
        .map(|(name, stat)| Entry { name, stat })
        .collect())
}

/// Finds the regular file at `path` and calls `body` with a function that reads it at an
/// offset into a buffer (returning the bytes read, 0 at the end).
fn with_reader<T>(
    path: &str,
    body: impl FnOnce(&mut dyn FnMut(u64, &mut [u8]) -> Result<usize>) -> Result<T>,
) -> Result<T> {
    let path = path::normalise(path)?;
    match mount::locate(&path) {
        Location::Mounted { mount, relative } if mount.foreign().is_some() => {
            let fs = mount.foreign().expect("checked by the guard");
            let file = fs.open(&relative, foreign::OpenMode::default())?;
            body(&mut |at, buffer| file.read_at(at, buffer))
        }
        Location::Mounted { mount, relative } => mount.with(|fs| {
            let inode = fs.resolve(relative.as_bytes(), true)?;
            match fs.metadata(inode)?.file_type {
                FileType::Regular => {}
                FileType::Directory => return Err(VfsError::IsDirectory),
                _ => return Err(VfsError::InvalidArgument("not a regular file")),
            }
            body(&mut |at, buffer| Ok(fs.read(inode, at, buffer)?))
        }),
        Location::Root => {
            // Through `read`, not the archive bytes: a sparse file has holes to fill.
            let node = match crate::rootfs::root().map(|root| root.resolve(&path)) {
                Some(Ok(node)) => node,
                _ if is_synthetic(&path) => return Err(VfsError::IsDirectory),
                Some(Err(error)) => return Err(error.into()),
                None => return Err(VfsError::NotFound),
            };
            body(&mut |at, buffer| Ok(node.read(at, buffer)?))
        }
    }
}

/// Calls `each` with successive pieces of the file at `path` from `offset`, at most `limit`
/// bytes in all; returns the number of bytes delivered.
pub fn read_chunks(
    path: &str,
    offset: u64,
    limit: u64,
    mut each: impl FnMut(&[u8]),
) -> Result<u64> {
    const CHUNK: usize = 128 * 1024;
    let mut buffer = alloc::vec![0u8; limit.min(CHUNK as u64) as usize];
    with_reader(path, |read| {
        let mut done = 0u64;
        while done < limit {
            let want = (limit - done).min(CHUNK as u64) as usize;
            let got = read(offset + done, &mut buffer[..want])?;
            if got == 0 {
                break;
            }
            each(&buffer[..got]);
            done += got as u64;
        }
        Ok(done)
    })
}

/// Reads from the regular file at `path` at `offset` into `buffer`; returns the bytes read
/// (0 at or past the end). Straight into `buffer`: a process's every `read` comes here.
pub fn read_at(path: &str, offset: u64, buffer: &mut [u8]) -> Result<usize> {
    with_reader(path, |read| {
        let mut done = 0;
        while done < buffer.len() {
            let got = read(offset + done as u64, &mut buffer[done..])?;
            if got == 0 {
                break;
            }
            done += got;
        }
        Ok(done)
    })
}

/// Where [`write()`] puts its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// Create or truncate, then write from offset 0.
    Replace,
    /// Create if missing, then write at the given offset (the rest of the file is kept).
    At(u64),
    /// Create if missing, then write at the end.
    Append,
}

fn writable(path: &str) -> Result<(alloc::sync::Arc<mount::Mount>, String)> {
    match mount::locate(path) {
        Location::Mounted { mount, relative } => Ok((mount, relative)),
        Location::Root => Err(VfsError::ReadOnly),
    }
}

/// Writes `data` to the regular file at `path`, creating it (mode 0644) if it does not exist.
pub fn write(path: &str, mode: WriteMode, data: &[u8]) -> Result<()> {
    let path = path::normalise(path)?;
    let (mount, relative) = writable(&path)?;
    if relative.is_empty() {
        return Err(VfsError::IsDirectory);
    }
    if let Some(fs) = mount.foreign() {
        let file = fs.open(
            &relative,
            foreign::OpenMode {
                write: true,
                create: true,
                truncate: mode == WriteMode::Replace,
                exclusive: false,
                permissions: 0o644,
            },
        )?;
        let mut offset = match mode {
            WriteMode::Replace => 0,
            WriteMode::At(offset) => offset,
            WriteMode::Append => file.stat()?.size,
        };
        let mut rest = data;
        while !rest.is_empty() {
            let written = file.write_at(offset, rest)?;
            if written == 0 {
                return Err(VfsError::NoSpace);
            }
            offset += written as u64;
            rest = &rest[written..];
        }
        return Ok(());
    }
    mount.with(|fs| {
        // Try to create first: for a new file that scans the directory once less.
        let (parent, name) = fs.resolve_parent(relative.as_bytes())?;
        let inode = match fs.create(parent, name, 0o644, Owner::default()) {
            Ok(inode) => inode,
            Err(ext2::Error::AlreadyExists) => fs.resolve(relative.as_bytes(), true)?,
            Err(error) => return Err(error.into()),
        };
        let metadata = fs.metadata(inode)?;
        let mut offset = match (metadata.file_type, mode) {
            (FileType::Directory, _) => return Err(VfsError::IsDirectory),
            (FileType::Regular, WriteMode::Replace) => {
                fs.truncate(inode, 0)?;
                0
            }
            (FileType::Regular, WriteMode::At(offset)) => offset,
            (FileType::Regular, WriteMode::Append) => metadata.size,
            _ => return Err(VfsError::InvalidArgument("not a regular file")),
        };
        let mut rest = data;
        while !rest.is_empty() {
            let written = fs.write(inode, offset, rest)?;
            if written == 0 {
                return Err(VfsError::NoSpace);
            }
            offset += written as u64;
            rest = &rest[written..];
        }
        Ok(())
    })
}

/// Creates directory `path` (mode 0755).
pub fn mkdir(path: &str) -> Result<()> {
    mkdir_mode(path, 0o755)
}

/// Removes the file, symbolic link or empty directory at `path` (the last component is not
/// followed). Mount points and directories holding one are refused.
pub fn remove(path: &str) -> Result<()> {
    let path = path::normalise(path)?;
    if mount::has_mount_at_or_below(&path) {
        return Err(VfsError::Busy("a file system is mounted there"));
    }
    let (mount, relative) = match mount::locate(&path) {
        Location::Mounted { mount, relative } => (mount, relative),
        Location::Root => {
            stat(&path)?;
            return Err(VfsError::ReadOnly);
        }
    };
    if let Some(fs) = mount.foreign() {
        return fs.remove(&relative);
    }
    mount.with(|fs| {
        let (parent, name) = fs.resolve_parent(relative.as_bytes())?;
        let inode = fs.lookup(parent, name)?;
        if fs.metadata(inode)?.file_type == FileType::Directory {
            fs.rmdir(parent, name)?;
        } else {
            fs.unlink(parent, name)?;
        }
        Ok(())
    })
}

/// Renames `from` to `to` within one file system; when `to` is an existing directory the
/// entry moves into it under its own name.
pub fn rename(from: &str, to: &str) -> Result<()> {
    let from = path::normalise(from)?;
    let mut to = path::normalise(to)?;
    if mount::has_mount_at_or_below(&from) {
        return Err(VfsError::Busy("a file system is mounted there"));
    }
    if let (Ok(target), Some((_, name))) = (stat(&to), path::split(&from)) {
        if target.kind == Kind::Directory && to != from {
            to = path::join(&to, name);
        }
    }
    if mount::has_mount_at_or_below(&to) {
        return Err(VfsError::Busy("a file system is mounted there"));
    }
    let (source, from_relative) = match mount::locate(&from) {
        Location::Mounted { mount, relative } => (mount, relative),
        Location::Root => {
            stat(&from)?;
            return Err(VfsError::ReadOnly);
        }
    };
    let (target, to_relative) = match mount::locate(&to) {
        Location::Mounted { mount, relative } => (mount, relative),
        Location::Root => return Err(VfsError::CrossDevice),
    };
    if !alloc::sync::Arc::ptr_eq(&source, &target) {
        return Err(VfsError::CrossDevice);
    }
    if let Some(fs) = source.foreign() {
        return fs.rename(&from_relative, &to_relative);
    }
    source.with(|fs| {
        let (old_parent, old_name) = fs.resolve_parent(from_relative.as_bytes())?;
        let (new_parent, new_name) = fs.resolve_parent(to_relative.as_bytes())?;
        fs.rename(old_parent, old_name, new_parent, new_name)?;
        Ok(())
    })
}

/// Runs `f` on the ext2 inode at `path` (following a final symbolic link if `follow`);
/// the initrd and synthetic directories are read-only.
fn with_inode<T>(
    path: &str,
    follow: bool,
    f: impl FnOnce(&mut Ext2, u32) -> Result<T>,
) -> Result<T> {
    let path = path::normalise(path)?;
    match mount::locate(&path) {
        Location::Mounted { mount, relative } => mount.with(|fs| {
            let inode = fs.resolve(relative.as_bytes(), follow)?;
            f(fs, inode)
        }),
        Location::Root => {
            stat(&path)?;
            Err(VfsError::ReadOnly)
        }
    }
}

/// The foreign file system answering for normalised-or-not `path` and the path within it.
fn foreign_at(path: &str) -> Result<Option<(alloc::sync::Arc<dyn foreign::ForeignFs>, String)>> {
    let path = path::normalise(path)?;
    Ok(match mount::locate(&path) {
        Location::Mounted { mount, relative } => mount
            .foreign()
            .map(|fs| (alloc::sync::Arc::clone(fs), relative)),
        Location::Root => None,
    })
}

/// Sets the size of the regular file at `path` (cut, or extended with a hole).
pub fn truncate(path: &str, size: u64) -> Result<()> {
    if let Some((fs, relative)) = foreign_at(path)? {
        return fs.truncate(&relative, size);
    }
    with_inode(path, true, |fs, inode| {
        match fs.metadata(inode)?.file_type {
            FileType::Regular => {}
            FileType::Directory => return Err(VfsError::IsDirectory),
            _ => return Err(VfsError::InvalidArgument("not a regular file")),
        }
        fs.truncate(inode, size)?;
        Ok(())
    })
}

/// Sets the permission bits (`0o7777`) of `path`.
pub fn chmod(path: &str, mode: u32) -> Result<()> {
    if let Some((fs, relative)) = foreign_at(path)? {
        return fs.chmod(&relative, mode & 0o7777);
    }
    with_inode(path, true, |fs, inode| {
        fs.chmod(inode, (mode & 0o7777) as u16)?;
        Ok(())
    })
}

/// Sets the access and modification times (seconds since the epoch) of `path`.
pub fn set_times(path: &str, follow: bool, atime: i64, mtime: i64) -> Result<()> {
    if let Some((fs, relative)) = foreign_at(path)? {
        return fs.set_times(&relative, follow, atime, mtime);
    }
    with_inode(path, follow, |fs, inode| {
        fs.utimes(inode, atime, mtime)?;
        Ok(())
    })
}

/// Creates the symbolic link `path` pointing at `target`.
pub fn symlink(target: &str, path: &str) -> Result<()> {
    let path = path::normalise(path)?;
    let (mount, relative) = writable(&path)?;
    if let Some(fs) = mount.foreign() {
        return fs.symlink(target, &relative);
    }
    mount.with(|fs| {
        let (parent, name) = fs.resolve_parent(relative.as_bytes())?;
        fs.symlink(parent, name, target.as_bytes(), Owner::default())?;
        Ok(())
    })
}

/// Creates the empty regular file `path` with permission bits `mode`; `AlreadyExists` if any
/// entry has that name.
pub fn create(path: &str, mode: u32) -> Result<()> {
    let path = path::normalise(path)?;
    let (mount, relative) = writable(&path)?;
    if relative.is_empty() {
        return Err(VfsError::AlreadyExists);
    }
    if let Some(fs) = mount.foreign() {
        let mode = foreign::OpenMode {
            write: true,
            create: true,
            exclusive: true,
            permissions: mode & 0o7777,
            ..Default::default()
        };
        return fs.open(&relative, mode).map(drop);
    }
    mount.with(|fs| {
        let (parent, name) = fs.resolve_parent(relative.as_bytes())?;
        fs.create(parent, name, (mode & 0o7777) as u16, Owner::default())?;
        Ok(())
    })
}

/// Creates directory `path` with permission bits `mode`.
pub fn mkdir_mode(path: &str, mode: u32) -> Result<()> {
    let path = path::normalise(path)?;
    if stat(&path).is_ok() {
        return Err(VfsError::AlreadyExists);
    }
    let (mount, relative) = writable(&path)?;
    if let Some(fs) = mount.foreign() {
        return fs.mkdir(&relative, mode & 0o7777);
    }
    mount.with(|fs| {
        let (parent, name) = fs.resolve_parent(relative.as_bytes())?;
        fs.mkdir(parent, name, (mode & 0o7777) as u16, Owner::default())?;
        Ok(())
    })
}

/// `stat` without following a final symbolic link (which is described with its target).
pub fn lstat(path: &str) -> Result<Stat> {
    let path = path::normalise(path)?;
    match mount::locate(&path) {
        Location::Mounted { mount, relative } => match mount.foreign() {
            Some(fs) => fs.stat(&relative, false),
            None => mount.with(|fs| {
                let inode = fs.resolve(relative.as_bytes(), false)?;
                ext2_stat(fs, inode, &mount.device)
            }),
        },
        Location::Root => {
            // The initrd's stat follows links: a link shows in its parent's listing.
            if let Some((directory, name)) = path::split(&path) {
                let directory = if directory.is_empty() { "/" } else { directory };
                if let Some(entry) = read_dir(directory)?.into_iter().find(|e| e.name == name) {
                    if entry.stat.kind == Kind::Symlink {
                        return Ok(entry.stat);
                    }
                }
            }
            stat(&path)
        }
    }
}

/// Opens the regular file at `path` for reading and writing through its file system, if a
/// foreign mount serves it (`None` for native files, which are read and written by path).
pub fn open_foreign(
    path: &str,
    mode: foreign::OpenMode,
) -> Result<Option<alloc::sync::Arc<dyn foreign::ForeignFile>>> {
    match foreign_at(path)? {
        Some((fs, relative)) => fs.open(&relative, mode).map(Some),
        None => Ok(None),
    }
}
