//! Inodes (ext2 layout, inode table): location, raw field access, public metadata types.
//!
//! An [`Inode`] is a copy of the whole on-disk record; accessors decode and patch single
//! fields, so fields this driver does not interpret (in-inode xattrs, osd fields) survive.

use alloc::vec::Vec;

use crate::device::BlockDevice;
use crate::error::{Corruption, Result};
use crate::fs::FileSystem;
use crate::layout::{le16, le32, put16, put32};

/// Inode flag: the directory has a hashed index (htree).
pub const INDEX_FLAG: u32 = 0x1000;
/// Flags that change how `i_block` is interpreted; none is supported on ext2.
const UNSUPPORTED_FLAGS: u32 = 0x0008_0000 | 0x1000_0000;
/// ext2's link count ceiling.
pub const LINK_MAX: u16 = 32000;

/// What kind of object an inode is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// Regular file.
    Regular,
    /// Directory.
    Directory,
    /// Symbolic link.
    Symlink,
    /// Character device.
    CharacterDevice,
    /// Block device.
    BlockDevice,
    /// Named pipe.
    Fifo,
    /// Unix socket.
    Socket,
    /// Not a valid type.
    Unknown,
}

impl FileType {
    /// From the `S_IFMT` bits of a mode.
    pub fn from_mode(mode: u16) -> Self {
        match mode & 0xF000 {
            0x8000 => FileType::Regular,
            0x4000 => FileType::Directory,
            0xA000 => FileType::Symlink,
            0x2000 => FileType::CharacterDevice,
            0x6000 => FileType::BlockDevice,
            0x1000 => FileType::Fifo,
            0xC000 => FileType::Socket,
            _ => FileType::Unknown,
        }
    }

    /// The `S_IFMT` bits.
    pub fn mode_bits(self) -> u16 {
        match self {
            FileType::Regular => 0x8000,
            FileType::Directory => 0x4000,
            FileType::Symlink => 0xA000,
            FileType::CharacterDevice => 0x2000,
            FileType::BlockDevice => 0x6000,
            FileType::Fifo => 0x1000,
            FileType::Socket => 0xC000,
            FileType::Unknown => 0,
        }
    }

    /// The directory-entry type byte (filetype feature).
    pub fn entry_type(self) -> u8 {
        match self {
            FileType::Unknown => 0,
            FileType::Regular => 1,
            FileType::Directory => 2,
            FileType::CharacterDevice => 3,
            FileType::BlockDevice => 4,
            FileType::Fifo => 5,
            FileType::Socket => 6,
            FileType::Symlink => 7,
        }
    }

    /// From a directory-entry type byte.
    pub fn from_entry_type(byte: u8) -> Self {
        match byte {
            1 => FileType::Regular,
            2 => FileType::Directory,
            3 => FileType::CharacterDevice,
            4 => FileType::BlockDevice,
            5 => FileType::Fifo,
            6 => FileType::Socket,
            7 => FileType::Symlink,
            _ => FileType::Unknown,
        }
    }
}

/// A point in time: seconds since the epoch and nanoseconds (zero on 128-byte inodes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Timestamp {
    /// Seconds since 1970-01-01 UTC.
    pub seconds: i64,
    /// Nanoseconds within the second.
    pub nanoseconds: u32,
}

/// What `stat` reports about an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// Inode number.
    pub inode: u32,
    /// Object kind.
    pub file_type: FileType,
    /// Permission bits (`0o7777`).
    pub permissions: u16,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Hard link count.
    pub links: u16,
    /// Allocated 512-byte sectors (data, indirect and xattr blocks).
    pub sectors: u64,
    /// Last access.
    pub atime: Timestamp,
    /// Last data change.
    pub mtime: Timestamp,
    /// Last inode change.
    pub ctime: Timestamp,
    /// ext2 inode flags.
    pub flags: u32,
    /// Device number of character and block devices (`major << 8 | minor`, or the new encoding).
    pub device: u32,
}

/// A copy of one on-disk inode record.
#[derive(Clone, Debug)]
pub struct Inode {
    pub(crate) number: u32,
    pub(crate) raw: Vec<u8>,
}

