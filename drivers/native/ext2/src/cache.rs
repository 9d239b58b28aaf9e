//! Write-back block cache: bounded, least-recently-used eviction, explicit flush.
//!
//! Owns the device. Every access is range-checked against the file system's block count, so
//! nothing is ever read or written outside the file system whatever the image says. Dirty
//! blocks reach the device on [`BlockCache::flush`] or when evicted; clean blocks are dropped.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec;

use crate::device::BlockDevice;
use crate::error::{Corruption, Result};

struct Entry {
    data: Box<[u8]>,
    dirty: bool,
    stamp: u64,
}

/// The cache of file-system blocks.
pub struct BlockCache<D: BlockDevice> {
    device: D,
    block_size: usize,
    block_count: u64,
    capacity: usize,
    entries: BTreeMap<u64, Entry>,
    // Recency order: stamp -> block number.
    recency: BTreeMap<u64, u64>,
    clock: u64,
}

impl<D: BlockDevice> BlockCache<D> {
    /// A cache of at most `capacity` blocks (at least 16) over `device`.
    pub fn new(device: D, block_size: u32, block_count: u64, capacity: usize) -> Self {
        Self {
            device,
            block_size: block_size as usize,
            block_count,
            capacity: capacity.max(16),
            entries: BTreeMap::new(),
            recency: BTreeMap::new(),
            clock: 0,
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

    fn touch(&mut self, block: u64) {
        self.clock += 1;
        let stamp = self.clock;
        if let Some(entry) = self.entries.get_mut(&block) {
            self.recency.remove(&entry.stamp);
            entry.stamp = stamp;
            self.recency.insert(stamp, block);
        }
    }

    fn make_room(&mut self) -> Result<()> {
        while self.entries.len() >= self.capacity {
            let Some((_, victim)) = self.recency.pop_first() else {
                break;
            };
            if let Some(entry) = self.entries.remove(&victim) {
                if entry.dirty {
                    let offset = victim * self.block_size as u64;
                    if let Err(error) = self.device.write_at(offset, &entry.data) {
                        // Keep the data so a later flush can retry.
                        self.recency.insert(entry.stamp, victim);
                        self.entries.insert(victim, entry);
                        return Err(error.into());
                    }
                }
            }
        }
        Ok(())
    }

    fn insert(&mut self, block: u64, data: Box<[u8]>, dirty: bool) -> Result<()> {
        self.make_room()?;
        self.clock += 1;
        self.recency.insert(self.clock, block);
        self.entries.insert(
            block,
            Entry {
                data,
                dirty,
                stamp: self.clock,
            },
        );
        Ok(())
    }

    fn load(&mut self, block: u64) -> Result<()> {
        self.check(block)?;
        if self.entries.contains_key(&block) {
            self.touch(block);
            return Ok(());
        }
        let mut data = vec![0u8; self.block_size].into_boxed_slice();
        self.device
            .read_at(block * self.block_size as u64, &mut data)?;
        self.insert(block, data, false)
    }

    /// The contents of `block`.
    pub fn get(&mut self, block: u64) -> Result<&[u8]> {
        self.load(block)?;
        Ok(&self
            .entries
            .get(&block)
            .map(|entry| &entry.data)
            .expect("loaded")[..])
    }

    /// The contents of `block` for modification; the block becomes dirty.
    pub fn get_mut(&mut self, block: u64) -> Result<&mut [u8]> {
        self.load(block)?;
        let entry = self.entries.get_mut(&block).expect("loaded");
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
            let data = vec![0u8; self.block_size].into_boxed_slice();
            self.insert(block, data, true)?;
        }
        self.touch(block);
        Ok(&mut self.entries.get_mut(&block).expect("inserted").data[..])
    }

    /// Copies `block` into `buffer` without caching it when it is not already cached
    /// (bulk file reads should not flush metadata out of the cache).
    pub fn read_through(&mut self, block: u64, buffer: &mut [u8]) -> Result<()> {
        self.check(block)?;
        if let Some(entry) = self.entries.get(&block) {
            buffer.copy_from_slice(&entry.data);
            return Ok(());
        }
        Ok(self
            .device
            .read_at(block * self.block_size as u64, buffer)?)
    }

    /// Writes every dirty block back in block order, then flushes the device.
    pub fn flush(&mut self) -> Result<()> {
        for (&block, entry) in self.entries.iter_mut() {
            if entry.dirty {
                self.device
                    .write_at(block * self.block_size as u64, &entry.data)?;
                entry.dirty = false;
            }
        }
        self.device.flush()?;
        Ok(())
    }

    /// Number of dirty blocks waiting for write-back.
    pub fn dirty_blocks(&self) -> usize {
        self.entries.values().filter(|entry| entry.dirty).count()
    }
}
