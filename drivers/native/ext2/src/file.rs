//! File data: read, write at any offset, truncate, and symbolic link targets.
//!
//! Holes read as zeros; writing into a hole allocates. Bytes past the end of file inside the
//! last block are kept zero, so growing a file never exposes stale data.
//!
//! Whole blocks move in runs: a read maps an extent of adjacent blocks with one walk of the
//! block map and reads it in one device request straight into the caller's buffer; a write
//! allocates the blocks of a run and writes the caller's bytes in one request. Neither goes
//! through the block cache (bulk data would push the metadata out), but both honour what
//! the cache holds. Partial blocks at either end go through the cache.

use alloc::vec::Vec;

use crate::block_map::Extent;
use crate::device::BlockDevice;
use crate::error::{Corruption, Error, Result};
use crate::features;
use crate::fs::FileSystem;
use crate::inode::{FileType, Inode};

/// Most blocks written by one device request of a file write.
const RUN_LIMIT: usize = 1024;

/// Largest size without the large_file feature.
const SMALL_FILE_LIMIT: u64 = (1 << 31) - 1;

impl<D: BlockDevice> FileSystem<D> {
    fn regular_inode(&mut self, number: u32) -> Result<Inode> {
        let inode = self.read_inode(number)?;
        match inode.file_type() {
            FileType::Regular => {}
            FileType::Directory => return Err(Error::IsDirectory),
            _ => return Err(Error::InvalidArgument("not a regular file")),
        }
        if inode.size() > self.max_file_size() {
            return Err(Corruption::Inode {
                inode: number,
                reason: "size beyond the format limit",
            }
            .into());
        }
        Ok(inode)
    }

    /// Reads from regular file `number` at `offset` into `buffer`; returns the bytes read
    /// (0 at or past end of file). Access times are not updated (noatime).
    ///
    /// # Errors
    /// `IsDirectory`, `InvalidArgument` for non-regular files; `Corrupted`; `Device`.
    pub fn read(&mut self, number: u32, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        let inode = self.regular_inode(number)?;
        let size = inode.size();
        if offset >= size {
            return Ok(0);
        }
        let length = (buffer.len() as u64).min(size - offset) as usize;
        inode.check_block_map()?;
        let block_size = self.block_size();
        let mut done = 0;
        while done < length {
            let position = offset + done as u64;
            let logical = position / block_size as u64;
            let within = (position % block_size as u64) as usize;
            if within == 0 && length - done >= block_size {
                let whole = ((length - done) / block_size) as u64;
                let count = match self.map_extent(&inode, logical, whole)? {
                    Extent::Hole { count } => {
                        buffer[done..done + count as usize * block_size].fill(0);
                        count
                    }
                    Extent::Mapped { physical, count } => {
                        let bytes = count as usize * block_size;
                        // The indirect block mapping what follows often sits right after the
                        // run: fetch it with the run rather than in a request of its own (also
                        // when this call ends with the run: the next one will want it).
                        let leaf = if position + (bytes as u64) < size {
                            self.uncached_leaf_at(&inode, logical + count, physical + count)?
                        } else {
                            None
                        };
                        let target = &mut buffer[done..done + bytes];
                        match leaf {
                            Some(leaf) => self.cache.read_run_and_load(physical, target, leaf)?,
                            None => self.cache.read_run(physical, target)?,
                        }
                        count
                    }
                };
                done += count as usize * block_size;
                continue;
            }
            let chunk = (block_size - within).min(length - done);
            let target = &mut buffer[done..done + chunk];
            match self.map_block(&inode, logical)? {
                None => target.fill(0),
                Some(block) => {
                    target.copy_from_slice(&self.cache.get(block)?[within..within + chunk])
                }
            }
            done += chunk;
        }
        Ok(length)
    }

    /// Makes sure a file of `size` bytes is allowed, setting large_file when needed.
    fn allow_size(&mut self, size: u64) -> Result<()> {
        if size > self.max_file_size() {
            return Err(Error::FileTooLarge);
        }
        if size > SMALL_FILE_LIMIT && !self.sb.has_large_file() {
            if self.sb.revision == 0 {
                return Err(Error::FileTooLarge);
            }
            self.sb.ro_compat |= features::RO_COMPAT_LARGE_FILE;
            self.metadata_dirty = true;
        }
        Ok(())
    }

