//! Block and inode allocation over the group bitmaps, keeping every free count exact.
//!
//! Each change to a bitmap bit updates the group descriptor and superblock counts together,
//! so the counts and bitmaps never disagree at a sync point. A bit found in the wrong state
//! (freeing a free block) is reported as corruption, never ignored.

use crate::device::BlockDevice;
use crate::error::{Corruption, Error, Result};
use crate::fs::FileSystem;

fn find_zero_bit(bitmap: &[u8], start: usize, length: usize) -> Option<usize> {
    let length = length.min(bitmap.len() * 8);
    let mut bit = start;
    while bit < length {
        let byte = bitmap[bit / 8];
        if byte == 0xFF && bit % 8 == 0 {
            bit += 8;
            continue;
        }
        if byte & (1 << (bit % 8)) == 0 {
            return Some(bit);
        }
        bit += 1;
    }
    None
}

impl<D: BlockDevice> FileSystem<D> {
    /// Allocates one block, preferring `goal` and its group.
    pub(crate) fn allocate_block(&mut self, goal: u64) -> Result<u64> {
        if self.sb.free_blocks == 0 {
            return Err(Error::NoSpace);
        }
        let first = u64::from(self.sb.first_data_block);
        let goal = goal.clamp(first, self.sb.blocks_count - 1);
        let group_count = self.sb.group_count;
        let goal_group = ((goal - first) / u64::from(self.sb.blocks_per_group)) as u32;
        for step in 0..=group_count {
            let group = (goal_group + step) % group_count;
            if self.groups[group as usize].free_blocks == 0 {
                continue;
            }
            let start = if step == 0 {
                (goal - self.sb.group_start(group)) as usize
            } else {
                0
            };
            let length = self.sb.group_length(group) as usize;
            let bitmap_block = self.groups[group as usize].block_bitmap;
            let bitmap = self.cache.get(bitmap_block)?;
            let Some(bit) = find_zero_bit(bitmap, start, length) else {
                continue;
            };
            let block = self.sb.group_start(group) + bit as u64;
            // A free bit on metadata means the bitmap is corrupt; never hand that block out.
            self.check_data_block(block)?;
            self.cache.get_mut(bitmap_block)?[bit / 8] |= 1 << (bit % 8);
            self.groups[group as usize].free_blocks -= 1;
            self.sb.free_blocks -= 1;
            self.metadata_dirty = true;
            return Ok(block);
        }
        Err(Error::NoSpace)
    }

    /// Returns `block` to its group.
    pub(crate) fn free_block(&mut self, block: u64) -> Result<()> {
        self.check_data_block(block)?;
        let first = u64::from(self.sb.first_data_block);
        let group = ((block - first) / u64::from(self.sb.blocks_per_group)) as u32;
        let bit = (block - self.sb.group_start(group)) as usize;
        let bitmap_block = self.groups[group as usize].block_bitmap;
        let bitmap = self.cache.get_mut(bitmap_block)?;
        if bitmap[bit / 8] & (1 << (bit % 8)) == 0 {
            return Err(Corruption::DoubleFree { number: block }.into());
        }
        bitmap[bit / 8] &= !(1 << (bit % 8));
        self.groups[group as usize].free_blocks += 1;
        self.sb.free_blocks += 1;
        self.metadata_dirty = true;
        Ok(())
    }

    /// Allocates an inode number: directories go to the group with the most free inodes,
    /// other objects stay near `parent`.
    pub(crate) fn allocate_inode(&mut self, parent: u32, directory: bool) -> Result<u32> {
        if self.sb.free_inodes == 0 {
            return Err(Error::NoInodes);
        }
        let per_group = self.sb.inodes_per_group;
        let group_count = self.sb.group_count;
        let start_group = if directory {
            (0..group_count)
                .max_by_key(|&g| (self.groups[g as usize].free_inodes, u32::MAX - g))
                .unwrap_or(0)
        } else {
            (parent.saturating_sub(1) / per_group).min(group_count - 1)
        };
        for step in 0..group_count {
            let group = (start_group + step) % group_count;
            if self.groups[group as usize].free_inodes == 0 {
                continue;
            }
            let bitmap_block = self.groups[group as usize].inode_bitmap;
            let bitmap = self.cache.get(bitmap_block)?;
            // Inodes below s_first_ino are reserved.
            let first_free = if group == 0 {
                self.sb.first_inode as usize - 1
            } else {
                0
            };
            let Some(bit) = find_zero_bit(bitmap, first_free, per_group as usize) else {
                continue;
            };
            self.cache.get_mut(bitmap_block)?[bit / 8] |= 1 << (bit % 8);
            let descriptor = &mut self.groups[group as usize];
            descriptor.free_inodes -= 1;
            if directory {
                descriptor.used_dirs += 1;
            }
            self.sb.free_inodes -= 1;
            self.metadata_dirty = true;
            return Ok(group * per_group + bit as u32 + 1);
        }
        Err(Error::NoInodes)
    }

    /// Returns inode `number` to its group.
    pub(crate) fn free_inode(&mut self, number: u32, directory: bool) -> Result<()> {
        if number < self.sb.first_inode || number > self.sb.inodes_count {
            return Err(Corruption::InodeOutOfRange {
                inode: u64::from(number),
            }
            .into());
        }
        let group = ((number - 1) / self.sb.inodes_per_group) as usize;
        let bit = ((number - 1) % self.sb.inodes_per_group) as usize;
        let bitmap = self.cache.get_mut(self.groups[group].inode_bitmap)?;
        if bitmap[bit / 8] & (1 << (bit % 8)) == 0 {
            return Err(Corruption::DoubleFree {
                number: u64::from(number),
            }
            .into());
        }
        bitmap[bit / 8] &= !(1 << (bit % 8));
        let descriptor = &mut self.groups[group];
        descriptor.free_inodes += 1;
        if directory {
            descriptor.used_dirs = descriptor.used_dirs.saturating_sub(1);
        }
        self.sb.free_inodes += 1;
        self.metadata_dirty = true;
        Ok(())
    }

    /// Whether inode `number` is marked in use.
    pub(crate) fn inode_in_use(&mut self, number: u32) -> Result<bool> {
        if number == 0 || number > self.sb.inodes_count {
            return Err(Corruption::InodeOutOfRange {
                inode: u64::from(number),
            }
            .into());
        }
        let group = ((number - 1) / self.sb.inodes_per_group) as usize;
        let bit = ((number - 1) % self.sb.inodes_per_group) as usize;
        let bitmap = self.cache.get(self.groups[group].inode_bitmap)?;
        Ok(bitmap[bit / 8] & (1 << (bit % 8)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::find_zero_bit;
    use crate::fs::count_zero_bits;

    #[test]
    fn bit_scans_respect_start_and_length() {
        let bitmap = [0xFF, 0b1110_1111, 0xFF, 0x00];
        assert_eq!(find_zero_bit(&bitmap, 0, 32), Some(12));
        assert_eq!(find_zero_bit(&bitmap, 13, 32), Some(24));
        assert_eq!(find_zero_bit(&bitmap, 13, 24), None);
        assert_eq!(find_zero_bit(&bitmap, 0, 1000), Some(12));
        assert_eq!(count_zero_bits(&bitmap, 32), 9);
        assert_eq!(count_zero_bits(&bitmap, 26), 3);
    }
}
