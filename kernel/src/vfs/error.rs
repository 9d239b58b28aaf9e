//! VFS errors: one enum for every failure a path operation can meet, worded for the shell.
//!
//! Driver errors are folded into the common POSIX-like cases where one exists (so the initrd and
//! ext2 say "no such file or directory" the same way); the rest keep the driver's own text.

use alloc::string::String;
use core::fmt;

/// Why a VFS operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VfsError {
    /// ENOENT.
    NotFound,
    /// ENOTDIR: a directory was needed.
    NotDirectory,
    /// EISDIR: a file was needed.
    IsDirectory,
    /// EROFS: the path lies in the initrd, a synthetic directory or a read-only mount.
    ReadOnly,
    /// EEXIST.
    AlreadyExists,
    /// ENOTEMPTY.
    DirectoryNotEmpty,
    /// EXDEV: a rename between two file systems.
    CrossDevice,
    /// EBUSY: the path is a mount point, or the mount is in use.
    Busy(&'static str),
    /// ENOSPC: no free block or inode.
    NoSpace,
    /// ELOOP.
    TooManySymlinks,
    /// EINVAL: a malformed path or argument; the text says which.
    InvalidArgument(&'static str),
    /// ENODEV: no block device of that name.
    NoDevice(String),
    /// The device is already mounted (on the given path).
    DeviceMounted(String),
    /// EINVAL for umount: nothing is mounted on the path.
    NotMounted,
    /// Any other ext2 failure (not ext2, corrupted, unsupported features, I/O), kept verbatim.
    Ext2(ext2::Error),
    /// A failure a foreign file system reported that has no case above: its Linux errno
    /// number and the other kernel's own wording.
    Foreign { errno: i32, text: String },
}

impl From<ext2::Error> for VfsError {
    fn from(error: ext2::Error) -> Self {
        use ext2::Error as E;
        match error {
            E::NotFound => VfsError::NotFound,
            E::NotDirectory => VfsError::NotDirectory,
            E::IsDirectory => VfsError::IsDirectory,
            E::ReadOnly => VfsError::ReadOnly,
            E::AlreadyExists => VfsError::AlreadyExists,
            E::DirectoryNotEmpty => VfsError::DirectoryNotEmpty,
            E::NoSpace | E::NoInodes => VfsError::NoSpace,
            E::TooManySymlinks => VfsError::TooManySymlinks,
            other => VfsError::Ext2(other),
        }
    }
}

impl From<initrd::FsError> for VfsError {
    fn from(error: initrd::FsError) -> Self {
        use initrd::FsError as E;
        match error {
            E::NotFound => VfsError::NotFound,
            E::NotADirectory => VfsError::NotDirectory,
            E::IsADirectory => VfsError::IsDirectory,
            E::IsASymlink => VfsError::InvalidArgument("a dangling or foreign symbolic link"),
            E::TooManySymlinks => VfsError::TooManySymlinks,
        }
    }
}

impl fmt::Display for VfsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VfsError::NotFound => f.write_str("no such file or directory"),
            VfsError::NotDirectory => f.write_str("not a directory"),
            VfsError::IsDirectory => f.write_str("is a directory"),
            VfsError::ReadOnly => f.write_str("read-only file system"),
            VfsError::AlreadyExists => f.write_str("file exists"),
            VfsError::DirectoryNotEmpty => f.write_str("directory not empty"),
            VfsError::CrossDevice => f.write_str("cannot move between file systems"),
            VfsError::Busy(why) => write!(f, "busy: {why}"),
            VfsError::NoSpace => f.write_str("no space left on device"),
            VfsError::TooManySymlinks => f.write_str("too many levels of symbolic links"),
            VfsError::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            VfsError::NoDevice(name) => write!(f, "no block device '{name}' (see 'blk')"),
            VfsError::DeviceMounted(path) => write!(f, "already mounted on {path}"),
            VfsError::NotMounted => f.write_str("not a mount point"),
            VfsError::Ext2(error) => write!(f, "{error}"),
            VfsError::Foreign { text, .. } => f.write_str(text),
        }
    }
}

/// Result alias of the VFS.
pub type Result<T> = core::result::Result<T, VfsError>;
