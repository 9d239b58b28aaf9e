//! On-disk superblock and group descriptors (ext2 layout): decoding, validation, encoding.
//!
//! The raw 1024-byte superblock and the raw descriptor table are kept, so fields this driver
//! does not interpret are written back unchanged; only the fields it maintains are patched.

use alloc::vec::Vec;

use crate::error::{Corruption, Error, Result};
use crate::features::{self, ReadOnlyReason};

/// Byte offset of the primary superblock on the device.
pub const SUPERBLOCK_OFFSET: u64 = 1024;
/// Size of the superblock record.
pub const SUPERBLOCK_SIZE: usize = 1024;
const MAGIC: u16 = 0xEF53;
/// `s_state` bit: cleanly unmounted.
pub const STATE_VALID: u16 = 1;
/// `s_state` bit: errors were detected.
pub const STATE_ERRORS: u16 = 2;
/// Size of one group descriptor without the 64bit feature.
pub const DESCRIPTOR_SIZE: usize = 32;
/// The root directory inode.
pub const ROOT_INODE: u32 = 2;

pub(crate) fn le16(bytes: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes([bytes[offset], bytes[offset + 1]])
}

pub(crate) fn le32(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes([
        bytes[offset],
        bytes[offset + 1],
        bytes[offset + 2],
        bytes[offset + 3],
    ])
}

pub(crate) fn put16(bytes: &mut [u8], offset: usize, value: u16) {
    bytes[offset..offset + 2].copy_from_slice(&value.to_le_bytes());
}