    /// Zeros the bytes after `size` in the block holding it.
    fn zero_tail(&mut self, inode: &Inode, size: u64) -> Result<()> {
        let block_size = self.block_size() as u64;
        if size % block_size != 0 {
            if let Some(block) = self.map_block(inode, size / block_size)? {
                self.cache.get_mut(block)?[(size % block_size) as usize..].fill(0);
            }
        }
        Ok(())
    }

    /// Writes `data` into regular file `number` at `offset`, allocating as needed and
    /// extending the file. Returns the bytes written (fewer only when space ran out midway).
    ///
    /// # Errors
    /// `ReadOnly`; `IsDirectory`/`InvalidArgument` for non-regular files; `FileTooLarge`;
    /// `NoSpace` when nothing could be written; `Corrupted`; `Device`.
    pub fn write(&mut self, number: u32, offset: u64, data: &[u8]) -> Result<usize> {
        self.check_writable()?;
        self.check_user_inode(number)?;
        let mut inode = self.regular_inode(number)?;
        if data.is_empty() {
            return Ok(0);
        }
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or(Error::FileTooLarge)?;
        self.allow_size(end)?;
        let old_size = inode.size();
        if offset > old_size {
            self.zero_tail(&inode, old_size)?;
        }
        let block_size = self.block_size();
        let mut done = 0;
        let mut failure = None;
        while done < data.len() {
            let position = offset + done as u64;
            let within = (position % block_size as u64) as usize;
            let logical = position / block_size as u64;
            if within == 0 && data.len() - done >= block_size {
                match self.write_whole_blocks(&mut inode, logical, &data[done..]) {
                    Ok(written) => done += written,
                    Err((written, error)) => {
                        done += written;
                        failure = Some(error);
                        break;
                    }
                }
                continue;
            }
            let chunk = (block_size - within).min(data.len() - done);
            let block = match self.map_or_allocate(&mut inode, logical) {
                Ok((block, _)) => block,
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            };
            let target = match self.cache.get_mut(block) {
                Ok(target) => target,
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            };
            target[within..within + chunk].copy_from_slice(&data[done..done + chunk]);
            done += chunk;
        }
        let new_size = old_size.max(offset + done as u64);
        inode.set_size(new_size);
        if failure.is_some() {
            // Drop indirect blocks allocated past the data that did get written.
            let keep = new_size.div_ceil(block_size as u64);
            self.free_blocks_from(&mut inode, keep)?;
        }
        if done > 0 {
            let now = self.now() as i64;
            inode.set_mtime(now);
            inode.set_ctime(now);
        }
        self.write_inode(&inode)?;
        match failure {
            Some(error) if done == 0 => Err(error),
            _ => Ok(done),
        }
    }

