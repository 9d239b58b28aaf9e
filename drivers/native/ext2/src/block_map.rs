//! The indirect block map (ext2 layout, `i_block[15]`): lookup, allocation and freeing.
//!
//! Logical blocks 0..12 are direct; `i_block[12]`, `[13]` and `[14]` root single, double and
//! triple indirect trees. Every pointer read from disk is range-checked; walks are bounded by
//! the tree depth, and a cycle or shared block shows up as a double free, never a loop.

use alloc::vec::Vec;

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::fs::{check_data_block, FileSystem};
use crate::inode::Inode;
use crate::layout::{le32, put32};

const DIRECT: u64 = 12;

/// A stretch of a file's logical blocks as [`FileSystem::map_extent`] finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Extent {
    /// `count` logical blocks that are not allocated (they read as zeros).
    Hole { count: u64 },
    /// `count` logical blocks stored at `physical`, `physical + 1`, ... on disk.
    Mapped { physical: u64, count: u64 },
}

/// The longest extent at the start of `pointers` (block pointers of consecutive logical
/// blocks), at most `limit` blocks. A pointer that is not a valid data block ends a mapped
/// run; when it comes first it is the error.
fn extent_of(
    fs_parts: (
        &crate::layout::Superblock,
        &[crate::layout::GroupDescriptor],
    ),
    mut pointers: impl Iterator<Item = u32>,
    limit: u64,
) -> Result<Extent> {
    let (sb, groups) = fs_parts;
    let Some(first) = pointers.next() else {
        return Ok(Extent::Hole { count: 1 });
    };
    let mut count = 1;
    if first == 0 {
        while count < limit && pointers.next() == Some(0) {
            count += 1;
        }
        return Ok(Extent::Hole { count });
    }
    let physical = check_data_block(sb, groups, u64::from(first))?;
    while count < limit {
        match pointers.next() {
            Some(next)
                if u64::from(next) == physical + count
                    && check_data_block(sb, groups, u64::from(next)).is_ok() =>
            {
                count += 1
            }
            _ => break,
        }
    }
    Ok(Extent::Mapped { physical, count })
}

/// Where a logical block sits: root slot in `i_block`, tree depth, index at each level.
struct Path {
    root: usize,
    depth: usize,
    indexes: [usize; 3],
}

impl<D: BlockDevice> FileSystem<D> {
    fn pointers_per_block(&self) -> u64 {
        u64::from(self.sb.block_size / 4)
    }

    /// Highest number of logical blocks a file can map.
    pub(crate) fn addressable_blocks(&self) -> u64 {
        let p = self.pointers_per_block();
        (DIRECT + p + p * p + p * p * p).min(u64::from(u32::MAX))
    }

    /// Largest file size the block map can express.
    pub(crate) fn max_file_size(&self) -> u64 {
        self.addressable_blocks() * u64::from(self.sb.block_size) - 1
    }

    fn sectors_per_block(&self) -> u64 {
        u64::from(self.sb.block_size / 512)
    }

    fn path(&self, logical: u64) -> Option<Path> {
        let p = self.pointers_per_block();
        if logical < DIRECT {
            return Some(Path {
                root: logical as usize,
                depth: 0,
                indexes: [0; 3],
            });
        }
        let mut rest = logical - DIRECT;
        let mut span = p;
        for depth in 1..=3usize {
            if rest < span {
                let mut indexes = [0usize; 3];
                let mut divisor = span / p;
                for slot in indexes.iter_mut().take(depth) {
                    *slot = ((rest / divisor) % p) as usize;
                    divisor /= p.max(1);
                    if divisor == 0 {
                        divisor = 1;
                    }
                }
                return Some(Path {
                    root: 11 + depth,
                    depth,
                    indexes,
                });
            }
            rest -= span;
            span *= p;
        }
        None
    }

    /// The physical block of `logical`, or `None` for a hole.
    pub(crate) fn map_block(&mut self, inode: &Inode, logical: u64) -> Result<Option<u64>> {
        inode.check_block_map()?;
        let Some(path) = self.path(logical) else {
            return Ok(None);
        };
        let mut block = u64::from(inode.block(path.root));
        for &index in &path.indexes[..path.depth] {
            if block == 0 {
                return Ok(None);
            }
            self.check_data_block(block)?;
            block = u64::from(le32(self.cache.get(block)?, index * 4));
        }
        if block == 0 {
            return Ok(None);
        }
        self.check_data_block(block).map(Some)
    }