impl Inode {
    pub(crate) fn mode(&self) -> u16 {
        le16(&self.raw, 0)
    }
    pub(crate) fn set_mode(&mut self, mode: u16) {
        put16(&mut self.raw, 0, mode);
    }
    pub(crate) fn file_type(&self) -> FileType {
        FileType::from_mode(self.mode())
    }
    pub(crate) fn is_directory(&self) -> bool {
        self.file_type() == FileType::Directory
    }
    pub(crate) fn uid(&self) -> u32 {
        u32::from(le16(&self.raw, 2)) | u32::from(le16(&self.raw, 120)) << 16
    }
    pub(crate) fn set_uid(&mut self, uid: u32) {
        put16(&mut self.raw, 2, uid as u16);
        put16(&mut self.raw, 120, (uid >> 16) as u16);
    }
    pub(crate) fn gid(&self) -> u32 {
        u32::from(le16(&self.raw, 24)) | u32::from(le16(&self.raw, 122)) << 16
    }
    pub(crate) fn set_gid(&mut self, gid: u32) {
        put16(&mut self.raw, 24, gid as u16);
        put16(&mut self.raw, 122, (gid >> 16) as u16);
    }
    /// Size in bytes (`i_size_high` counts for every type, as e2fsprogs reads it).
    pub(crate) fn size(&self) -> u64 {
        u64::from(le32(&self.raw, 4)) | u64::from(le32(&self.raw, 108)) << 32
    }
    pub(crate) fn set_size(&mut self, size: u64) {
        put32(&mut self.raw, 4, size as u32);
        put32(&mut self.raw, 108, (size >> 32) as u32);
    }
    pub(crate) fn links(&self) -> u16 {
        le16(&self.raw, 26)
    }
    pub(crate) fn set_links(&mut self, links: u16) {
        put16(&mut self.raw, 26, links);
    }
    pub(crate) fn sectors(&self) -> u64 {
        u64::from(le32(&self.raw, 28))
    }
    pub(crate) fn set_sectors(&mut self, sectors: u64) {
        put32(&mut self.raw, 28, sectors as u32);
    }
    pub(crate) fn flags(&self) -> u32 {
        le32(&self.raw, 32)
    }
    pub(crate) fn set_flags(&mut self, flags: u32) {
        put32(&mut self.raw, 32, flags);
    }
    pub(crate) fn block(&self, index: usize) -> u32 {
        le32(&self.raw, 40 + 4 * index)
    }
    pub(crate) fn set_block(&mut self, index: usize, value: u32) {
        put32(&mut self.raw, 40 + 4 * index, value);
    }
    /// The 60 bytes of `i_block`, where fast symlinks keep their target.
    pub(crate) fn block_bytes(&self) -> &[u8] {
        &self.raw[40..100]
    }
    pub(crate) fn block_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.raw[40..100]
    }
    pub(crate) fn file_acl(&self) -> u64 {
        u64::from(le32(&self.raw, 104))
    }
    pub(crate) fn set_file_acl(&mut self, block: u64) {
        put32(&mut self.raw, 104, block as u32);
    }
    pub(crate) fn set_dtime(&mut self, time: u32) {
        put32(&mut self.raw, 20, time);
    }

    fn extra_size(&self) -> usize {
        if self.raw.len() > 128 {
            usize::from(le16(&self.raw, 128)).min(self.raw.len() - 128)
        } else {
            0
        }
    }

    /// Reads time `slot` (0 atime, 1 ctime, 2 mtime) with its extra word when present.
    fn time(&self, slot: usize) -> Timestamp {
        let (base, extra) = [(8, 140), (12, 132), (16, 136)][slot];
        let seconds = i64::from(le32(&self.raw, base) as i32);
        if self.extra_size() + 128 >= extra + 4 {
            let word = le32(&self.raw, extra);
            Timestamp {
                seconds: seconds + (i64::from(word & 3) << 32),
                nanoseconds: word >> 2,
            }
        } else {
            Timestamp {
                seconds,
                nanoseconds: 0,
            }
        }
    }

    fn set_time(&mut self, slot: usize, seconds: i64) {
        let (base, extra) = [(8, 140), (12, 132), (16, 136)][slot];
        put32(&mut self.raw, base, seconds as u32);
        if self.extra_size() + 128 >= extra + 4 {
            let epoch = ((seconds - i64::from(seconds as u32 as i32)) >> 32) as u32 & 3;
            put32(&mut self.raw, extra, epoch);
        }
    }

    pub(crate) fn set_atime(&mut self, seconds: i64) {
        self.set_time(0, seconds);
    }
    pub(crate) fn set_ctime(&mut self, seconds: i64) {
        self.set_time(1, seconds);
    }
    pub(crate) fn set_mtime(&mut self, seconds: i64) {
        self.set_time(2, seconds);
    }

    /// The public view of this inode.
    pub(crate) fn metadata(&self) -> Metadata {
        let file_type = self.file_type();
        let device = match file_type {
            FileType::CharacterDevice | FileType::BlockDevice => {
                if self.block(0) != 0 {
                    self.block(0)
                } else {
                    self.block(1)
                }
            }
            _ => 0,
        };
        Metadata {
            inode: self.number,
            file_type,
            permissions: self.mode() & 0o7777,
            uid: self.uid(),
            gid: self.gid(),
            size: self.size(),
            links: self.links(),
            sectors: self.sectors(),
            atime: self.time(0),
            mtime: self.time(2),
            ctime: self.time(1),
            flags: self.flags(),
            device,
        }
    }

    /// Whether the block map uses a scheme other than ext2's indirect blocks.
    pub(crate) fn check_block_map(&self) -> Result<()> {
        if self.flags() & UNSUPPORTED_FLAGS != 0 {
            return Err(Corruption::Inode {
                inode: self.number,
                reason: "extent or inline-data flag on an ext2 inode",
            }
            .into());
        }
        Ok(())
    }
}