    /// Writes the whole blocks at the start of `data` from logical block `logical` on: maps
    /// or allocates a run of physically adjacent blocks (at most [`RUN_LIMIT`]) and writes it
    /// in one request. Returns the bytes written (one run; the caller loops), or those
    /// written before an error and the error. Blocks allocated for a run that could not be
    /// written are zeroed in the cache, so they never show stale bytes; the caller frees
    /// what lies past the bytes it reports written.
    fn write_whole_blocks(
        &mut self,
        inode: &mut Inode,
        logical: u64,
        data: &[u8],
    ) -> core::result::Result<usize, (usize, Error)> {
        let block_size = self.block_size();
        let whole = (data.len() / block_size).min(RUN_LIMIT) as u64;
        let mut fresh = [0u64; RUN_LIMIT / 64];
        let (first, new) = self
            .map_or_allocate_near(inode, logical, None, false)
            .map_err(|error| (0, error))?;
        fresh[0] |= u64::from(new);
        let mut count = 1u64;
        let mut failure = None;
        while count < whole {
            // New blocks right after the run, in one step where the bitmap and map allow it.
            match self.allocate_adjacent(inode, logical + count, first + count, whole - count) {
                Ok(0) => {}
                Ok(added) => {
                    for index in count..count + added {
                        fresh[index as usize / 64] |= 1 << (index % 64);
                    }
                    count += added;
                    continue;
                }
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
            match self.map_or_allocate_near(inode, logical + count, Some(first + count), false) {
                Ok((block, new)) if block == first + count => {
                    fresh[count as usize / 64] |= u64::from(new) << (count % 64);
                    count += 1;
                }
                // Mapped elsewhere: the next run starts there.
                Ok(_) => break,
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        let bytes = count as usize * block_size;
        if let Err(error) = self.cache.write_run(first, &data[..bytes]) {
            for index in 0..count {
                if fresh[index as usize / 64] & (1 << (index % 64)) != 0 {
                    // Best effort: the error being reported is the write's.
                    let _ = self.cache.zeroed(first + index);
                }
            }
            return Err((0, error));
        }
        match failure {
            Some(error) => Err((bytes, error)),
            None => Ok(bytes),
        }
    }

    /// Sets the size of regular file `number`: shrinking frees blocks, growing leaves a hole.
    ///
    /// # Errors
    /// `ReadOnly`; `IsDirectory`/`InvalidArgument`; `FileTooLarge`; `Corrupted`; `Device`.
    pub fn truncate(&mut self, number: u32, size: u64) -> Result<()> {
        self.check_writable()?;
        self.check_user_inode(number)?;
        let mut inode = self.regular_inode(number)?;
        self.allow_size(size)?;
        let old_size = inode.size();
        let block_size = self.block_size() as u64;
        if size < old_size {
            self.free_blocks_from(&mut inode, size.div_ceil(block_size))?;
            self.zero_tail(&inode, size)?;
        } else if size > old_size {
            self.zero_tail(&inode, old_size)?;
        }
        inode.set_size(size);
        let now = self.now() as i64;
        inode.set_mtime(now);
        inode.set_ctime(now);
        self.write_inode(&inode)
    }

    /// Whether a symlink keeps its target inside the inode (no data block).
    pub(crate) fn is_fast_symlink(&self, inode: &Inode) -> bool {
        let acl_sectors = if inode.file_acl() != 0 {
            u64::from(self.sb.block_size / 512)
        } else {
            0
        };
        inode.size() < 60 && inode.sectors() == acl_sectors
    }

    /// The target of symbolic link `number`.
    ///
    /// The size must be what the stored target really holds: a fast link keeps it in
    /// `i_block`, a slow one in exactly one data block (`i_blocks` says so, no other
    /// pointer is set), and no NUL may fall inside the size — e2fsck's own rules for a
    /// valid link. Anything else is corruption of that inode, never padding or bytes of an
    /// unrelated block.
    ///
    /// # Errors
    /// `InvalidArgument` when not a symlink; `Corrupted` naming the inode for a bad size,
    /// block map or target; `Device`.
    pub fn read_link(&mut self, number: u32) -> Result<Vec<u8>> {
        let inode = self.read_inode(number)?;
        if inode.file_type() != FileType::Symlink {
            return Err(Error::InvalidArgument("not a symbolic link"));
        }
        let bad = |reason| -> Error {
            Corruption::Inode {
                inode: number,
                reason,
            }
            .into()
        };
        let size = inode.size();
        if size == 0 {
            return Err(bad("symbolic link of size 0"));
        }
        if size >= u64::from(self.sb.block_size) {
            return Err(bad("symbolic link size larger than one block can hold"));
        }
        let size = size as usize;
        let target = if self.is_fast_symlink(&inode) {
            inode.block_bytes()[..size].to_vec()
        } else {
            let acl_sectors = if inode.file_acl() != 0 {
                u64::from(self.sb.block_size / 512)
            } else {
                0
            };
            let data_sectors = inode.sectors().saturating_sub(acl_sectors);
            if data_sectors == 0 {
                return Err(bad("symbolic link size needs a data block but it has none"));
            }
            if data_sectors != u64::from(self.sb.block_size / 512)
                || (1..15).any(|index| inode.block(index) != 0)
            {
                return Err(bad("symbolic link block map is not exactly one block"));
            }
            inode.check_block_map()?;
            let block = match inode.block(0) {
                0 => return Err(bad("symbolic link without a block")),
                block => self.check_data_block(u64::from(block))?,
            };
            self.cache.get(block)?[..size].to_vec()
        };
        if target.contains(&0) {
            return Err(bad(
                "symbolic link target is shorter than its size (NUL inside)",
            ));
        }
        Ok(target)
    }
}