    /// The extent starting at `logical`: at most `limit` (at least 1) blocks that are all holes
    /// or all stored contiguously, never reaching past the indirect block that maps `logical`.
    /// One tree walk for the whole extent; the caller has checked the inode's block map
    /// (`Inode::check_block_map`).
    pub(crate) fn map_extent(&mut self, inode: &Inode, logical: u64, limit: u64) -> Result<Extent> {
        let limit = limit.max(1);
        let Some(path) = self.path(logical) else {
            return Ok(Extent::Hole { count: 1 });
        };
        if path.depth == 0 {
            let pointers = (path.root..DIRECT as usize).map(|index| inode.block(index));
            return extent_of((&self.sb, &self.groups), pointers, limit);
        }
        let leaf_index = path.indexes[path.depth - 1];
        let rest_of_leaf = self.pointers_per_block() - leaf_index as u64;
        let mut block = u64::from(inode.block(path.root));
        for &index in &path.indexes[..path.depth - 1] {
            if block == 0 {
                break;
            }
            self.check_data_block(block)?;
            block = u64::from(le32(self.cache.get(block)?, index * 4));
        }
        if block == 0 {
            // A missing indirect block: everything it would map is a hole.
            return Ok(Extent::Hole {
                count: rest_of_leaf.min(limit),
            });
        }
        self.check_data_block(block)?;
        let FileSystem {
            cache, sb, groups, ..
        } = self;
        let leaf = cache.get(block)?;
        let pointers = leaf[leaf_index * 4..]
            .chunks_exact(4)
            .map(|bytes| le32(bytes, 0));
        extent_of((sb, groups), pointers, limit)
    }

    /// The indirect block that maps `logical` when `logical` is the first block it maps,
    /// that block is `expected` and not cached yet, and every block above it is cached (so
    /// finding it reads nothing). A reader about to read the run ending at `expected` can
    /// fetch it in the same request.
    pub(crate) fn uncached_leaf_at(
        &mut self,
        inode: &Inode,
        logical: u64,
        expected: u64,
    ) -> Result<Option<u64>> {
        let Some(path) = self.path(logical) else {
            return Ok(None);
        };
        if path.depth == 0 || path.indexes[path.depth - 1] != 0 {
            return Ok(None);
        }
        let mut block = u64::from(inode.block(path.root));
        for &index in &path.indexes[..path.depth - 1] {
            if block == 0 || !self.cache.contains(block) {
                return Ok(None);
            }
            self.check_data_block(block)?;
            block = u64::from(le32(self.cache.get(block)?, index * 4));
        }
        if block != expected || self.cache.contains(block) {
            return Ok(None);
        }
        self.check_data_block(block).map(Some)
    }

    fn charge(&self, inode: &mut Inode) -> Result<()> {
        let sectors = inode.sectors() + self.sectors_per_block();
        if sectors > u64::from(u32::MAX) {
            return Err(Error::FileTooLarge);
        }
        inode.set_sectors(sectors);
        Ok(())
    }

    /// Allocates a block for `inode` near `goal`; `zeroed` puts a zero-filled dirty copy in
    /// the cache (left out when the caller writes the whole block straight away).
    fn new_block(&mut self, inode: &mut Inode, goal: u64, zeroed: bool) -> Result<u64> {
        if inode.sectors() + self.sectors_per_block() > u64::from(u32::MAX) {
            return Err(Error::FileTooLarge);
        }
        let block = self.allocate_block(goal)?;
        if zeroed {
            self.cache.zeroed(block)?;
        }
        self.charge(inode)?;
        Ok(block)
    }

    /// Allocation goal for `logical`: after the previous block, else the inode's group.
    fn goal(&mut self, inode: &Inode, logical: u64) -> Result<u64> {
        if logical > 0 {
            if let Some(previous) = self.map_block(inode, logical - 1)? {
                return Ok(previous + 1);
            }
        }
        let group = (inode.number - 1) / self.sb.inodes_per_group;
        Ok(self.sb.group_start(group))
    }

    /// The physical block of `logical`, allocating it (zeroed) and any indirect blocks.
    /// Returns the block and whether it is new.
    pub(crate) fn map_or_allocate(
        &mut self,
        inode: &mut Inode,
        logical: u64,
    ) -> Result<(u64, bool)> {
        self.map_or_allocate_near(inode, logical, None, true)
    }

