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
//! The index is a hint, never the authority: every shape check that fails makes the caller
//! fall back to the linear scan, and a miss is believed only after [`index_is_sound`] has
//! checked the whole index against the entries (the caller keeps the verdict). So a damaged
//! index can slow lookups down but never hide a name the entries hold. Writers do not
//! maintain the index (see `dir`).
//!
//! [`index_is_sound`]: FileSystem::index_is_sound

use alloc::vec;
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

/// One index block on the walk: where its entries are, and the one followed. Entries are
/// read from the cached block when needed, never copied: a lookup touches O(log n) of them.
struct Level {
    /// The block's logical number in the directory, and where it is on the device.
    logical: u32,
    block: u64,
    /// Byte offset of the count/limit header (= entry 0).
    start: usize,
    count: usize,
    position: usize,
}

/// Where [`next_leaf`](FileSystem::next_leaf) took the walk.
enum Step {
    /// To the next leaf; the starting hash of the index entry that moved (the format's
    /// continuation test looks at it).
    Next(u32),
    /// Past the last leaf.
    End,
    /// Into a node that does not make sense.
    Malformed,
}

/// The root of an index: its level, how many node levels lie below, and the hash in use.
struct Root {
    level: Level,
    levels: usize,
    version: u8,
    seed: [u32; 4],
}

/// Reads the count/limit header at `start` of `data`; `None` unless the limit is the one this
/// block size gives and the count is between 1 and the limit.
fn entry_count(data: &[u8], start: usize, limit: usize) -> Option<usize> {
    let stored_limit = usize::from(le16(data, start));
    let count = usize::from(le16(data, start + 2));
    let fits = start + count * ENTRY_SIZE <= data.len();
    (stored_limit == limit && count > 0 && count <= limit && fits).then_some(count)
}

/// The (starting hash, logical block) of entry `index`; entry 0 starts at hash 0.
fn entry(data: &[u8], start: usize, index: usize) -> (u32, u32) {
    let at = start + index * ENTRY_SIZE;
    let hash = if index == 0 { 0 } else { le32(data, at) };
    (hash, le32(data, at + 4) & BLOCK_MASK)
}

