//! The mount table: which file system answers for which absolute directory, and where a path
//! lands once mounts are taken into account.
//!
//! The initrd is the root and is read-only. A fixed set of [`SYNTHETIC`] directories (`/mnt`)
//! exists in the VFS itself, so a disk can be mounted even when the initrd has no such
//! directory. Each ext2 mount owns its `FileSystem` behind a blocking mutex; a path resolves to
//! the mount with the longest matching directory prefix.
//!
//! Lock order: `TABLE`, then a mount's file-system mutex. Operations hold the table only long
//! enough to clone the mount's `Arc`; that clone is what makes a mount "busy" for `umount`.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use ext2::{FileSystem, MountOptions, ReadOnlyReason, StatFs};

use super::device::DiskDevice;
use super::error::{Result, VfsError};
use super::foreign::{self, ForeignFs};
use super::path;
use crate::sched::mutex::Mutex;

/// Directories the VFS provides itself, outside the initrd (mount points for disks).
pub const SYNTHETIC: &[&str] = &["/mnt"];

/// Blocks the ext2 cache of one mount may hold (16 MiB with 4 KiB blocks).
const CACHE_BLOCKS: usize = 4096;

/// A mounted file system: native ext2, or one another kernel serves ([`ForeignFs`]).
pub struct Mount {
    /// The normalised mount point.
    pub path: String,
    /// The block device's name (or, for a foreign mount, the source it was given).
    pub device: String,
    fs: Mutex<Option<FileSystem<DiskDevice>>>,
    foreign: Option<Arc<dyn ForeignFs>>,
}

/// An ext2 file system as the VFS holds it.
pub type Ext2 = FileSystem<DiskDevice>;

impl Mount {
    /// Runs `f` with the ext2 file system locked (`NotMounted` for a foreign mount: callers ask
    /// [`Mount::foreign`] first).
    pub fn with<T>(&self, f: impl FnOnce(&mut Ext2) -> Result<T>) -> Result<T> {
        let mut guard = self.fs.lock();
        match guard.as_mut() {
            Some(fs) => f(fs),
            None => Err(VfsError::NotMounted),
        }
    }

    /// The foreign file system, if this mount is one.
    pub fn foreign(&self) -> Option<&Arc<dyn ForeignFs>> {
        self.foreign.as_ref()
    }

    /// The type `/proc/mounts` shows.
    pub fn type_name(&self) -> &str {
        self.foreign.as_ref().map_or("ext2", |fs| fs.type_name())
    }
}

static TABLE: Mutex<Vec<Arc<Mount>>> = Mutex::new("vfs-mount-table", Vec::new());

/// Where a normalised path lands.
pub enum Location {
    /// In the root: the initrd or a synthetic directory.
    Root,
    /// Inside a mount; `relative` has no leading `/` and is empty for the mount's root.
    Mounted { mount: Arc<Mount>, relative: String },
}

/// The mount answering for normalised `path`, if any (the longest matching mount point).
pub fn locate(normalised: &str) -> Location {
    let table = TABLE.lock();
    let best = table
        .iter()
        .filter_map(|m| path::strip(normalised, &m.path).map(|rest| (m, rest)))
        .max_by_key(|(m, _)| m.path.len());
    match best {
        Some((mount, relative)) => Location::Mounted {
            mount: Arc::clone(mount),
            relative: String::from(relative),
        },
        None => Location::Root,
    }
}

/// Mount points whose parent directory is normalised `directory`.
pub fn mount_points_in(directory: &str) -> Vec<String> {
    TABLE
        .lock()
        .iter()
        .filter(|m| path::split(&m.path).is_some_and(|(parent, _)| parent == directory))
        .map(|m| m.path.clone())
        .collect()
}

/// Whether some mount point is `normalised` or lies below it.
pub fn has_mount_at_or_below(normalised: &str) -> bool {
    TABLE
        .lock()
        .iter()
        .any(|m| path::strip(&m.path, normalised).is_some())
}

fn clock() -> u64 {
    crate::time::wall_clock().0
}

/// Mounts the ext2 file system of block device `device` on directory `at`.
pub fn mount(device: &str, at: &str, read_only: bool) -> Result<String> {
    let at = path::normalise(at)?;
    let disk = crate::block::find(device).ok_or_else(|| VfsError::NoDevice(device.into()))?;
    // The mount point must exist as a directory (outside the table lock: stat locates).
    let target = super::ops::stat(&at)?;
    if target.kind != super::ops::Kind::Directory {
        return Err(VfsError::NotDirectory);
    }
    let mut table = TABLE.lock();
    if let Some(existing) = table.iter().find(|m| m.device == device) {
        return Err(VfsError::DeviceMounted(existing.path.clone()));
    }
    if table.iter().any(|m| m.path == at) {
        return Err(VfsError::Busy("a file system is already mounted there"));
    }
    let options = MountOptions {
        read_only: read_only || disk.read_only(),
        cache_blocks: CACHE_BLOCKS,
        clock,
    };
    let fs = FileSystem::mount(DiskDevice::new(disk), options)?;
    let mode = match fs.read_only_reason() {
        None => String::from("read-write"),
        Some(reason) => alloc::format!("read-only: {reason}"),
    };
    table.push(Arc::new(Mount {
        path: at.clone(),
        device: device.into(),
        fs: Mutex::new("vfs-ext2", Some(fs)),
        foreign: None,
    }));
    Ok(alloc::format!("mounted {device} on {at} (ext2, {mode})"))
}