pub(crate) fn put32(bytes: &mut [u8], offset: usize, value: u32) {
    bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

/// The decoded superblock plus its raw bytes.
#[derive(Clone, Debug)]
pub struct Superblock {
    pub raw: [u8; SUPERBLOCK_SIZE],
    pub inodes_count: u32,
    pub blocks_count: u64,
    pub free_blocks: u64,
    pub free_inodes: u32,
    pub first_data_block: u32,
    pub block_size: u32,
    pub blocks_per_group: u32,
    pub inodes_per_group: u32,
    pub revision: u32,
    pub first_inode: u32,
    pub inode_size: u32,
    pub compat: u32,
    pub incompat: u32,
    pub ro_compat: u32,
    pub group_count: u32,
    pub reserved_gdt_blocks: u32,
}

impl Superblock {
    /// Decodes and validates the superblock against a device of `device_length` bytes.
    ///
    /// Returns the superblock and, when only a read-only mount is possible, the reason.
    pub fn parse(raw: &[u8], device_length: u64) -> Result<(Self, Option<ReadOnlyReason>)> {
        let raw: [u8; SUPERBLOCK_SIZE] = raw
            .get(..SUPERBLOCK_SIZE)
            .and_then(|slice| slice.try_into().ok())
            .ok_or(Error::BadMagic)?;
        if le16(&raw, 56) != MAGIC {
            return Err(Error::BadMagic);
        }
        let bad = |field| Error::Corrupted(Corruption::Superblock(field));
        let revision = le32(&raw, 76);
        let log_block = le32(&raw, 24);
        if log_block > 6 {
            return Err(bad("s_log_block_size"));
        }
        let block_size = 1024u32 << log_block;
        let (compat, incompat, ro_compat) = if revision >= 1 {
            (le32(&raw, 92), le32(&raw, 96), le32(&raw, 100))
        } else {
            (0, 0, 0)
        };
        if incompat & features::INCOMPAT_RECOVER != 0 {
            return Err(Error::JournalNeedsRecovery);
        }
        let unknown = incompat & !features::INCOMPAT_SUPPORTED;
        if unknown != 0 {
            return Err(Error::UnsupportedFeatures(unknown));
        }
        let blocks_count = u64::from(le32(&raw, 4));
        let first_data_block = le32(&raw, 20);
        if first_data_block != u32::from(block_size == 1024) {
            return Err(bad("s_first_data_block"));
        }
        if blocks_count <= u64::from(first_data_block) + 1 {
            return Err(bad("s_blocks_count"));
        }
        let blocks_per_group = le32(&raw, 32);
        // Free counts in a descriptor are 16 bits wide, hence the 65528 cap.
        let group_limit = (8 * block_size).min(65528);
        if blocks_per_group == 0 || blocks_per_group > group_limit || blocks_per_group % 8 != 0 {
            return Err(bad("s_blocks_per_group"));
        }
        let inodes_per_group = le32(&raw, 40);
        if inodes_per_group == 0 || inodes_per_group > group_limit || inodes_per_group % 8 != 0 {
            return Err(bad("s_inodes_per_group"));
        }
        let data_blocks = blocks_count - u64::from(first_data_block);
        let group_count = data_blocks.div_ceil(u64::from(blocks_per_group));
        let inodes_count = le32(&raw, 0);
        if u64::from(inodes_count) != group_count * u64::from(inodes_per_group) {
            return Err(bad("s_inodes_count"));
        }
        let group_count = group_count as u32;
        let (first_inode, inode_size) = if revision >= 1 {
            (le32(&raw, 84), u32::from(le16(&raw, 88)))
        } else {
            (11, 128)
        };
        if inode_size < 128 || !inode_size.is_power_of_two() || inode_size > block_size {
            return Err(bad("s_inode_size"));
        }
        if first_inode < 11 || first_inode >= inodes_count {
            return Err(bad("s_first_ino"));
        }
        let reserved_gdt_blocks = if compat & features::COMPAT_RESIZE_INODE != 0 {
            u32::from(le16(&raw, 206))
        } else {
            0
        };
        if reserved_gdt_blocks > block_size / 4 {
            return Err(bad("s_reserved_gdt_blocks"));
        }
        let needed = blocks_count * u64::from(block_size);
        if needed > device_length {
            return Err(Corruption::DeviceTooSmall {
                needed,
                available: device_length,
            }
            .into());
        }
        let read_only = if revision > 1 {
            Some(ReadOnlyReason::NewerRevision)
        } else if ro_compat & !features::RO_COMPAT_SUPPORTED != 0 {
            Some(ReadOnlyReason::UnknownRoCompat(
                ro_compat & !features::RO_COMPAT_SUPPORTED,
            ))
        } else {
            None
        };
        let superblock = Self {
            raw,
            inodes_count,
            blocks_count,
            free_blocks: u64::from(le32(&raw, 12)),
            free_inodes: le32(&raw, 16),
            first_data_block,
            block_size,
            blocks_per_group,
            inodes_per_group,
            revision,
            first_inode,
            inode_size,
            compat,
            incompat,
            ro_compat,
            group_count,
            reserved_gdt_blocks,
        };
        Ok((superblock, read_only))
    }

    /// Blocks holding the group descriptor table.
    pub fn descriptor_blocks(&self) -> u32 {
        (self.group_count as usize * DESCRIPTOR_SIZE).div_ceil(self.block_size as usize) as u32
    }

    /// Inode table blocks per group.
    pub fn inode_table_blocks(&self) -> u32 {
        (self.inodes_per_group * self.inode_size).div_ceil(self.block_size)
    }

    /// First block of `group`.
    pub fn group_start(&self, group: u32) -> u64 {
        u64::from(self.first_data_block) + u64::from(group) * u64::from(self.blocks_per_group)
    }

    /// Number of blocks in `group` (the last one may be short).
    pub fn group_length(&self, group: u32) -> u32 {
        let end =
            (self.group_start(group) + u64::from(self.blocks_per_group)).min(self.blocks_count);
        (end - self.group_start(group)) as u32
    }

    /// Whether `group` carries a superblock and descriptor backup.
    pub fn has_backup(&self, group: u32) -> bool {
        if self.compat & features::COMPAT_SPARSE_SUPER2 != 0 {
            // s_backup_bgs[2] at 0x24C names the only two backup groups.
            return group == 0
                || group == le32(&self.raw, 0x24C)
                || group == le32(&self.raw, 0x250);
        }
        if group <= 1 || self.ro_compat & features::RO_COMPAT_SPARSE_SUPER == 0 {
            return true;
        }
        [3u32, 5, 7].iter().any(|&base| {
            let mut power = base;
            while power < group {
                power = power.saturating_mul(base);
            }
            power == group
        })
    }

    /// Blocks at the start of `group` taken by the superblock, descriptors and reserved GDT.
    pub fn backup_blocks(&self, group: u32) -> u32 {
        if self.has_backup(group) {
            1 + self.descriptor_blocks() + self.reserved_gdt_blocks
        } else {
            0
        }
    }

    /// Whether large files are flagged.
    pub fn has_large_file(&self) -> bool {
        self.ro_compat & features::RO_COMPAT_LARGE_FILE != 0
    }

    /// Whether directory entries carry a file type.
    pub fn has_filetype(&self) -> bool {
        self.incompat & features::INCOMPAT_FILETYPE != 0
    }

    /// Patches the maintained fields into `raw` and returns it, with `s_block_group_nr = group`.
    pub fn encode(&mut self, group: u32) -> [u8; SUPERBLOCK_SIZE] {
        put32(&mut self.raw, 12, self.free_blocks as u32);
        put32(&mut self.raw, 16, self.free_inodes);
        if self.revision >= 1 {
            put32(&mut self.raw, 100, self.ro_compat);
        }
        let mut copy = self.raw;
        if self.revision >= 1 {
            put16(&mut copy, 90, group as u16);
        }
        copy
    }
}

/// One group descriptor (the fields this driver uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupDescriptor {
    pub block_bitmap: u64,
    pub inode_bitmap: u64,
    pub inode_table: u64,
    pub free_blocks: u32,
    pub free_inodes: u32,
    pub used_dirs: u32,
    /// The first block past all of the group's metadata (backups, bitmaps, inode table):
    /// every block from here to the group's end is a data block. Derived, not stored.
    pub metadata_end: u64,
}