/// The last entry whose starting hash is <= `hash` (binary search; entry 0 always matches).
fn position_for(data: &[u8], start: usize, count: usize, hash: u32) -> usize {
    let (mut low, mut high) = (1, count);
    while low < high {
        let middle = low + (high - low) / 2;
        if entry(data, start, middle).0 <= hash {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low - 1
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

    /// The logical block the walk follows at `level`, checked to lie inside the directory
    /// and not to be the root (a loop); `None` otherwise.
    fn followed(&mut self, level: &Level, blocks: u64) -> Result<Option<u32>> {
        let data = self.cache.get(level.block)?;
        let (_, logical) = entry(data, level.start, level.position);
        Ok((logical != 0 && u64::from(logical) < blocks).then_some(logical))
    }

    /// The root level (at its first entry), the node levels below it and the hash to use.
    fn index_root(&mut self, directory: &Inode) -> Result<Option<Root>> {
        let Some(block) = self.map_block(directory, 0)? else {
            return Ok(None);
        };
        // large_dir allows a third index level; without it two is the most.
        let max_levels = if self.sb.incompat & features::INCOMPAT_LARGEDIR != 0 {
            2
        } else {
            1
        };
        let start = 24 + ROOT_INFO_LENGTH;
        let limit = self.index_limit(start);
        let data = self.cache.get(block)?;
        let block_size = data.len();
        let dot_ok = decode_record_length(le16(data, 4), block_size) == 12
            && data[6] == 1
            && data[8] == b'.';
        let dot_dot_ok = decode_record_length(le16(data, 16), block_size) == block_size - 12
            && data[18] == 2
            && &data[20..22] == b"..";
        let levels = usize::from(data[30]);
        if !dot_ok
            || !dot_dot_ok
            || le32(data, 24) != 0
            || usize::from(data[29]) != ROOT_INFO_LENGTH
            || levels > max_levels
            || data[31] & 1 != 0
        {
            return Ok(None);
        }
        let stored_version = data[28];
        let Some(count) = entry_count(data, start, limit) else {
            return Ok(None);
        };
        let Some((version, seed)) = self.root_hash(stored_version) else {
            return Ok(None);
        };
        let level = Level {
            logical: 0,
            block,
            start,
            count,
            position: 0,
        };
        Ok(Some(Root {
            level,
            levels,
            version,
            seed,
        }))
    }

    /// The `dx_node` at `logical`, positioned for `hash` (at its first entry for `None`).
    fn index_node(
        &mut self,
        directory: &Inode,
        logical: u32,
        hash: Option<u32>,
    ) -> Result<Option<Level>> {
        let Some(block) = self.map_block(directory, u64::from(logical))? else {
            return Ok(None);
        };
        let limit = self.index_limit(8);
        let data = self.cache.get(block)?;
        let block_size = data.len();
        let fake_entry =
            le32(data, 0) == 0 && decode_record_length(le16(data, 4), block_size) == block_size;
        let Some(count) = entry_count(data, 8, limit).filter(|_| fake_entry) else {
            return Ok(None);
        };
        let position = hash.map_or(0, |hash| position_for(data, 8, count, hash));
        Ok(Some(Level {
            logical,
            block,
            start: 8,
            count,
            position,
        }))
    }

    /// Moves the walk to the next leaf in hash order.
    fn next_leaf(&mut self, directory: &Inode, path: &mut [Level], blocks: u64) -> Result<Step> {
        let Some(moved) = path
            .iter()
            .rposition(|level| level.position + 1 < level.count)
        else {
            return Ok(Step::End);
        };
        path[moved].position += 1;
        let data = self.cache.get(path[moved].block)?;
        let (start_hash, _) = entry(data, path[moved].start, path[moved].position);
        for below in moved + 1..path.len() {
            let Some(logical) = self.followed(&path[below - 1], blocks)? else {
                return Ok(Step::Malformed);
            };
            let Some(level) = self.index_node(directory, logical, None)? else {
                return Ok(Step::Malformed);
            };
            path[below] = level;
        }
        Ok(Step::Next(start_hash))
    }

    /// Looks `name` up through the hash index of `directory`. `Ok(None)` means "not found
    /// this way" — a miss or an index that does not make sense — and the caller must scan.
    pub(crate) fn index_lookup(&mut self, directory: &Inode, name: &[u8]) -> Result<Option<Found>> {
        let blocks = directory.size() / self.block_size() as u64;
        let Some(Root {
            mut level,
            levels,
            version,
            seed,
        }) = self.index_root(directory)?
        else {
            return Ok(None);
        };
        let Some(hash) = htree_hash::name_hash(version, seed, name) else {
            return Ok(None);
        };
        let data = self.cache.get(level.block)?;
        level.position = position_for(data, level.start, level.count, hash);
        let mut path: Vec<Level> = Vec::with_capacity(levels + 1);
        path.push(level);
        for depth in 0..levels {
            let Some(logical) = self.followed(&path[depth], blocks)? else {
                return Ok(None);
            };
            match self.index_node(directory, logical, Some(hash))? {
                Some(level) => path.push(level),
                None => return Ok(None),
            }
        }
        // Each step moves forward through the index, so the leaves bound the walk.
        for _ in 0..blocks {
            let Some(leaf) = self.followed(&path[levels], blocks)? else {
                return Ok(None);
            };
            let found = self.scan_block(directory, u64::from(leaf), |entry, entry_name| {
                entry.inode != 0 && entry_name == name
            })?;
            if found.is_some() {
                return Ok(found);
            }
            // Names of one hash may spill into the following leaves; nothing else can.
            match self.next_leaf(directory, &mut path, blocks)? {
                Step::Next(start) if start & !1 == hash => {}
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Whether the whole index of `directory` agrees with its entries, so that a miss of the
    /// index walk proves a name absent: every index and leaf block is referenced once, the
    /// leaves' starting hashes never decrease in walk order, every name hashes into its
    /// leaf's range (up to the next leaf's start, or onto it when that start carries the
    /// continuation bit), and no block outside the index holds a name. One pass over the
    /// directory, like a linear lookup; `Ok(false)` for anything else.
    pub(crate) fn index_is_sound(&mut self, directory: &Inode) -> Result<bool> {
        let blocks = directory.size() / self.block_size() as u64;
        let Some(root) = self.index_root(directory)? else {
            return Ok(false);
        };
        let (version, seed, levels) = (root.version, root.seed, root.levels);
        let mut referenced = vec![false; blocks as usize];
        referenced[0] = true;
        let mut path: Vec<Level> = Vec::with_capacity(levels + 1);
        path.push(root.level);
        let mut node_seen = [0u32; 3];
        // Leaves in walk order, with their starting hashes.
        let mut leaves: Vec<(u32, u32)> = Vec::new();
        let mut start = 0;
        loop {
            while path.len() <= levels {
                let Some(logical) = self.followed(&path[path.len() - 1], blocks)? else {
                    return Ok(false);
                };
                let Some(node) = self.index_node(directory, logical, None)? else {
                    return Ok(false);
                };
                path.push(node);
            }
            // A node stays on the path for several leaves; count it once, when it arrives.
            for (depth, level) in path.iter().enumerate().skip(1) {
                if node_seen[depth] != level.logical {
                    node_seen[depth] = level.logical;
                    if core::mem::replace(&mut referenced[level.logical as usize], true) {
                        return Ok(false);
                    }
                }
            }
            let Some(leaf) = self.followed(&path[levels], blocks)? else {
                return Ok(false);
            };
            if core::mem::replace(&mut referenced[leaf as usize], true) {
                return Ok(false);
            }
            if leaves.last().is_some_and(|&(_, previous)| previous > start) {
                return Ok(false);
            }
            leaves.push((leaf, start));
            match self.next_leaf(directory, &mut path, blocks)? {
                Step::Next(next) => start = next,
                Step::End => break,
                Step::Malformed => return Ok(false),
            }
            if leaves.len() as u64 >= blocks {
                return Ok(false);
            }
        }
        for (index, &(leaf, start)) in leaves.iter().enumerate() {
            let low = start & !1;
            let next = leaves.get(index + 1).map(|&(_, next)| next);
            let mut outside = false;
            self.scan_block(directory, u64::from(leaf), |entry, name| {
                if entry.inode != 0 {
                    let hash = htree_hash::name_hash(version, seed, name).unwrap_or(0);
                    let below_next = match next {
                        None => true,
                        Some(next) => hash < next || (next & 1 == 1 && hash == next & !1),
                    };
                    outside |= hash < low || !below_next;
                }
                outside
            })?;
            if outside {
                return Ok(false);
            }
        }
        for logical in 0..blocks {
            if !referenced[logical as usize]
                && self
                    .scan_block(directory, logical, |entry, _| entry.inode != 0)?
                    .is_some()
            {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
