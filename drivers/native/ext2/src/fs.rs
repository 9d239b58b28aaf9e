//! The mounted file system: mount-time validation, geometry helpers, sync and unmount.
//!
//! Owns the block cache (and through it the device), the decoded superblock and the group
//! descriptors. Free counts live here in memory and reach the disk on [`FileSystem::sync`];
//! after every sync the on-disk image is consistent (e2fsck-clean) as a whole.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::cache::BlockCache;
use crate::device::BlockDevice;
use crate::error::{Corruption, Error, Result};
use crate::features::{CountKind, ReadOnlyReason};
use crate::layout::{
    self, GroupDescriptor, Superblock, STATE_ERRORS, STATE_VALID, SUPERBLOCK_OFFSET,
    SUPERBLOCK_SIZE,
};

/// How to mount.
#[derive(Clone, Copy, Debug)]
pub struct MountOptions {
    /// Never write to the device.
    pub read_only: bool,
    /// Most blocks the cache holds (at least 16).
    pub cache_blocks: usize,
    /// Current time in seconds since the Unix epoch, for inode and superblock times.
    pub clock: fn() -> u64,
}

#[cfg(feature = "std")]
fn default_clock() -> u64 {
    crate::host_clock()
}

#[cfg(not(feature = "std"))]
fn default_clock() -> u64 {
    0
}

impl Default for MountOptions {
    /// Read-write, 4096 cached blocks, and the host clock with `std` (else time 0).
    fn default() -> Self {
        Self {
            read_only: false,
            cache_blocks: 4096,
            clock: default_clock,
        }
    }
}

/// File-system wide figures, as `statfs` wants them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatFs {
    /// Block size in bytes.
    pub block_size: u32,
    /// Blocks in the file system.
    pub blocks: u64,
    /// Free blocks (including the root-reserved ones).
    pub free_blocks: u64,
    /// Inodes in the file system.
    pub inodes: u32,
    /// Free inodes.
    pub free_inodes: u32,
    /// Longest name.
    pub name_max: u32,
}

/// What the superblock said about the file system when it was mounted (`s_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MountState {
    /// The valid bit was set: the last mount ended with a clean unmount.
    pub clean: bool,
    /// The error bit was set: a kernel or tool recorded an inconsistency.
    pub errors: bool,
}

impl MountState {
    /// Whether e2fsck should check the file system before it is trusted.
    pub fn needs_check(&self) -> bool {
        !self.clean || self.errors
    }
}

impl fmt::Display for MountState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.clean, self.errors) {
            (true, false) => f.write_str("clean"),
            (_, true) => f.write_str("errors recorded; run e2fsck"),
            (false, false) => f.write_str("not cleanly unmounted; run e2fsck"),
        }
    }
}

/// A mounted ext2 file system over a [`BlockDevice`].
pub struct FileSystem<D: BlockDevice> {
    pub(crate) cache: BlockCache<D>,
    pub(crate) sb: Superblock,
    pub(crate) groups: Vec<GroupDescriptor>,
    pub(crate) descriptor_table: Vec<u8>,
    pub(crate) read_only: Option<ReadOnlyReason>,
    /// `s_state` as found at mount; unmount gives the valid bit back only if it was set.
    mount_state: u16,
    pub(crate) metadata_dirty: bool,
    pub(crate) clock: fn() -> u64,
    /// Indexed directories whose whole index was checked against their entries (`true`:
    /// an index miss proves a name absent), by inode number.
    pub(crate) checked_indexes: BTreeMap<u32, bool>,
}

