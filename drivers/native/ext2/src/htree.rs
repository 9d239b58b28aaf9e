//! Hashed directory lookups (ext2/3 htree, `dir_index`): walk the index to the leaf blocks
//! that can hold a name, instead of scanning the whole directory.
//!
//! Layout: logical block 0 holds `.` (rec_len 12) and `..` (rec_len = rest of the block),
//! and inside `..`'s slack the `dx_root_info` (8 bytes: zero, hash version, info length,
//! indirect levels, flags) and a `dx_countlimit` (limit, count) overlaying the hash of the
//! first `dx_entry` (hash, logical block) of a sorted array. Interior `dx_node` blocks are a
//! fake empty entry spanning the block, then the same count/limit and entry array. An entry
//! covers hashes from its own up to the next entry's; bit 0 of a stored hash says the
//! previous block's last hash continues into this one.
//!
//! The index is a hint, never the authority: every shape check that fails, and every miss,
//! makes the caller fall back to the linear scan, so a damaged index can slow a lookup down
//! but never hide a name the entries hold. Writers do not maintain the index (see `dir`).

use alloc::vec::Vec;

use crate::device::BlockDevice;
use crate::dir::{decode_record_length, Found};
use crate::error::Result;
use crate::features;
use crate::fs::FileSystem;
use crate::htree_hash::{self, UNSIGNED_OFFSET};
use crate::inode::{Inode, INDEX_FLAG};
use crate::layout::{le16, le32};

/// `s_flags`: the directory hash treats name bytes as unsigned.
const FLAG_UNSIGNED_HASH: u32 = 0x0002;
/// Size of a `dx_entry` (and of a `dx_tail` with metadata_csum).
const ENTRY_SIZE: usize = 8;
/// `dx_root_info.info_length` as every writer makes it.
const ROOT_INFO_LENGTH: usize = 8;
/// Index entries keep their logical block in the low 28 bits.
const BLOCK_MASK: u32 = 0x0FFF_FFFF;

/// One index block on the walk: its (hash, logical block) entries and the one followed.
struct Level {
    entries: Vec<(u32, u32)>,
    position: usize,
}

impl Level {
    fn new(entries: Vec<(u32, u32)>, hash: u32) -> Self {
        // The last entry whose starting hash is <= hash; entry 0 starts at hash 0.
        let position = entries.partition_point(|&(start, _)| start <= hash).max(1) - 1;
        Self { entries, position }
    }

    fn block(&self) -> u32 {
        self.entries[self.position].1
    }
}

/// Decodes a count/limit header at `start` and the entries after it, or `None` when the
/// shape is wrong (limit not the one this block size gives, count 0 or above the limit,
/// a block outside the directory).
fn parse_entries(data: &[u8], start: usize, limit: usize, blocks: u64) -> Option<Vec<(u32, u32)>> {
    let stored_limit = usize::from(le16(data, start));
    let count = usize::from(le16(data, start + 2));
    if stored_limit != limit || count == 0 || count > limit {
        return None;
    }
    if start + count * ENTRY_SIZE > data.len() {
        return None;
    }
    let mut entries = Vec::with_capacity(count);
    for index in 0..count {
        let at = start + index * ENTRY_SIZE;
        let hash = if index == 0 { 0 } else { le32(data, at) };
        let block = le32(data, at + 4) & BLOCK_MASK;
        // Block 0 is the root itself; a pointer back to it would be a loop.
        if block == 0 || u64::from(block) >= blocks {
            return None;
        }
        entries.push((hash, block));
    }
    Some(entries)
}

impl<D: BlockDevice> FileSystem<D> {
    /// Whether lookups in `directory` may use its hash index.
    pub(crate) fn has_usable_index(&self, directory: &Inode) -> bool {
        directory.flags() & INDEX_FLAG != 0 && self.sb.compat & features::COMPAT_DIR_INDEX != 0
    }

    /// Entries a `dx_root` or `dx_node` block can hold (`root_overhead` bytes before them).
    fn index_limit(&self, root_overhead: usize) -> usize {
        let mut space = self.block_size() - root_overhead;
        if self.sb.ro_compat & features::RO_COMPAT_METADATA_CSUM != 0 {
            space -= ENTRY_SIZE;
        }
        space / ENTRY_SIZE
    }

    /// The hash version and seed this directory's names are hashed with, from its root.
    fn root_hash(&self, version: u8) -> Option<(u8, [u32; 4])> {
        if version > htree_hash::TEA {
            return None;
        }
        let unsigned = le32(&self.sb.raw, 0x160) & FLAG_UNSIGNED_HASH != 0;
        let version = if unsigned {
            version + UNSIGNED_OFFSET
        } else {
            version
        };
        let raw = &self.sb.raw;
        let seed = [
            le32(raw, 0xEC),
            le32(raw, 0xF0),
            le32(raw, 0xF4),
            le32(raw, 0xF8),
        ];
        Some((version, seed))
    }