impl<D: BlockDevice> FileSystem<D> {
    fn inode_location(&self, number: u32) -> Result<(u64, usize)> {
        if number == 0 || number > self.sb.inodes_count {
            return Err(Corruption::InodeOutOfRange {
                inode: u64::from(number),
            }
            .into());
        }
        let index = number - 1;
        let group = (index / self.sb.inodes_per_group) as usize;
        let byte = u64::from(index % self.sb.inodes_per_group) * u64::from(self.sb.inode_size);
        let block_size = u64::from(self.sb.block_size);
        let block = self.groups[group].inode_table + byte / block_size;
        Ok((block, (byte % block_size) as usize))
    }

    /// Reads inode `number` (1-based).
    pub(crate) fn read_inode(&mut self, number: u32) -> Result<Inode> {
        let (block, offset) = self.inode_location(number)?;
        let size = self.sb.inode_size as usize;
        let data = self.cache.get(block)?;
        Ok(Inode {
            number,
            raw: data[offset..offset + size].to_vec(),
        })
    }

    /// Writes `inode` back into the inode table.
    pub(crate) fn write_inode(&mut self, inode: &Inode) -> Result<()> {
        let (block, offset) = self.inode_location(inode.number)?;
        let data = self.cache.get_mut(block)?;
        data[offset..offset + inode.raw.len()].copy_from_slice(&inode.raw);
        Ok(())
    }

    /// A zeroed inode record for a newly allocated number, with `i_extra_isize` set the way
    /// mke2fs does so e2fsck accepts it.
    pub(crate) fn fresh_inode(&self, number: u32) -> Inode {
        let mut raw = alloc::vec![0u8; self.sb.inode_size as usize];
        if raw.len() >= 160 {
            put16(&mut raw, 128, 32);
        }
        Inode { number, raw }
    }

    /// `stat` of inode `number`.
    ///
    /// # Errors
    /// `Corrupted` for an inode number out of range; `Device` on I/O failure.
    pub fn metadata(&mut self, number: u32) -> Result<Metadata> {
        Ok(self.read_inode(number)?.metadata())
    }
}