impl<D: BlockDevice> FileSystem<D> {
    /// Mounts the file system on `device`.
    ///
    /// # Errors
    /// `BadMagic` for a non-ext2 device; `JournalNeedsRecovery`; `UnsupportedFeatures` naming
    /// the incompat features not implemented; `Corrupted` when the superblock, descriptors or
    /// (read-write only) bitmaps and free counts disagree; `Device` on I/O failure.
    pub fn mount(mut device: D, options: MountOptions) -> Result<Self> {
        let sector = device.sector_size();
        if sector == 0 || !sector.is_power_of_two() || sector > 1024 {
            return Err(Error::InvalidArgument(
                "device sector size must be a power of two <= 1024",
            ));
        }
        let start = SUPERBLOCK_OFFSET;
        let mut raw = vec![0u8; SUPERBLOCK_SIZE];
        if device.len() < start + SUPERBLOCK_SIZE as u64 {
            return Err(Error::BadMagic);
        }
        device.read_at(start, &mut raw)?;
        let (sb, forced_read_only) = Superblock::parse(&raw, device.len())?;
        let read_only = forced_read_only.or(options.read_only.then_some(ReadOnlyReason::Requested));
        let mount_state = layout::le16(&sb.raw, 58);
        let cache = BlockCache::new(device, sb.block_size, sb.blocks_count, options.cache_blocks);
        let mut fs = Self {
            cache,
            sb,
            groups: Vec::new(),
            descriptor_table: Vec::new(),
            read_only,
            mount_state,
            metadata_dirty: false,
            clock: options.clock,
            checked_indexes: BTreeMap::new(),
        };
        let table_start = u64::from(fs.sb.first_data_block) + 1;
        for index in 0..u64::from(fs.sb.descriptor_blocks()) {
            let block = fs.cache.get(table_start + index)?;
            fs.descriptor_table.extend_from_slice(block);
        }
        fs.groups = layout::parse_descriptors(&fs.sb, &fs.descriptor_table)?;
        let root = fs.read_inode(layout::ROOT_INODE)?;
        if !root.is_directory() {
            return Err(Corruption::Inode {
                inode: layout::ROOT_INODE,
                reason: "root is not a directory",
            }
            .into());
        }
        // Counts that disagree with the bitmaps turn a read-write mount into a read-only one
        // that says why, rather than refusing the data or silently rewriting the counts.
        if let Some(reason) = fs.check_summary_counts(fs.read_only.is_none())? {
            fs.read_only.get_or_insert(reason);
        }
        if fs.read_only.is_none() {
            let now = fs.now() as u32;
            let raw = &mut fs.sb.raw;
            // While mounted the image is "not clean"; the error bit and others stay as found.
            let state = layout::le16(raw, 58) & !STATE_VALID;
            layout::put16(raw, 58, state);
            let mounts = layout::le16(raw, 52).wrapping_add(1);
            layout::put16(raw, 52, mounts);
            layout::put32(raw, 44, now);
            fs.metadata_dirty = true;
            fs.sync()?;
        }
        Ok(fs)
    }

    /// The state the superblock recorded at mount: clean or not, errors or not.
    pub fn mount_state(&self) -> MountState {
        MountState {
            clean: self.mount_state & STATE_VALID != 0,
            errors: self.mount_state & STATE_ERRORS != 0,
        }
    }

    /// Why the mount is read-only, or `None` for a read-write mount.
    pub fn read_only_reason(&self) -> Option<ReadOnlyReason> {
        self.read_only
    }

    /// File-system wide counts.
    pub fn statfs(&self) -> StatFs {
        StatFs {
            block_size: self.sb.block_size,
            blocks: self.sb.blocks_count,
            free_blocks: self.sb.free_blocks,
            inodes: self.sb.inodes_count,
            free_inodes: self.sb.free_inodes,
            name_max: 255,
        }
    }

    /// Blocks modified in the cache and not yet written to the device.
    pub fn dirty_blocks(&self) -> usize {
        self.cache.dirty_blocks()
    }

    /// The root directory's inode number (2).
    pub fn root(&self) -> u32 {
        layout::ROOT_INODE
    }

    /// Writes the superblock, descriptors (and their backups) and every dirty block, then
    /// flushes the device. The image is consistent when this returns `Ok`.
    ///
    /// # Errors
    /// `Device` on I/O failure (dirty data stays cached for a retry).
    pub fn sync(&mut self) -> Result<()> {
        if self.read_only.is_none() && self.metadata_dirty {
            let now = self.now() as u32;
            layout::put32(&mut self.sb.raw, 48, now);
            self.write_metadata()?;
            self.metadata_dirty = false;
        }
        self.cache.flush()
    }

    /// Syncs and gives the device back. The valid (clean) bit is set again only if it was
    /// set at mount: an image that was not clean, or had errors recorded, keeps saying so
    /// until e2fsck has checked it (the error bit is never cleared here).
    ///
    /// # Errors
    /// As [`sync`](Self::sync).
    pub fn unmount(mut self) -> Result<D> {
        if self.read_only.is_none() {
            let state = layout::le16(&self.sb.raw, 58) | (self.mount_state & STATE_VALID);
            layout::put16(&mut self.sb.raw, 58, state);
            self.metadata_dirty = true;
        }
        self.sync()?;
        Ok(self.cache.into_device())
    }

    fn write_metadata(&mut self) -> Result<()> {
        layout::encode_descriptors(&self.groups, &mut self.descriptor_table);
        let block_size = self.sb.block_size as usize;
        for group in 0..self.sb.group_count {
            if !self.sb.has_backup(group) {
                continue;
            }
            let copy = self.sb.encode(group);
            let start = self.sb.group_start(group);
            // The primary lives at byte 1024; backups start their group's first block.
            let (block, offset) = if group == 0 && block_size > 1024 {
                (0, 1024)
            } else {
                (start, 0)
            };
            self.cache.get_mut(block)?[offset..offset + SUPERBLOCK_SIZE].copy_from_slice(&copy);
            for (index, chunk) in self.descriptor_table.chunks(block_size).enumerate() {
                let target = self.cache.get_mut(start + 1 + index as u64)?;
                target[..chunk.len()].copy_from_slice(chunk);
            }
        }
        Ok(())
    }