/// Mounts `source` on `at` with the foreign mount type `kind` ([`foreign::register_type`]).
/// The mount point need not exist in the file system below: its parent must be a directory,
/// and the mount shows in the parent's listing.
pub fn mount_foreign(kind: &str, source: &str, at: &str, read_only: bool) -> Result<String> {
    let at = path::normalise(at)?;
    let mounter = foreign::mounter(kind).ok_or(VfsError::InvalidArgument(
        "no such file system type (see 'mount' for the types this kernel has)",
    ))?;
    if at == "/" {
        return Err(VfsError::Busy("the initrd is mounted there"));
    }
    match super::ops::stat(&at) {
        Ok(stat) if stat.kind != super::ops::Kind::Directory => return Err(VfsError::NotDirectory),
        Ok(_) => {}
        Err(VfsError::NotFound) => {
            let parent = path::split(&at).map_or("/", |(p, _)| if p.is_empty() { "/" } else { p });
            if super::ops::stat(parent)?.kind != super::ops::Kind::Directory {
                return Err(VfsError::NotDirectory);
            }
        }
        Err(error) => return Err(error),
    }
    {
        let table = TABLE.lock();
        if let Some(existing) = table.iter().find(|m| m.device == source) {
            return Err(VfsError::DeviceMounted(existing.path.clone()));
        }
        if table.iter().any(|m| m.path == at) {
            return Err(VfsError::Busy("a file system is already mounted there"));
        }
    }
    // Outside the table lock: the other kernel's mount can take a while.
    let fs = mounter(source, &at, read_only)?;
    let mode = if fs.read_only() {
        "read-only"
    } else {
        "read-write"
    };
    let message = alloc::format!("mounted {source} on {at} ({}, {mode})", fs.type_name());
    let mut table = TABLE.lock();
    if table.iter().any(|m| m.path == at || m.device == source) {
        drop(table);
        let _ = fs.unmount();
        return Err(VfsError::Busy("a file system was mounted there meanwhile"));
    }
    table.push(Arc::new(Mount {
        path: at,
        device: source.into(),
        fs: Mutex::new("vfs-ext2", None),
        foreign: Some(fs),
    }));
    Ok(message)
}

/// Unmounts the file system on `at`: syncs it, marks it clean and releases the device.
/// Refused while another mount lies below it or an operation is using it.
pub fn umount(at: &str) -> Result<String> {
    let at = path::normalise(at)?;
    let mut table = TABLE.lock();
    let index = table
        .iter()
        .position(|m| m.path == at)
        .ok_or(VfsError::NotMounted)?;
    if table
        .iter()
        .any(|m| m.path != at && path::strip(&m.path, &at).is_some())
    {
        return Err(VfsError::Busy("another file system is mounted below it"));
    }
    if Arc::strong_count(&table[index]) > 1 {
        return Err(VfsError::Busy("the file system is in use"));
    }
    let mount = Arc::clone(&table[index]);
    if let Some(fs) = mount.foreign() {
        // The other kernel refuses while it has files of the mount open.
        fs.unmount()?;
        table.remove(index);
        return Ok(alloc::format!("unmounted {} from {at}", mount.device));
    }
    // Sync first: if that fails the mount stays, with its dirty data, for a retry.
    mount.with(|fs| Ok(fs.sync()?))?;
    table.remove(index);
    let fs = mount.fs.lock().take();
    if let Some(fs) = fs {
        fs.unmount()?;
    }
    Ok(alloc::format!("unmounted {} from {at}", mount.device))
}

/// What `df` shows about one mount.
pub struct Usage {
    pub device: String,
    pub path: String,
    /// "ext2" or the foreign type's name.
    pub type_name: String,
    pub statfs: StatFs,
    pub read_only: Option<ReadOnlyReason>,
    pub dirty_blocks: usize,
}

fn foreign_usage(mount: &Mount, fs: &dyn ForeignFs) -> Usage {
    let usage = fs.usage().unwrap_or_default();
    Usage {
        device: mount.device.clone(),
        path: mount.path.clone(),
        type_name: String::from(fs.type_name()),
        statfs: StatFs {
            block_size: usage.block_size,
            blocks: usage.blocks,
            free_blocks: usage.free_blocks,
            inodes: u32::try_from(usage.files).unwrap_or(u32::MAX),
            free_inodes: u32::try_from(usage.free_files).unwrap_or(u32::MAX),
            name_max: usage.name_max,
        },
        read_only: fs.read_only().then_some(ReadOnlyReason::Requested),
        dirty_blocks: 0,
    }
}

fn snapshot() -> Vec<Arc<Mount>> {
    TABLE.lock().clone()
}

/// Usage of every mount, in mount order.
pub fn usage() -> Vec<Usage> {
    snapshot()
        .into_iter()
        .filter_map(|m| {
            if let Some(fs) = m.foreign() {
                return Some(foreign_usage(&m, fs.as_ref()));
            }
            m.with(|fs| {
                Ok(Usage {
                    device: m.device.clone(),
                    path: m.path.clone(),
                    type_name: String::from("ext2"),
                    statfs: fs.statfs(),
                    read_only: fs.read_only_reason(),
                    dirty_blocks: fs.dirty_blocks(),
                })
            })
            .ok()
        })
        .collect()
}

/// Writes every mount's dirty state to its device; one result per mount point.
pub fn sync_all() -> Vec<(String, Result<()>)> {
    snapshot()
        .into_iter()
        .map(|m| {
            let result = match m.foreign() {
                Some(fs) => fs.sync(),
                None => m.with(|fs| Ok(fs.sync()?)),
            };
            (m.path.clone(), result)
        })
        .collect()
}
