//! Namespace operations: create, mkdir, symlink, link, unlink, rmdir, rename, attributes.
//!
//! Each operation keeps link counts, `..` entries, free counts and used-directory counts
//! exact. Inodes below `s_first_ino` (other than the root) are never modified, so the
//! resize inode and the journal inode stay untouched.

use crate::device::BlockDevice;
use crate::dir::check_name;
use crate::error::{Corruption, Error, Result};
use crate::fs::FileSystem;
use crate::inode::{FileType, Inode, Metadata, LINK_MAX};
use crate::layout::{le32, put32, ROOT_INODE};

/// Owner of a new inode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Owner {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// Attribute changes for [`FileSystem::set_attributes`]; `None` leaves a field alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttributes {
    /// New permission bits (`0o7777`); the file type is kept.
    pub permissions: Option<u16>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New access time, seconds since the epoch.
    pub atime: Option<i64>,
    /// New modification time, seconds since the epoch.
    pub mtime: Option<i64>,
}

const XATTR_MAGIC: u32 = 0xEA02_0000;
/// Bound on `..` steps when checking rename ancestry.
const ANCESTRY_LIMIT: u32 = 4096;

impl<D: BlockDevice> FileSystem<D> {
    /// Refuses changes to reserved inodes and to inodes the bitmap says are free.
    pub(crate) fn check_user_inode(&mut self, number: u32) -> Result<()> {
        if number != ROOT_INODE && number < self.sb.first_inode {
            return Err(Error::NotPermitted("reserved inode"));
        }
        if !self.inode_in_use(number)? {
            return Err(Corruption::Inode {
                inode: number,
                reason: "referenced but marked free",
            }
            .into());
        }
        Ok(())
    }

    fn prepare_new_name(&mut self, parent: u32, name: &[u8]) -> Result<()> {
        self.check_writable()?;
        check_name(name)?;
        self.check_user_inode(parent)?;
        match self.lookup(parent, name) {
            Ok(_) => Err(Error::AlreadyExists),
            Err(Error::NotFound) => Ok(()),
            Err(error) => Err(error),
        }
    }

    fn new_inode(
        &mut self,
        parent: u32,
        kind: FileType,
        permissions: u16,
        owner: Owner,
    ) -> Result<Inode> {
        let number = self.allocate_inode(parent, kind == FileType::Directory)?;
        let mut inode = self.fresh_inode(number);
        inode.set_mode(kind.mode_bits() | (permissions & 0o7777));
        inode.set_uid(owner.uid);
        inode.set_gid(owner.gid);
        let now = self.now() as i64;
        inode.set_atime(now);
        inode.set_ctime(now);
        inode.set_mtime(now);
        inode.set_links(1);
        Ok(inode)
    }

    /// Links a freshly built inode into `parent`, undoing the allocation on failure.
    fn publish(&mut self, parent: u32, name: &[u8], mut inode: Inode) -> Result<u32> {
        self.write_inode(&inode)?;
        let kind = inode.file_type();
        if let Err(error) = self.add_entry(parent, name, inode.number, kind) {
            inode.set_links(0);
            self.release_inode(&mut inode)?;
            return Err(error);
        }
        Ok(inode.number)
    }

    /// Creates an empty regular file `name` in `parent`; returns its inode number.
    ///
    /// # Errors
    /// `ReadOnly`; `AlreadyExists`; `NotDirectory`; `InvalidArgument`/`NameTooLong` for a
    /// bad name; `NoInodes`/`NoSpace`; `Corrupted`; `Device`.
    pub fn create(
        &mut self,
        parent: u32,
        name: &[u8],
        permissions: u16,
        owner: Owner,
    ) -> Result<u32> {
        self.prepare_new_name(parent, name)?;
        let inode = self.new_inode(parent, FileType::Regular, permissions, owner)?;
        self.publish(parent, name, inode)
    }

