//! Error values of the ext2 driver: one enum, each value with an errno-like kind.
//!
//! Every failure the driver can meet — device errors, corrupt or hostile images, refused
//! features and ordinary POSIX conditions — is a value here; nothing panics on bad input.

use core::fmt;

use crate::device::DeviceError;
use crate::features;

/// Errno-like classification of an [`Error`], for a VFS to map onto its own numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// EIO: the device failed.
    Io,
    /// EUCLEAN (EFSCORRUPTED): the image is inconsistent.
    Corrupted,
    /// EINVAL: a bad argument, or an image that is not ext2 at all.
    InvalidArgument,
    /// EOPNOTSUPP: the image needs a feature this driver does not implement.
    NotSupported,
    /// EROFS: the file system is mounted read-only.
    ReadOnlyFileSystem,
    /// ENOENT.
    NotFound,
    /// EEXIST.
    AlreadyExists,
    /// ENOTDIR.
    NotDirectory,
    /// EISDIR.
    IsDirectory,
    /// ENOTEMPTY.
    DirectoryNotEmpty,
    /// ENAMETOOLONG.
    NameTooLong,
    /// ENOSPC: no free block or no free inode.
    NoSpace,
    /// EFBIG.
    FileTooLarge,
    /// EMLINK.
    TooManyLinks,
    /// ELOOP.
    TooManySymlinks,
    /// EPERM: the operation is not allowed on this object (reserved inode, directory hard link).
    NotPermitted,
}

/// Which part of an image was found inconsistent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// A superblock field is out of its legal range; the text names the field.
    Superblock(&'static str),
    /// The device is shorter than the block count in the superblock says.
    DeviceTooSmall {
        /// Bytes the superblock claims.
        needed: u64,
        /// Bytes the device has.
        available: u64,
    },
    /// A group descriptor puts a bitmap or the inode table outside its group, or overlapping.
    GroupDescriptor {
        /// The block group.
        group: u32,
    },
    /// A block number outside the file system, or pointing at metadata where data is expected.
    BlockOutOfRange {
        /// The offending block number.
        block: u64,
    },
    /// An inode number outside the file system.
    InodeOutOfRange {
        /// The offending inode number.
        inode: u64,
    },
    /// An inode whose fields make no sense (size, mode, flags).
    Inode {
        /// The inode number.
        inode: u32,
        /// What is wrong.
        reason: &'static str,
    },
    /// A directory entry that is malformed.
    DirectoryEntry {
        /// The directory's inode number.
        inode: u32,
        /// Byte offset of the entry inside the directory.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A block or inode freed twice: the bitmap already had it free (cycles or sharing).
    DoubleFree {
        /// The block (or inode) number.
        number: u64,
    },
    /// A directory's ancestry does not reach the root within the limit (a loop).
    DirectoryLoop {
        /// The directory where the walk started.
        inode: u32,
    },
}

/// Every error of the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The block device failed.
    Device(DeviceError),
    /// No ext2 magic number in the superblock: not an ext2/3/4 image.
    BadMagic,
    /// The image is inconsistent.
    Corrupted(Corruption),
    /// Incompatible features this driver does not implement (bit mask, printed by name).
    UnsupportedFeatures(u32),
    /// An ext3/4 journal must be replayed first (the `needs_recovery` flag is set).
    JournalNeedsRecovery,
    /// Write attempted on a read-only mount.
    ReadOnly,
    /// No such file or directory.
    NotFound,
    /// The name already exists.
    AlreadyExists,
    /// A directory was expected.
    NotDirectory,
    /// A directory was not expected.
    IsDirectory,
    /// The directory still has entries.
    DirectoryNotEmpty,
    /// A name longer than 255 bytes.
    NameTooLong,
    /// A name that is empty, `.`, `..`, or holds `/` or NUL; or another bad argument.
    InvalidArgument(&'static str),
    /// No free block left.
    NoSpace,
    /// No free inode left.
    NoInodes,
    /// The file would exceed the largest size the format allows here.
    FileTooLarge,
    /// The link count would exceed the ext2 limit.
    TooManyLinks,
    /// Too many symbolic links met while resolving a path.
    TooManySymlinks,
    /// Not allowed on this object (reserved inode, hard link to a directory).
    NotPermitted(&'static str),
}

impl Error {
    /// The errno-like kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Device(_) => ErrorKind::Io,
            Error::BadMagic | Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::Corrupted(_) => ErrorKind::Corrupted,
            Error::UnsupportedFeatures(_) | Error::JournalNeedsRecovery => ErrorKind::NotSupported,
            Error::ReadOnly => ErrorKind::ReadOnlyFileSystem,
            Error::NotFound => ErrorKind::NotFound,
            Error::AlreadyExists => ErrorKind::AlreadyExists,
            Error::NotDirectory => ErrorKind::NotDirectory,
            Error::IsDirectory => ErrorKind::IsDirectory,
            Error::DirectoryNotEmpty => ErrorKind::DirectoryNotEmpty,
            Error::NameTooLong => ErrorKind::NameTooLong,
            Error::NoSpace | Error::NoInodes => ErrorKind::NoSpace,
            Error::FileTooLarge => ErrorKind::FileTooLarge,
            Error::TooManyLinks => ErrorKind::TooManyLinks,
            Error::TooManySymlinks => ErrorKind::TooManySymlinks,
            Error::NotPermitted(_) => ErrorKind::NotPermitted,
        }
    }
}