    /// Reads logical block `logical` of `directory` (an index block), `None` for a hole.
    fn index_block(&mut self, directory: &Inode, logical: u32) -> Result<Option<Vec<u8>>> {
        match self.map_block(directory, u64::from(logical))? {
            Some(block) => Ok(Some(self.cache.get(block)?.to_vec())),
            None => Ok(None),
        }
    }

    /// The root level, with the hash of `name`, and the number of node levels below it.
    fn index_root(
        &mut self,
        directory: &Inode,
        name: &[u8],
        blocks: u64,
    ) -> Result<Option<(Level, u32, usize)>> {
        let Some(data) = self.index_block(directory, 0)? else {
            return Ok(None);
        };
        let block_size = data.len();
        let dot_ok = decode_record_length(le16(&data, 4), block_size) == 12
            && data[6] == 1
            && data[8] == b'.';
        let dot_dot_ok = decode_record_length(le16(&data, 16), block_size) == block_size - 12
            && data[18] == 2
            && &data[20..22] == b"..";
        let info_length = usize::from(data[29]);
        let levels = usize::from(data[30]);
        // large_dir allows a third index level; without it two is the most.
        let max_levels = if self.sb.incompat & features::INCOMPAT_LARGEDIR != 0 {
            2
        } else {
            1
        };
        if !dot_ok
            || !dot_dot_ok
            || le32(&data, 24) != 0
            || info_length != ROOT_INFO_LENGTH
            || levels > max_levels
            || data[31] & 1 != 0
        {
            return Ok(None);
        }
        let Some((version, seed)) = self.root_hash(data[28]) else {
            return Ok(None);
        };
        let Some(hash) = htree_hash::name_hash(version, seed, name) else {
            return Ok(None);
        };
        let start = 24 + ROOT_INFO_LENGTH;
        let limit = self.index_limit(start);
        Ok(parse_entries(&data, start, limit, blocks)
            .map(|entries| (Level::new(entries, hash), hash, levels)))
    }

    /// The `dx_node` at `logical`, positioned for `hash`.
    fn index_node(
        &mut self,
        directory: &Inode,
        logical: u32,
        hash: u32,
        blocks: u64,
    ) -> Result<Option<Level>> {
        let Some(data) = self.index_block(directory, logical)? else {
            return Ok(None);
        };
        let block_size = data.len();
        if le32(&data, 0) != 0 || decode_record_length(le16(&data, 4), block_size) != block_size {
            return Ok(None);
        }
        let limit = self.index_limit(8);
        Ok(parse_entries(&data, 8, limit, blocks).map(|entries| Level::new(entries, hash)))
    }

    /// Moves the walk to the next leaf in hash order; returns the starting hash of the entry
    /// that moved (as the format defines the continuation test), or `None` at the end or on a
    /// malformed node.
    fn next_leaf(
        &mut self,
        directory: &Inode,
        path: &mut [Level],
        blocks: u64,
    ) -> Result<Option<u32>> {
        let Some(moved) = path
            .iter()
            .rposition(|level| level.position + 1 < level.entries.len())
        else {
            return Ok(None);
        };
        path[moved].position += 1;
        let start_hash = path[moved].entries[path[moved].position].0;
        for below in moved + 1..path.len() {
            let logical = path[below - 1].block();
            let Some(mut level) = self.index_node(directory, logical, 0, blocks)? else {
                return Ok(None);
            };
            level.position = 0;
            path[below] = level;
        }
        Ok(Some(start_hash))
    }

    /// Looks `name` up through the hash index of `directory`. `Ok(None)` means "not found
    /// this way" — a miss or an index that does not make sense — and the caller must scan.
    pub(crate) fn index_lookup(&mut self, directory: &Inode, name: &[u8]) -> Result<Option<Found>> {
        let blocks = directory.size() / self.block_size() as u64;
        let Some((root, hash, levels)) = self.index_root(directory, name, blocks)? else {
            return Ok(None);
        };
        let mut path = Vec::with_capacity(levels + 1);
        path.push(root);
        for _ in 0..levels {
            let logical = path.last().map_or(0, Level::block);
            match self.index_node(directory, logical, hash, blocks)? {
                Some(level) => path.push(level),
                None => return Ok(None),
            }
        }
        // Each step moves forward through the index, so the leaves bound the walk.
        for _ in 0..blocks {
            let leaf = path.last().map_or(0, Level::block);
            let found = self.scan_block(directory, u64::from(leaf), |entry, entry_name| {
                entry.inode != 0 && entry_name == name
            })?;
            if found.is_some() {
                return Ok(found);
            }
            // Names of one hash may spill into the following leaves; nothing else can.
            match self.next_leaf(directory, &mut path, blocks)? {
                Some(start) if start & !1 == hash => {}
                _ => return Ok(None),
            }
        }
        Ok(None)
    }
}