    /// Creates directory `name` in `parent`; returns its inode number.
    ///
    /// # Errors
    /// As [`create`](Self::create), plus `TooManyLinks` when `parent` is full of subdirectories.
    pub fn mkdir(
        &mut self,
        parent: u32,
        name: &[u8],
        permissions: u16,
        owner: Owner,
    ) -> Result<u32> {
        self.prepare_new_name(parent, name)?;
        if self.read_inode(parent)?.links() >= LINK_MAX {
            return Err(Error::TooManyLinks);
        }
        let mut inode = self.new_inode(parent, FileType::Directory, permissions, owner)?;
        inode.set_links(2);
        let (block, _) = match self.map_or_allocate(&mut inode, 0) {
            Ok(mapped) => mapped,
            Err(error) => {
                self.release_inode(&mut inode)?;
                return Err(error);
            }
        };
        self.write_dot_entries(block, inode.number, parent)?;
        inode.set_size(self.block_size() as u64);
        let number = self.publish(parent, name, inode)?;
        self.adjust_links(parent, 1)?;
        Ok(number)
    }

    /// Creates symbolic link `name` in `parent` pointing at `target`; returns its inode.
    ///
    /// # Errors
    /// As [`create`](Self::create), plus `InvalidArgument` for an empty target, a target with
    /// NUL, or one not shorter than a block.
    pub fn symlink(
        &mut self,
        parent: u32,
        name: &[u8],
        target: &[u8],
        owner: Owner,
    ) -> Result<u32> {
        if target.is_empty() || target.contains(&0) || target.len() >= self.block_size().min(4096) {
            return Err(Error::InvalidArgument(
                "symlink target empty, with NUL, or too long",
            ));
        }
        self.prepare_new_name(parent, name)?;
        let mut inode = self.new_inode(parent, FileType::Symlink, 0o777, owner)?;
        inode.set_size(target.len() as u64);
        if target.len() < 60 {
            inode.block_bytes_mut()[..target.len()].copy_from_slice(target);
        } else {
            let (block, _) = match self.map_or_allocate(&mut inode, 0) {
                Ok(mapped) => mapped,
                Err(error) => {
                    inode.set_size(0);
                    self.release_inode(&mut inode)?;
                    return Err(error);
                }
            };
            self.cache.get_mut(block)?[..target.len()].copy_from_slice(target);
        }
        self.publish(parent, name, inode)
    }

    /// Adds hard link `name` in `parent` to existing non-directory `target`.
    ///
    /// # Errors
    /// `NotPermitted` for directories; `TooManyLinks`; as [`create`](Self::create) otherwise.
    pub fn link(&mut self, target: u32, parent: u32, name: &[u8]) -> Result<()> {
        self.prepare_new_name(parent, name)?;
        self.check_user_inode(target)?;
        let inode = self.read_inode(target)?;
        if inode.is_directory() {
            return Err(Error::NotPermitted("hard link to a directory"));
        }
        if inode.links() >= LINK_MAX {
            return Err(Error::TooManyLinks);
        }
        self.add_entry(parent, name, target, inode.file_type())?;
        self.adjust_links(target, 1)
    }

    /// Removes non-directory `name` from `parent`, freeing the inode at its last link.
    ///
    /// # Errors
    /// `IsDirectory`; `NotFound`; `ReadOnly`; `NotPermitted` for reserved inodes; `Corrupted`.
    pub fn unlink(&mut self, parent: u32, name: &[u8]) -> Result<()> {
        self.check_writable()?;
        check_name(name)?;
        self.check_user_inode(parent)?;
        let child = self.lookup(parent, name)?;
        self.check_user_inode(child)?;
        if self.read_inode(child)?.is_directory() {
            return Err(Error::IsDirectory);
        }
        self.remove_entry(parent, name)?;
        self.adjust_links(child, -1)
    }

    /// Removes empty directory `name` from `parent`.
    ///
    /// # Errors
    /// `NotDirectory`; `DirectoryNotEmpty`; `NotFound`; `InvalidArgument` for `.`/`..`.
    pub fn rmdir(&mut self, parent: u32, name: &[u8]) -> Result<()> {
        self.check_writable()?;
        check_name(name)?;
        self.check_user_inode(parent)?;
        let child = self.lookup(parent, name)?;
        self.check_user_inode(child)?;
        if child == ROOT_INODE {
            return Err(Error::NotPermitted("removing the root"));
        }
        self.directory_inode(child)?;
        if !self.is_empty_directory(child)? {
            return Err(Error::DirectoryNotEmpty);
        }
        self.remove_entry(parent, name)?;
        self.drop_directory(child)?;
        self.adjust_links(parent, -1)
    }

