//! Write-back block cache: bounded, CLOCK (second-chance) eviction, explicit flush.
//!
//! A hit costs one map lookup and sets the entry's referenced bit; only a miss in a full
//! cache sweeps the hand (in block order) past referenced entries, clearing their bits, to
//! the first one not used since the last sweep. Owns the device. Every access is
//! range-checked against the file system's block count, so nothing is ever read or written
//! outside the file system whatever the image says. Dirty blocks reach the device on
//! [`BlockCache::flush`] or when evicted; clean blocks are dropped, and their buffers are
//! kept for the next miss (a full cache allocates nothing per block).
//!
//! Bulk file data can bypass the cache: [`BlockCache::read_run`] and
//! [`BlockCache::write_run`] move a run of adjacent blocks in one device request, straight
//! from or into the caller's buffer, taking cached copies into account so that the cache and
//! the device never disagree.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use crate::device::BlockDevice;
use crate::error::{Corruption, Result};

struct Entry {
    data: Box<[u8]>,
    dirty: bool,
    /// Used since the hand last passed.
    referenced: bool,
}

/// The cache of file-system blocks.
pub struct BlockCache<D: BlockDevice> {
    device: D,
    block_size: usize,
    block_count: u64,
    capacity: usize,
    entries: BTreeMap<u64, Entry>,
    /// Where the eviction sweep resumes (a block number; it wraps to the lowest).
    hand: u64,
    /// Buffers of evicted blocks, reused before allocating new ones.
    spare: Vec<Box<[u8]>>,
}

/// Most evicted buffers kept for reuse.
const SPARE_LIMIT: usize = 64;

impl<D: BlockDevice> BlockCache<D> {
    /// A cache of at most `capacity` blocks (at least 16) over `device`.
    pub fn new(device: D, block_size: u32, block_count: u64, capacity: usize) -> Self {
        Self {
            device,
            block_size: block_size as usize,
            block_count,
            capacity: capacity.max(16),
            entries: BTreeMap::new(),
            hand: 0,
            spare: Vec::new(),
        }
    }

    /// The device, for unmount.
    pub fn into_device(self) -> D {
        self.device
    }

    fn check(&self, block: u64) -> Result<()> {
        if block >= self.block_count {
            return Err(Corruption::BlockOutOfRange { block }.into());
        }
        Ok(())
    }

    /// The next eviction victim: the first entry from the hand on (wrapping) whose
    /// referenced bit is clear, clearing the bits it passes. Two sweeps at most.
    fn victim(&mut self) -> Option<u64> {
        for _ in 0..2 * self.entries.len() + 1 {
            let block = match self.entries.range(self.hand..).next() {
                Some((&block, _)) => block,
                None => *self.entries.keys().next()?,
            };
            self.hand = block.wrapping_add(1);
            let entry = self.entries.get_mut(&block)?;
            if !entry.referenced {
                return Some(block);
            }
            entry.referenced = false;
        }
        None
    }

    fn make_room(&mut self) -> Result<()> {
        while self.entries.len() >= self.capacity {
            let Some(victim) = self.victim() else {
                break;
            };
            if self.entries.get(&victim).is_some_and(|entry| entry.dirty) {
                // Write back every dirty block at once: runs coalesce, and the following
                // evictions find clean blocks.
                self.write_back()?;
            }
            if let Some(entry) = self.entries.remove(&victim) {
                if self.spare.len() < SPARE_LIMIT {
                    self.spare.push(entry.data);
                }
            }
        }
        Ok(())
    }

    /// A block-sized buffer with unspecified contents: a spare one, or a new one.
    fn buffer(&mut self) -> Box<[u8]> {
        self.spare
            .pop()
            .unwrap_or_else(|| vec![0u8; self.block_size].into_boxed_slice())
    }

    fn insert(&mut self, block: u64, data: Box<[u8]>, dirty: bool) -> Result<()> {
        self.make_room()?;
        self.entries.insert(
            block,
            Entry {
                data,
                dirty,
                referenced: true,
            },
        );
        Ok(())
    }

    /// The cached entry of `block`, read from the device on a miss.
    fn load(&mut self, block: u64) -> Result<&mut Entry> {
        self.check(block)?;
        if !self.entries.contains_key(&block) {
            let mut data = self.buffer();
            if let Err(error) = self
                .device
                .read_at(block * self.block_size as u64, &mut data)
            {
                self.spare.push(data);
                return Err(error.into());
            }
            self.insert(block, data, false)?;
        }
        let entry = self.entries.get_mut(&block).expect("loaded");
        entry.referenced = true;
        Ok(entry)
    }

    /// The contents of `block`.
    pub fn get(&mut self, block: u64) -> Result<&[u8]> {
        Ok(&self.load(block)?.data[..])
    }

    /// The contents of `block` for modification; the block becomes dirty.
    pub fn get_mut(&mut self, block: u64) -> Result<&mut [u8]> {
        let entry = self.load(block)?;
        entry.dirty = true;
        Ok(&mut entry.data[..])
    }