    /// Checks the groups' summary counts. With `full` (a read-write mount) every group's free
    /// counts are compared with its bitmaps; otherwise only counts beyond their group's size
    /// are recounted. Wrong counts are replaced in memory by the bitmaps' (so `statfs` stays
    /// sane) and the first one is returned; the totals become the sum of the groups.
    fn check_summary_counts(&mut self, full: bool) -> Result<Option<ReadOnlyReason>> {
        let mut first_wrong = None;
        let (mut free_blocks, mut free_inodes) = (0u64, 0u32);
        let per_group = self.sb.inodes_per_group;
        for group in 0..self.sb.group_count {
            let descriptor = self.groups[group as usize];
            let length = self.sb.group_length(group);
            let mut checked = descriptor;
            if full || descriptor.free_blocks > length {
                let bitmap = self.cache.get(descriptor.block_bitmap)?;
                checked.free_blocks = count_zero_bits(bitmap, length as usize);
            }
            if full || descriptor.free_inodes > per_group {
                let bitmap = self.cache.get(descriptor.inode_bitmap)?;
                checked.free_inodes = count_zero_bits(bitmap, per_group as usize);
            }
            // Directories cannot be recounted without reading the inode table; only a count
            // above the inodes in use is known to be wrong.
            let in_use = per_group - checked.free_inodes;
            checked.used_dirs = checked.used_dirs.min(in_use);
            let wrong = [
                (
                    CountKind::FreeBlocks,
                    descriptor.free_blocks,
                    checked.free_blocks,
                ),
                (
                    CountKind::FreeInodes,
                    descriptor.free_inodes,
                    checked.free_inodes,
                ),
                (
                    CountKind::UsedDirectories,
                    descriptor.used_dirs,
                    checked.used_dirs,
                ),
            ]
            .into_iter()
            .find(|(_, recorded, actual)| recorded != actual);
            if let (None, Some((kind, recorded, actual))) = (first_wrong, wrong) {
                first_wrong = Some(ReadOnlyReason::SummaryCount {
                    group,
                    kind,
                    recorded,
                    actual: if kind == CountKind::UsedDirectories {
                        in_use
                    } else {
                        actual
                    },
                });
            }
            self.groups[group as usize] = checked;
            free_blocks += u64::from(checked.free_blocks);
            free_inodes += checked.free_inodes;
        }
        // Superblock totals are a cache of the groups' (e2fsck updates them silently).
        if self.sb.free_blocks != free_blocks || self.sb.free_inodes != free_inodes {
            self.sb.free_blocks = free_blocks;
            self.sb.free_inodes = free_inodes;
            self.metadata_dirty = true;
        }
        Ok(first_wrong)
    }

    pub(crate) fn now(&self) -> u64 {
        (self.clock)()
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        match self.read_only {
            Some(_) => Err(Error::ReadOnly),
            None => Ok(()),
        }
    }

    pub(crate) fn block_size(&self) -> usize {
        self.sb.block_size as usize
    }

    /// Validates a block pointer read from the image as a data or indirect block.
    pub(crate) fn check_data_block(&self, block: u64) -> Result<u64> {
        check_data_block(&self.sb, &self.groups, block)
    }
}

/// Whether `block` is file-system metadata (boot block, superblock or descriptor copies,
/// reserved descriptor blocks, bitmaps, inode tables) rather than a data block.
pub(crate) fn is_metadata(sb: &Superblock, groups: &[GroupDescriptor], block: u64) -> bool {
    let first = u64::from(sb.first_data_block);
    if block < first {
        return true;
    }
    let group = ((block - first) / u64::from(sb.blocks_per_group)) as u32;
    let Some(descriptor) = groups.get(group as usize) else {
        return true;
    };
    if block >= descriptor.metadata_end {
        // Past the group's metadata (the common case, checked for every block of a file).
        return false;
    }
    let offset = block - sb.group_start(group);
    offset < u64::from(sb.backup_blocks(group))
        || block == descriptor.block_bitmap
        || block == descriptor.inode_bitmap
        || (block >= descriptor.inode_table
            && block < descriptor.inode_table + u64::from(sb.inode_table_blocks()))
}

/// [`FileSystem::check_data_block`] over the parts it reads.
pub(crate) fn check_data_block(
    sb: &Superblock,
    groups: &[GroupDescriptor],
    block: u64,
) -> Result<u64> {
    if block >= sb.blocks_count || is_metadata(sb, groups, block) {
        return Err(Corruption::BlockOutOfRange { block }.into());
    }
    Ok(block)
}

/// Zero bits among the first `length` bits of `bitmap`.
pub(crate) fn count_zero_bits(bitmap: &[u8], length: usize) -> u32 {
    let length = length.min(bitmap.len() * 8);
    let whole = length / 8;
    let mut zeros: u32 = bitmap[..whole].iter().map(|byte| byte.count_zeros()).sum();
    for bit in whole * 8..length {
        if bitmap[bit / 8] & (1 << (bit % 8)) == 0 {
            zeros += 1;
        }
    }
    zeros
}