    /// Moves `name` of `parent` to `new_name` of `new_parent`, replacing a compatible target.
    ///
    /// # Errors
    /// `NotFound`; `IsDirectory`/`NotDirectory` for mismatched kinds; `DirectoryNotEmpty`;
    /// `InvalidArgument` when moving a directory below itself; `TooManyLinks`; `Corrupted`.
    pub fn rename(
        &mut self,
        parent: u32,
        name: &[u8],
        new_parent: u32,
        new_name: &[u8],
    ) -> Result<()> {
        self.check_writable()?;
        check_name(name)?;
        check_name(new_name)?;
        self.check_user_inode(parent)?;
        self.check_user_inode(new_parent)?;
        let source = self.lookup(parent, name)?;
        self.check_user_inode(source)?;
        self.directory_inode(new_parent)?;
        let source_inode = self.read_inode(source)?;
        let moving_directory = source_inode.is_directory();
        let target = match self.lookup(new_parent, new_name) {
            Ok(target) => Some(target),
            Err(Error::NotFound) => None,
            Err(error) => return Err(error),
        };
        if target == Some(source) {
            return Ok(());
        }
        if let Some(target) = target {
            self.check_user_inode(target)?;
            let target_is_directory = self.read_inode(target)?.is_directory();
            if moving_directory && !target_is_directory {
                return Err(Error::NotDirectory);
            }
            if !moving_directory && target_is_directory {
                return Err(Error::IsDirectory);
            }
            if target_is_directory && !self.is_empty_directory(target)? {
                return Err(Error::DirectoryNotEmpty);
            }
        }
        let crossing = moving_directory && parent != new_parent;
        if crossing {
            self.check_not_ancestor(source, new_parent)?;
            if target.is_none() && self.read_inode(new_parent)?.links() >= LINK_MAX {
                return Err(Error::TooManyLinks);
            }
        }
        let kind = source_inode.file_type();
        match target {
            Some(target) => {
                self.replace_entry(new_parent, new_name, source, kind)?;
                if moving_directory {
                    self.drop_directory(target)?;
                    self.adjust_links(new_parent, -1)?;
                } else {
                    self.adjust_links(target, -1)?;
                }
            }
            None => self.add_entry(new_parent, new_name, source, kind)?,
        }
        self.remove_entry(parent, name)?;
        if crossing {
            self.set_parent_entry(source, new_parent)?;
            self.adjust_links(parent, -1)?;
            self.adjust_links(new_parent, 1)?;
        }
        let mut inode = self.read_inode(source)?;
        inode.set_ctime(self.now() as i64);
        self.write_inode(&inode)
    }

    /// Fails when `directory` is `ancestor` or lies below it.
    fn check_not_ancestor(&mut self, ancestor: u32, directory: u32) -> Result<()> {
        let mut current = directory;
        for _ in 0..ANCESTRY_LIMIT {
            if current == ancestor {
                return Err(Error::InvalidArgument(
                    "cannot move a directory below itself",
                ));
            }
            if current == ROOT_INODE {
                return Ok(());
            }
            current = self.lookup(current, b"..")?;
        }
        Err(Corruption::DirectoryLoop { inode: directory }.into())
    }