    /// `block` filled with zeros and dirty, without reading it (newly allocated blocks).
    pub fn zeroed(&mut self, block: u64) -> Result<&mut [u8]> {
        self.check(block)?;
        if let Some(entry) = self.entries.get_mut(&block) {
            entry.data.fill(0);
            entry.dirty = true;
        } else {
            let mut data = self.buffer();
            data.fill(0);
            self.insert(block, data, true)?;
        }
        let entry = self.entries.get_mut(&block).expect("inserted");
        entry.referenced = true;
        Ok(&mut entry.data[..])
    }

    /// Reads the run of blocks starting at `first` into `buffer` (whole blocks): cached blocks
    /// are copied from the cache (they may be newer than the device), the stretches between
    /// them are read from the device in one request each. Nothing is added to the cache.
    pub fn read_run(&mut self, first: u64, buffer: &mut [u8]) -> Result<()> {
        let size = self.block_size;
        let count = (buffer.len() / size) as u64;
        if count == 0 {
            return Ok(());
        }
        self.check(first)?;
        self.check(first + count - 1)?;
        let mut next = 0u64; // first block of the run not yet filled, relative to `first`
        for (&block, entry) in self.entries.range(first..first + count) {
            let at = block - first;
            if at > next {
                let stretch = &mut buffer[next as usize * size..at as usize * size];
                self.device.read_at((first + next) * size as u64, stretch)?;
            }
            buffer[at as usize * size..(at as usize + 1) * size].copy_from_slice(&entry.data);
            next = at + 1;
        }
        if next < count {
            self.device.read_at(
                (first + next) * size as u64,
                &mut buffer[next as usize * size..count as usize * size],
            )?;
        }
        Ok(())
    }

    /// Whether `block` is in the cache.
    pub fn contains(&self, block: u64) -> bool {
        self.entries.contains_key(&block)
    }

    /// [`read_run`](Self::read_run), and block `next` (the one right after the run, a
    /// metadata block the caller needs next) loaded into the cache by the same request when
    /// no block of the run is cached; otherwise only the run is read.
    pub fn read_run_and_load(&mut self, first: u64, buffer: &mut [u8], next: u64) -> Result<()> {
        let size = self.block_size;
        let count = (buffer.len() / size) as u64;
        if count == 0
            || next != first + count
            || self.entries.contains_key(&next)
            || self.entries.range(first..next).next().is_some()
        {
            return self.read_run(first, buffer);
        }
        self.check(first)?;
        self.check(next)?;
        let mut data = self.buffer();
        let result = self.device.read_vectored_at(
            first * size as u64,
            &mut [&mut buffer[..count as usize * size], &mut data[..]],
        );
        if let Err(error) = result {
            self.spare.push(data);
            return Err(error.into());
        }
        self.insert(next, data, false)
    }

    /// Writes whole blocks `data` to the run starting at `first` in one device request;
    /// cached copies of those blocks take the new bytes and become clean.
    pub fn write_run(&mut self, first: u64, data: &[u8]) -> Result<()> {
        let size = self.block_size;
        let count = (data.len() / size) as u64;
        if count == 0 {
            return Ok(());
        }
        self.check(first)?;
        self.check(first + count - 1)?;
        self.device.write_at(first * size as u64, data)?;
        for (&block, entry) in self.entries.range_mut(first..first + count) {
            let at = (block - first) as usize * size;
            entry.data.copy_from_slice(&data[at..at + size]);
            entry.dirty = false;
        }
        Ok(())
    }

    /// Writes every dirty block back in block order, runs of adjacent blocks in one request.
    /// A block is marked clean only once its run reached the device.
    fn write_back(&mut self) -> Result<()> {
        const RUN_LIMIT: u64 = 256;
        let dirty: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, entry)| entry.dirty)
            .map(|(&block, _)| block)
            .collect();
        let mut index = 0;
        let mut run = Vec::new();
        while index < dirty.len() {
            let first = dirty[index];
            let mut length = 1;
            while index + length < dirty.len()
                && dirty[index + length] == first + length as u64
                && (length as u64) < RUN_LIMIT
            {
                length += 1;
            }
            run.clear();
            for block in &dirty[index..index + length] {
                run.extend_from_slice(&self.entries[block].data);
            }
            self.device.write_at(first * self.block_size as u64, &run)?;
            for block in &dirty[index..index + length] {
                if let Some(entry) = self.entries.get_mut(block) {
                    entry.dirty = false;
                }
            }
            index += length;
        }
        Ok(())
    }

    /// Writes every dirty block back, then flushes the device.
    pub fn flush(&mut self) -> Result<()> {
        self.write_back()?;
        self.device.flush()?;
        Ok(())
    }

    /// Number of dirty blocks waiting for write-back.
    pub fn dirty_blocks(&self) -> usize {
        self.entries.values().filter(|entry| entry.dirty).count()
    }
}
