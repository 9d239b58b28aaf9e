//! The virtual file system: one tree of absolute paths over the initrd and mounted ext2 disks.
//!
//! The initrd is the read-only root; [`mount`] keeps the mount table and the synthetic mount
//! points (`/mnt`); [`ops`] resolves paths across mounts and runs the operations; [`device`]
//! adapts kernel disks to the ext2 driver; the shell (`crate::shell`) holds the file commands. The VFS does no
//! caching of its own (ext2 has a block cache) and contains no unsafe code. See docs/vfs.md.
//!
//! May import: `block`, `boot`, `console`, `rootfs`, `sched`, `testing`, `time`.

pub mod device;
pub mod error;
pub mod foreign;
pub mod mount;
pub mod ops;
pub mod path;

mod bench;
mod model;
mod tests;

pub use error::{Result, VfsError};