    /// [`map_or_allocate`](Self::map_or_allocate) with the allocation goal given (the block
    /// after the previous logical block's, when the caller knows it) instead of looked up;
    /// `zero_data: false` leaves a new data block out of the cache, for a caller that writes
    /// all of it to the device at once (indirect blocks are always zeroed in the cache).
    pub(crate) fn map_or_allocate_near(
        &mut self,
        inode: &mut Inode,
        logical: u64,
        goal: Option<u64>,
        zero_data: bool,
    ) -> Result<(u64, bool)> {
        inode.check_block_map()?;
        let path = self.path(logical).ok_or(Error::FileTooLarge)?;
        let hint = goal;
        let goal = match goal {
            Some(goal) => goal,
            None => self.goal(inode, logical)?,
        };
        let mut block = u64::from(inode.block(path.root));
        let mut fresh = false;
        if block == 0 {
            block = self.new_block(inode, goal, zero_data || path.depth > 0)?;
            inode.set_block(path.root, block as u32);
            fresh = true;
        } else {
            self.check_data_block(block)?;
        }
        for (level, &index) in path.indexes[..path.depth].iter().enumerate() {
            let mut child = u64::from(le32(self.cache.get(block)?, index * 4));
            if child == 0 {
                let is_data = level + 1 == path.depth;
                // A data block goes where the caller's run continues when it says so (the
                // search then starts at the right bit instead of after the indirect block).
                let near = match hint {
                    Some(hint) if is_data => hint,
                    _ => block + 1,
                };
                child = self.new_block(inode, near, zero_data || !is_data)?;
                put32(self.cache.get_mut(block)?, index * 4, child as u32);
                fresh = true;
            } else {
                self.check_data_block(child)?;
                fresh = false;
            }
            block = child;
        }
        Ok((block, fresh))
    }

    /// Extends a run being allocated: maps logical blocks `logical..` onto `physical..` for as
    /// long as the logical blocks are holes under the same pointer block (or among the direct
    /// pointers) that is already there, and the physical blocks are free data blocks of one
    /// group; at most `wanted`. Sets the bits, counts and pointers once for the whole stretch
    /// instead of once per block (a 128 KiB write on 1 KiB blocks is 128 allocations).
    /// Returns how many it mapped: 0 where the per-block path has to decide (a missing
    /// indirect block, a used block, the end of a group).
    pub(crate) fn allocate_adjacent(
        &mut self,
        inode: &mut Inode,
        logical: u64,
        physical: u64,
        wanted: u64,
    ) -> Result<u64> {
        let Some(path) = self.path(logical) else {
            return Ok(0);
        };
        let first = u64::from(self.sb.first_data_block);
        if physical < first || physical >= self.sb.blocks_count {
            return Ok(0);
        }
        let group = ((physical - first) / u64::from(self.sb.blocks_per_group)) as u32;
        let descriptor = self.groups[group as usize];
        if physical < descriptor.metadata_end {
            return Ok(0);
        }
        let group_start = self.sb.group_start(group);
        let group_end = group_start + u64::from(self.sb.group_length(group));
        // The slots: the direct pointers in the inode, or an existing leaf pointer block.
        let (leaf, index, slots) = if path.depth == 0 {
            (None, path.root, DIRECT as usize - path.root)
        } else {
            let mut block = u64::from(inode.block(path.root));
            for &index in &path.indexes[..path.depth - 1] {
                if block == 0 {
                    return Ok(0);
                }
                self.check_data_block(block)?;
                block = u64::from(le32(self.cache.get(block)?, index * 4));
            }
            if block == 0 {
                return Ok(0);
            }
            self.check_data_block(block)?;
            let index = path.indexes[path.depth - 1];
            (
                Some(block),
                index,
                self.pointers_per_block() as usize - index,
            )
        };
        let spare_sectors = u64::from(u32::MAX).saturating_sub(inode.sectors());
        let bitmap_bits = u64::from(self.sb.block_size) * 8;
        let first_bit = physical - group_start;
        if first_bit >= bitmap_bits {
            return Ok(0);
        }
        let limit = wanted
            .min(bitmap_bits - first_bit)
            .min(slots as u64)
            .min(group_end - physical)
            .min(u64::from(descriptor.free_blocks))
            .min(self.sb.free_blocks)
            .min(spare_sectors / self.sectors_per_block());
        let bitmap_block = descriptor.block_bitmap;
        let first_bit = first_bit as usize;
        // Holes among the slots, then free bits among the blocks (two looks: one block each).
        let holes = match leaf {
            Some(block) => {
                let data = self.cache.get(block)?;
                (0..limit as usize)
                    .take_while(|offset| le32(data, (index + offset) * 4) == 0)
                    .count()
            }
            None => (0..limit as usize)
                .take_while(|offset| inode.block(index + offset) == 0)
                .count(),
        };
        let bitmap = self.cache.get(bitmap_block)?;
        let count = (first_bit..first_bit + holes)
            .take_while(|bit| bitmap[bit / 8] & (1 << (bit % 8)) == 0)
            .count() as u64;
        if count == 0 {
            return Ok(0);
        }
        let bitmap = self.cache.get_mut(bitmap_block)?;
        for bit in first_bit..first_bit + count as usize {
            bitmap[bit / 8] |= 1 << (bit % 8);
        }
        self.groups[group as usize].free_blocks -= count as u32;
        self.sb.free_blocks -= count;
        self.metadata_dirty = true;
        match leaf {
            Some(block) => {
                let data = self.cache.get_mut(block)?;
                for offset in 0..count as usize {
                    put32(
                        data,
                        (index + offset) * 4,
                        (physical + offset as u64) as u32,
                    );
                }
            }
            None => {
                for offset in 0..count as usize {
                    inode.set_block(index + offset, (physical + offset as u64) as u32);
                }
            }
        }
        inode.set_sectors(inode.sectors() + count * self.sectors_per_block());
        Ok(count)
    }

