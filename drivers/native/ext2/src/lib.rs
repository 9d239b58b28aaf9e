//! Native ext2: a read-write ext2 (revision 0 and 1) driver over a block device trait.
//!
//! `#![no_std]` with `alloc`, no unsafe code. The kernel wraps [`FileSystem`] over its
//! virtio-blk device; host tests run it over image files (`FileDevice`, feature `std`).
//! Operations are inode-number based, with path helpers on top. Writes go to a write-back
//! block cache; [`FileSystem::sync`] and [`FileSystem::unmount`] make the image consistent.
//! Nothing here journals: between syncs a crash can leave the image needing e2fsck.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod alloc_bitmap;
mod block_map;
mod cache;
mod device;
mod dir;
mod error;
pub mod features;
mod file;
mod fs;
mod htree;
mod htree_hash;
mod inode;
mod layout;
mod ops;
mod path;

#[cfg(feature = "std")]
pub use device::FileDevice;
pub use device::{check_range, BlockDevice, DeviceError, MemoryDevice};
pub use dir::DirEntry;
pub use error::{Corruption, Error, ErrorKind, Result};
pub use features::{CountKind, ReadOnlyReason};
pub use fs::{FileSystem, MountOptions, MountState, StatFs};
pub use inode::{FileType, Metadata, Timestamp};
pub use layout::ROOT_INODE;
pub use ops::{Owner, SetAttributes};
pub use path::SYMLINK_LIMIT;

/// Seconds since the Unix epoch from the host clock (the `std` feature).
#[cfg(feature = "std")]
pub fn host_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|duration| duration.as_secs())
        .unwrap_or(0)
}
