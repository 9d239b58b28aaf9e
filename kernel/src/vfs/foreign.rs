//! Foreign file systems: a mount whose files another kernel serves — NetBSD's file systems
//! through the rump kernel — joined to the one tree like a native ext2 mount.
//!
//! The VFS cannot import the rump client (it lies above), so the client registers a mount
//! *type* here at start-up ([`register_type`]); `mount` of that type calls its mounter, and the
//! mount table then sends every path below the mount point to the [`ForeignFs`] it returned,
//! with the path relative to the mount point. An open regular file is a [`ForeignFile`]: the
//! other kernel's descriptor, closed when the last holder drops it, so a process that dies
//! with files open leaves nothing open behind it.
//!
//! Character devices work the same way: the client registers a [`DeviceNode`] (`/dev/audio`),
//! and an open of it is a [`ForeignDevice`] whose reads, writes and ioctls go to the other
//! kernel's driver.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::error::Result;
use super::ops::{Entry, Stat};
use crate::sched::mutex::Mutex;

/// How a foreign file is opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenMode {
    pub write: bool,
    pub create: bool,
    pub truncate: bool,
    pub exclusive: bool,
    /// Permission bits for a created file.
    pub permissions: u32,
}

/// Sizes and counts for `df` and `statfs`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub block_size: u32,
    pub blocks: u64,
    pub free_blocks: u64,
    pub available_blocks: u64,
    pub files: u64,
    pub free_files: u64,
    pub name_max: u32,
}

/// A file system served by another kernel. Paths are relative to the mount point, without a
/// leading `/`; the empty path is the mount's root.
pub trait ForeignFs: Send + Sync {
    /// The mount type, as `/proc/mounts` shows it (`rump-ext2fs`).
    fn type_name(&self) -> &str;
    /// Whether it was mounted read-only.
    fn read_only(&self) -> bool;
    /// `stat`; `follow` false describes a final symbolic link itself (with its target).
    fn stat(&self, relative: &str, follow: bool) -> Result<Stat>;
    /// Entries without `.` and `..`, in any order.
    fn read_dir(&self, relative: &str) -> Result<Vec<Entry>>;
    fn open(&self, relative: &str, mode: OpenMode) -> Result<Arc<dyn ForeignFile>>;
    fn mkdir(&self, relative: &str, permissions: u32) -> Result<()>;
    /// Removes a file, symbolic link or empty directory.
    fn remove(&self, relative: &str) -> Result<()>;
    fn rename(&self, from: &str, to: &str) -> Result<()>;
    fn truncate(&self, relative: &str, size: u64) -> Result<()>;
    fn chmod(&self, relative: &str, permissions: u32) -> Result<()>;
    fn set_times(&self, relative: &str, follow: bool, atime: i64, mtime: i64) -> Result<()>;
    fn symlink(&self, target: &str, relative: &str) -> Result<()>;
    fn usage(&self) -> Result<Usage>;
    fn sync(&self) -> Result<()>;
    /// Unmounts in the other kernel (refused while it has files open there).
    fn unmount(&self) -> Result<()>;
}

/// An open regular file of a foreign file system; dropping the last reference closes it there.
pub trait ForeignFile: Send + Sync {
    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize>;
    fn write_at(&self, offset: u64, data: &[u8]) -> Result<usize>;
    fn stat(&self) -> Result<Stat>;
    fn truncate(&self, size: u64) -> Result<()>;
    fn sync(&self) -> Result<()>;
}

/// Mounts a foreign file system: `(source, mount point, read-only)`.
pub type Mounter = fn(&str, &str, bool) -> Result<Arc<dyn ForeignFs>>;

static TYPES: Mutex<Vec<(&'static str, Mounter)>> = Mutex::new("vfs-foreign-types", Vec::new());

/// Makes mount type `name` available to `mount` (a second registration of a name replaces
/// the first).
pub fn register_type(name: &'static str, mounter: Mounter) {
    let mut types = TYPES.lock();
    types.retain(|(known, _)| *known != name);
    types.push((name, mounter));
}

/// The mounter for type `name`, if one is registered.
pub fn mounter(name: &str) -> Option<Mounter> {
    TYPES
        .lock()
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, mounter)| *mounter)
}

/// The registered foreign mount types.
pub fn type_names() -> Vec<String> {
    TYPES
        .lock()
        .iter()
        .map(|(name, _)| String::from(*name))
        .collect()
}

/// How an `ioctl` request moves its parameter, in the encoding of the kernel that serves the
/// device: the caller copies `length` bytes in before the call and out after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoctlShape {
    pub length: usize,
    pub copy_in: bool,
    pub copy_out: bool,
}

/// An open character device another kernel serves (NetBSD's `/dev/audio` through rump);
/// dropping the last reference closes it there.
pub trait ForeignDevice: Send + Sync {
    /// Reads what the device has; blocks unless `non_blocking`.
    fn read(&self, buffer: &mut [u8], non_blocking: bool) -> Result<usize>;
    /// Writes what the device takes; blocks unless `non_blocking`.
    fn write(&self, data: &[u8], non_blocking: bool) -> Result<usize>;
    /// The shape of `request`'s parameter, or `None` for a request this device refuses.
    fn ioctl_shape(&self, request: u32) -> Option<IoctlShape>;
    /// Runs `request` with its parameter in `parameter` (as long as the shape says); `value` is
    /// the raw argument for requests that take it by value.
    fn ioctl(&self, request: u32, parameter: &mut [u8], value: u64) -> Result<u64>;
}

/// Opens a foreign device: `(write access, read access)`.
pub type DeviceOpener = fn(bool, bool) -> Result<Arc<dyn ForeignDevice>>;

/// A character device node under `/dev` that another kernel serves.
#[derive(Clone, Copy)]
pub struct DeviceNode {
    pub name: &'static str,
    /// Linux's device numbers for the node's `stat`.
    pub major: u32,
    pub minor: u32,
    pub open: DeviceOpener,
}

static DEVICES: Mutex<Vec<DeviceNode>> = Mutex::new("vfs-foreign-devices", Vec::new());

/// Offers `/dev/NAME` (a second registration of a name replaces the first).
pub fn register_device(node: DeviceNode) {
    let mut devices = DEVICES.lock();
    devices.retain(|known| known.name != node.name);
    devices.push(node);
}

/// The registered device called `name`.
pub fn device(name: &str) -> Option<DeviceNode> {
    DEVICES
        .lock()
        .iter()
        .find(|node| node.name == name)
        .copied()
}

/// Every registered device.
pub fn devices() -> Vec<DeviceNode> {
    DEVICES.lock().clone()
}