    /// Changes permissions, owner, group or times of inode `number`; returns the new metadata.
    ///
    /// # Errors
    /// `ReadOnly`; `NotPermitted` for reserved inodes; `Corrupted`; `Device`.
    pub fn set_attributes(&mut self, number: u32, changes: SetAttributes) -> Result<Metadata> {
        self.check_writable()?;
        self.check_user_inode(number)?;
        let mut inode = self.read_inode(number)?;
        if let Some(permissions) = changes.permissions {
            inode.set_mode((inode.mode() & 0xF000) | (permissions & 0o7777));
        }
        if let Some(uid) = changes.uid {
            inode.set_uid(uid);
        }
        if let Some(gid) = changes.gid {
            inode.set_gid(gid);
        }
        if let Some(atime) = changes.atime {
            inode.set_atime(atime);
        }
        if let Some(mtime) = changes.mtime {
            inode.set_mtime(mtime);
        }
        inode.set_ctime(self.now() as i64);
        self.write_inode(&inode)?;
        Ok(inode.metadata())
    }

    /// `chmod`: sets the permission bits.
    ///
    /// # Errors
    /// As [`set_attributes`](Self::set_attributes).
    pub fn chmod(&mut self, number: u32, permissions: u16) -> Result<()> {
        let changes = SetAttributes {
            permissions: Some(permissions),
            ..SetAttributes::default()
        };
        self.set_attributes(number, changes).map(|_| ())
    }

    /// `chown`: sets owner and group.
    ///
    /// # Errors
    /// As [`set_attributes`](Self::set_attributes).
    pub fn chown(&mut self, number: u32, uid: u32, gid: u32) -> Result<()> {
        let changes = SetAttributes {
            uid: Some(uid),
            gid: Some(gid),
            ..SetAttributes::default()
        };
        self.set_attributes(number, changes).map(|_| ())
    }

    /// `utimes`: sets access and modification times.
    ///
    /// # Errors
    /// As [`set_attributes`](Self::set_attributes).
    pub fn utimes(&mut self, number: u32, atime: i64, mtime: i64) -> Result<()> {
        let changes = SetAttributes {
            atime: Some(atime),
            mtime: Some(mtime),
            ..SetAttributes::default()
        };
        self.set_attributes(number, changes).map(|_| ())
    }

    /// Adds `delta` to the link count of `number`, releasing it at zero.
    fn adjust_links(&mut self, number: u32, delta: i32) -> Result<()> {
        let mut inode = self.read_inode(number)?;
        let links = (i32::from(inode.links()) + delta).clamp(0, i32::from(u16::MAX)) as u16;
        inode.set_links(links);
        inode.set_ctime(self.now() as i64);
        if links == 0 {
            return self.release_inode(&mut inode);
        }
        self.write_inode(&inode)
    }

    /// Frees an emptied directory (its `.` and its parent's entry are gone).
    fn drop_directory(&mut self, number: u32) -> Result<()> {
        let mut inode = self.read_inode(number)?;
        inode.set_links(0);
        self.release_inode(&mut inode)
    }

    /// Frees the blocks, xattr block and number of an inode with no links left.
    fn release_inode(&mut self, inode: &mut Inode) -> Result<()> {
        let has_block_map = match inode.file_type() {
            FileType::Regular | FileType::Directory => true,
            FileType::Symlink => !self.is_fast_symlink(inode),
            _ => false,
        };
        if has_block_map {
            self.free_blocks_from(inode, 0)?;
        }
        self.release_xattr_block(inode)?;
        inode.set_links(0);
        inode.set_dtime(self.now() as u32);
        self.write_inode(inode)?;
        self.free_inode(inode.number, inode.is_directory())
    }

    /// Drops this inode's reference to its shared xattr block, freeing it at zero.
    fn release_xattr_block(&mut self, inode: &mut Inode) -> Result<()> {
        let block = inode.file_acl();
        if block == 0 {
            return Ok(());
        }
        self.check_data_block(block)?;
        let data = self.cache.get_mut(block)?;
        if le32(data, 0) != XATTR_MAGIC {
            return Err(Corruption::Inode {
                inode: inode.number,
                reason: "xattr block without magic",
            }
            .into());
        }
        let references = le32(data, 4);
        if references > 1 {
            put32(data, 4, references - 1);
        } else {
            self.free_block(block)?;
        }
        let sectors = inode
            .sectors()
            .saturating_sub(u64::from(self.sb.block_size / 512));
        inode.set_sectors(sectors);
        inode.set_file_acl(0);
        Ok(())
    }
}
