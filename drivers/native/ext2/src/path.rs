//! Path helpers over the inode-number API: resolve a path, split off its last component.
//!
//! Paths are byte strings relative to the root (a leading `/` is optional). Symbolic links
//! are followed up to [`SYMLINK_LIMIT`] times in all, then `TooManySymlinks`.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::inode::FileType;
use crate::layout::ROOT_INODE;

/// Most symbolic links followed while resolving one path (Linux uses 40).
pub const SYMLINK_LIMIT: u32 = 40;

fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&byte| byte == b'/')
        .filter(|part| !part.is_empty() && *part != b".")
}

impl<D: BlockDevice> FileSystem<D> {
    /// Resolves `path` to an inode number, following symlinks in every component and, when
    /// `follow_last`, in the last one too.
    ///
    /// # Errors
    /// `NotFound`; `NotDirectory` for a non-directory used as one; `TooManySymlinks`;
    /// `NameTooLong`; `Corrupted`; `Device`.
    pub fn resolve(&mut self, path: &[u8], follow_last: bool) -> Result<u32> {
        let mut pending: VecDeque<Vec<u8>> = components(path).map(<[u8]>::to_vec).collect();
        let mut current = ROOT_INODE;
        let mut followed = 0;
        while let Some(part) = pending.pop_front() {
            let next = self.lookup(current, &part)?;
            let is_last = pending.is_empty();
            if self.read_inode(next)?.file_type() == FileType::Symlink && (!is_last || follow_last)
            {
                followed += 1;
                if followed > SYMLINK_LIMIT {
                    return Err(Error::TooManySymlinks);
                }
                let target = self.read_link(next)?;
                if target.first() == Some(&b'/') {
                    current = ROOT_INODE;
                }
                for part in components(&target).rev() {
                    pending.push_front(part.to_vec());
                }
                continue;
            }
            current = next;
        }
        Ok(current)
    }

    /// Splits `path` into its parent directory (resolved, symlinks followed) and last name.
    ///
    /// # Errors
    /// `InvalidArgument` for a path without a last name (`/`, `..` endings); as
    /// [`resolve`](Self::resolve) for the parent.
    pub fn resolve_parent<'p>(&mut self, path: &'p [u8]) -> Result<(u32, &'p [u8])> {
        let trimmed = match path.iter().rposition(|&byte| byte != b'/') {
            Some(end) => &path[..=end],
            None => return Err(Error::InvalidArgument("path has no last component")),
        };
        let (parent, name) = match trimmed.iter().rposition(|&byte| byte == b'/') {
            Some(slash) => (&trimmed[..slash], &trimmed[slash + 1..]),
            None => (&b""[..], trimmed),
        };
        if name == b"." || name == b".." {
            return Err(Error::InvalidArgument("path ends in '.' or '..'"));
        }
        let directory = self.resolve(parent, true)?;
        self.directory_inode(directory)?;
        Ok((directory, name))
    }
}