    fn read_pointers(&mut self, block: u64) -> Result<Vec<u32>> {
        let data = self.cache.get(block)?;
        Ok(data.chunks_exact(4).map(|chunk| le32(chunk, 0)).collect())
    }

    fn release(&mut self, inode: &mut Inode, block: u64) -> Result<()> {
        self.free_block(block)?;
        let sectors = inode.sectors().saturating_sub(self.sectors_per_block());
        inode.set_sectors(sectors);
        Ok(())
    }

    /// Frees `block` and, below it, a tree of `depth` levels.
    fn free_tree(&mut self, inode: &mut Inode, block: u64, depth: usize) -> Result<()> {
        self.check_data_block(block)?;
        if depth > 0 {
            for child in self.read_pointers(block)? {
                if child != 0 {
                    self.free_tree(inode, u64::from(child), depth - 1)?;
                }
            }
        }
        self.release(inode, block)
    }

    /// Frees the part of the tree at `block` mapping relative logical blocks `>= first`.
    /// Returns whether the indirect block is now empty.
    fn trim_tree(
        &mut self,
        inode: &mut Inode,
        block: u64,
        depth: usize,
        first: u64,
    ) -> Result<bool> {
        self.check_data_block(block)?;
        let p = self.pointers_per_block();
        let child_span = p.pow(depth as u32 - 1);
        let pointers = self.read_pointers(block)?;
        for (index, &child) in pointers.iter().enumerate() {
            let child_base = index as u64 * child_span;
            if child == 0 || child_base + child_span <= first {
                continue;
            }
            let child = u64::from(child);
            let empty = if child_base >= first {
                self.free_tree(inode, child, depth - 1)?;
                true
            } else if self.trim_tree(inode, child, depth - 1, first - child_base)? {
                self.release(inode, child)?;
                true
            } else {
                false
            };
            if empty {
                put32(self.cache.get_mut(block)?, index * 4, 0);
            }
        }
        Ok(self
            .read_pointers(block)?
            .iter()
            .all(|&pointer| pointer == 0))
    }

    /// Frees every block mapping logical blocks `>= first`, and indirect blocks left empty.
    pub(crate) fn free_blocks_from(&mut self, inode: &mut Inode, first: u64) -> Result<()> {
        inode.check_block_map()?;
        for index in first.min(DIRECT)..DIRECT {
            let block = u64::from(inode.block(index as usize));
            if block != 0 {
                self.release(inode, block)?;
                inode.set_block(index as usize, 0);
            }
        }
        let p = self.pointers_per_block();
        let mut base = DIRECT;
        let mut span = p;
        for depth in 1..=3usize {
            let root = 11 + depth;
            let block = u64::from(inode.block(root));
            if block != 0 && first < base + span {
                if first <= base {
                    self.free_tree(inode, block, depth)?;
                    inode.set_block(root, 0);
                } else if self.trim_tree(inode, block, depth, first - base)? {
                    self.release(inode, block)?;
                    inode.set_block(root, 0);
                }
            }
            base += span;
            span *= p;
        }
        Ok(())
    }
}