/// Decodes all descriptors from the raw table and validates where their metadata lives.
///
/// The free and used-directory counts are summaries, not checked here: the mount decides
/// what to do with counts that disagree with the bitmaps.
pub fn parse_descriptors(sb: &Superblock, table: &[u8]) -> Result<Vec<GroupDescriptor>> {
    let mut groups = Vec::with_capacity(sb.group_count as usize);
    for group in 0..sb.group_count {
        let raw = &table[group as usize * DESCRIPTOR_SIZE..][..DESCRIPTOR_SIZE];
        let descriptor = GroupDescriptor {
            block_bitmap: u64::from(le32(raw, 0)),
            inode_bitmap: u64::from(le32(raw, 4)),
            inode_table: u64::from(le32(raw, 8)),
            free_blocks: u32::from(le16(raw, 12)),
            free_inodes: u32::from(le16(raw, 14)),
            used_dirs: u32::from(le16(raw, 16)),
            metadata_end: 0,
        };
        // Without flex_bg every group's metadata lives after its backup area, inside the group.
        let start = sb.group_start(group) + u64::from(sb.backup_blocks(group));
        let end = sb.group_start(group) + u64::from(sb.group_length(group));
        let inside = |block: u64, length: u64| block >= start && block + length <= end;
        let table_blocks = u64::from(sb.inode_table_blocks());
        let overlaps = |a: u64, b: u64, length: u64| a < b + length && b < a + 1;
        if !inside(descriptor.block_bitmap, 1)
            || !inside(descriptor.inode_bitmap, 1)
            || !inside(descriptor.inode_table, table_blocks)
            || descriptor.block_bitmap == descriptor.inode_bitmap
            || overlaps(
                descriptor.block_bitmap,
                descriptor.inode_table,
                table_blocks,
            )
            || overlaps(
                descriptor.inode_bitmap,
                descriptor.inode_table,
                table_blocks,
            )
        {
            return Err(Corruption::GroupDescriptor { group }.into());
        }
        let metadata_end = start
            .max(descriptor.block_bitmap + 1)
            .max(descriptor.inode_bitmap + 1)
            .max(descriptor.inode_table + table_blocks);
        groups.push(GroupDescriptor {
            metadata_end,
            ..descriptor
        });
    }
    Ok(groups)
}

/// Patches the maintained counts of `groups` into the raw table.
pub fn encode_descriptors(groups: &[GroupDescriptor], table: &mut [u8]) {
    for (index, descriptor) in groups.iter().enumerate() {
        let raw = &mut table[index * DESCRIPTOR_SIZE..][..DESCRIPTOR_SIZE];
        put16(raw, 12, descriptor.free_blocks as u16);
        put16(raw, 14, descriptor.free_inodes as u16);
        put16(raw, 16, descriptor.used_dirs as u16);
    }
}