impl From<DeviceError> for Error {
    fn from(error: DeviceError) -> Self {
        Error::Device(error)
    }
}

impl From<Corruption> for Error {
    fn from(corruption: Corruption) -> Self {
        Error::Corrupted(corruption)
    }
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corruption::Superblock(field) => write!(f, "superblock field {field} is invalid"),
            Corruption::DeviceTooSmall { needed, available } => {
                write!(
                    f,
                    "device has {available} bytes but the file system needs {needed}"
                )
            }
            Corruption::GroupDescriptor { group } => {
                write!(f, "group descriptor {group} points outside its group")
            }
            Corruption::BlockOutOfRange { block } => {
                write!(f, "block number {block} is outside the data area")
            }
            Corruption::InodeOutOfRange { inode } => {
                write!(f, "inode number {inode} is out of range")
            }
            Corruption::Inode { inode, reason } => write!(f, "inode {inode}: {reason}"),
            Corruption::DirectoryEntry {
                inode,
                offset,
                reason,
            } => {
                write!(f, "directory {inode}, entry at offset {offset}: {reason}")
            }
            Corruption::DoubleFree { number } => {
                write!(f, "{number} freed twice (shared or cyclic block pointers)")
            }
            Corruption::DirectoryLoop { inode } => {
                write!(f, "directory {inode}: parent chain does not reach the root")
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Device(error) => write!(f, "device error: {error}"),
            Error::BadMagic => f.write_str("not an ext2 file system (bad superblock magic)"),
            Error::Corrupted(corruption) => write!(f, "corrupted file system: {corruption}"),
            Error::UnsupportedFeatures(mask) => {
                f.write_str("unsupported incompatible features:")?;
                features::write_names(f, features::INCOMPAT_NAMES, *mask)
            }
            Error::JournalNeedsRecovery => f.write_str(
                "journal needs recovery (needs_recovery set); replay it with e2fsck first",
            ),
            Error::ReadOnly => f.write_str("file system is mounted read-only"),
            Error::NotFound => f.write_str("no such file or directory"),
            Error::AlreadyExists => f.write_str("file exists"),
            Error::NotDirectory => f.write_str("not a directory"),
            Error::IsDirectory => f.write_str("is a directory"),
            Error::DirectoryNotEmpty => f.write_str("directory not empty"),
            Error::NameTooLong => f.write_str("name longer than 255 bytes"),
            Error::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Error::NoSpace => f.write_str("no free blocks left"),
            Error::NoInodes => f.write_str("no free inodes left"),
            Error::FileTooLarge => f.write_str("file too large for this file system"),
            Error::TooManyLinks => f.write_str("too many links"),
            Error::TooManySymlinks => f.write_str("too many levels of symbolic links"),
            Error::NotPermitted(what) => write!(f, "operation not permitted: {what}"),
        }
    }
}

/// Result alias of the driver.
pub type Result<T> = core::result::Result<T, Error>;
