//! Linear directories (ext2 layout, `ext2_dir_entry_2`): parse, look up, list, add, remove.
//!
//! Every entry is validated before use (rec_len bounds and alignment, name length, inode
//! range). Indexed (htree) directories are read linearly; any change to one clears its
//! index flag so the image stays valid without maintaining the hash tree.

use alloc::vec::Vec;

use crate::device::BlockDevice;
use crate::error::{Corruption, Error, Result};
use crate::fs::FileSystem;
use crate::inode::{FileType, Inode, INDEX_FLAG};
use crate::layout::{le16, le32, put16, put32};

/// One name in a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Inode the name refers to.
    pub inode: u32,
    /// The name bytes (no terminator).
    pub name: Vec<u8>,
    /// Object type (from the entry with the filetype feature, else from the inode).
    pub file_type: FileType,
}

/// A decoded entry header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawEntry {
    pub block: u64,
    pub offset: usize,
    pub inode: u32,
    pub record_length: usize,
    pub name_length: usize,
    pub type_byte: u8,
}

/// Where an entry was found, plus the entry before it in the same block.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Found {
    pub entry: RawEntry,
    pub previous: Option<RawEntry>,
}

/// Minimum record length for a name of `length` bytes.
pub(crate) fn record_length(length: usize) -> usize {
    (8 + length + 3) & !3
}

/// Writes one entry header and name at `offset`.
fn encode_entry(
    filetype: bool,
    data: &mut [u8],
    offset: usize,
    record_length: usize,
    inode: u32,
    name: &[u8],
    kind: FileType,
) {
    put32(data, offset, inode);
    put16(data, offset + 4, record_length.min(65535) as u16);
    if filetype {
        data[offset + 6] = name.len() as u8;
        data[offset + 7] = kind.entry_type();
    } else {
        put16(data, offset + 6, name.len() as u16);
    }
    data[offset + 8..offset + 8 + name.len()].copy_from_slice(name);
}

/// Checks a name for creation.
pub(crate) fn check_name(name: &[u8]) -> Result<()> {
    if name.len() > 255 {
        return Err(Error::NameTooLong);
    }
    if name.is_empty() || name == b"." || name == b".." || name.iter().any(|&b| b == b'/' || b == 0)
    {
        return Err(Error::InvalidArgument(
            "name is empty, '.', '..' or holds '/' or NUL",
        ));
    }
    Ok(())
}

/// What parsing an entry needs to know about the file system and the block.
struct EntryShape {
    filetype: bool,
    inodes_count: u32,
    directory: u32,
    logical: u64,
}

impl EntryShape {
    /// Decodes and validates the entry at `offset`; returns it and the end of its name.
    fn parse(&self, data: &[u8], offset: usize) -> Result<(RawEntry, usize)> {
        let block_size = data.len();
        let bad = |reason| -> Error {
            Corruption::DirectoryEntry {
                inode: self.directory,
                offset: self.logical * block_size as u64 + offset as u64,
                reason,
            }
            .into()
        };
        if offset + 8 > block_size {
            return Err(bad("header runs past the block"));
        }
        let inode = le32(data, offset);
        let record_length = decode_record_length(le16(data, offset + 4), block_size);
        let (name_length, type_byte) = if self.filetype {
            (usize::from(data[offset + 6]), data[offset + 7])
        } else {
            (usize::from(le16(data, offset + 6)), 0)
        };
        if record_length < 12 || record_length % 4 != 0 {
            return Err(bad("record length is below 12 or unaligned"));
        }
        if offset + record_length > block_size {
            return Err(bad("record runs past the block"));
        }
        if inode != 0 {
            if name_length == 0 || name_length > 255 || 8 + name_length > record_length {
                return Err(bad("name length does not fit the record"));
            }
            if inode > self.inodes_count {
                return Err(bad("inode number out of range"));
            }
        }
        let name_end = if inode != 0 {
            offset + 8 + name_length
        } else {
            offset + 8
        };
        let entry = RawEntry {
            block: 0,
            offset,
            inode,
            record_length,
            name_length,
            type_byte,
        };
        Ok((entry, name_end))
    }
}

/// `rec_len` as stored, with the 64 KiB-block encoding of a whole-block record.
pub(crate) fn decode_record_length(stored: u16, block_size: usize) -> usize {
    if block_size >= 65536 && (stored == 0 || stored == 65535) {
        65536
    } else {
        usize::from(stored)
    }
}

impl<D: BlockDevice> FileSystem<D> {
    pub(crate) fn directory_inode(&mut self, number: u32) -> Result<Inode> {
        let inode = self.read_inode(number)?;
        if !inode.is_directory() {
            return Err(Error::NotDirectory);
        }
        // Directories have no holes, so every block of the size is allocated: checking that
        // also bounds a scan by the blocks the inode really owns.
        let block_size = self.block_size() as u64;
        let owned = inode.sectors() / (block_size / 512);
        if inode.size() % block_size != 0 || inode.size() / block_size > owned || inode.size() == 0
        {
            return Err(Corruption::Inode {
                inode: number,
                reason: "directory size",
            }
            .into());
        }
        Ok(inode)
    }

    /// Calls `visit` for every entry (free ones included) in directory order; stops early
    /// when it returns `true`, giving back that entry and its predecessor in the block.
    pub(crate) fn scan_directory(
        &mut self,
        directory: &Inode,
        mut visit: impl FnMut(&RawEntry, &[u8]) -> bool,
    ) -> Result<Option<Found>> {
        let blocks = directory.size() / self.block_size() as u64;
        for logical in 0..blocks {
            if let Some(found) = self.scan_block(directory, logical, &mut visit)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// [`scan_directory`](Self::scan_directory) over the one logical block `logical`.
    pub(crate) fn scan_block(
        &mut self,
        directory: &Inode,
        logical: u64,
        mut visit: impl FnMut(&RawEntry, &[u8]) -> bool,
    ) -> Result<Option<Found>> {
        let block = self
            .map_block(directory, logical)?
            .ok_or(Corruption::DirectoryEntry {
                inode: directory.number,
                offset: logical * self.block_size() as u64,
                reason: "hole in a directory",
            })?;
        let shape = EntryShape {
            filetype: self.sb.has_filetype(),
            inodes_count: self.sb.inodes_count,
            directory: directory.number,
            logical,
        };
        let data = self.cache.get(block)?;
        let mut offset = 0;
        let mut previous = None;
        while offset < data.len() {
            let (mut entry, name_end) = shape.parse(data, offset)?;
            entry.block = block;
            if visit(&entry, &data[offset + 8..name_end]) {
                return Ok(Some(Found { entry, previous }));
            }
            previous = Some(entry);
            offset += entry.record_length;
        }
        Ok(None)
    }

    /// Looks `name` up in directory `directory`; returns its inode number.
    ///
    /// # Errors
    /// `NotDirectory`; `NotFound`; `NameTooLong`; `Corrupted`; `Device`.
    pub fn lookup(&mut self, directory: u32, name: &[u8]) -> Result<u32> {
        Ok(self.find_entry(directory, name)?.entry.inode)
    }

    pub(crate) fn find_entry(&mut self, directory: u32, name: &[u8]) -> Result<Found> {
        if name.len() > 255 {
            return Err(Error::NameTooLong);
        }
        let inode = self.directory_inode(directory)?;
        // `.` and `..` live at the start of block 0, outside the hash order.
        if self.has_usable_index(&inode) && name != b"." && name != b".." {
            // Any failure of the index walk (damage, I/O) falls back to the scan below,
            // which reports a real problem with the entries themselves. A miss is trusted
            // only once the whole index has been checked against the entries.
            match self.index_lookup(&inode, name) {
                Ok(Some(found)) => return Ok(found),
                Ok(None) if self.index_proves_absence(&inode) => return Err(Error::NotFound),
                _ => {}
            }
        }
        self.scan_directory(&inode, |entry, entry_name| {
            entry.inode != 0 && entry_name == name
        })?
        .ok_or(Error::NotFound)
    }

    /// Every entry of directory `directory`, `.` and `..` included, in on-disk order.
    ///
    /// # Errors
    /// `NotDirectory`; `Corrupted`; `Device`.
    pub fn read_dir(&mut self, directory: u32) -> Result<Vec<DirEntry>> {
        let inode = self.directory_inode(directory)?;
        let mut entries = Vec::new();
        self.scan_directory(&inode, |entry, name| {
            if entry.inode != 0 {
                let file_type = FileType::from_entry_type(entry.type_byte);
                entries.push(DirEntry {
                    inode: entry.inode,
                    name: name.to_vec(),
                    file_type,
                });
            }
            false
        })?;
        if !self.sb.has_filetype() {
            for entry in &mut entries {
                entry.file_type = self.read_inode(entry.inode)?.file_type();
            }
        }
        Ok(entries)
    }

    /// Whether a miss of the index walk in `directory` proves a name absent: its index was
    /// checked whole against its entries (once per mount; the answer is kept, a bounded
    /// number of directories at a time).
    fn index_proves_absence(&mut self, directory: &Inode) -> bool {
        const KEPT: usize = 256;
        if let Some(&sound) = self.checked_indexes.get(&directory.number) {
            return sound;
        }
        let sound = self.index_is_sound(directory).unwrap_or(false);
        if self.checked_indexes.len() >= KEPT {
            self.checked_indexes.clear();
        }
        self.checked_indexes.insert(directory.number, sound);
        sound
    }

    /// Records that directory `inode` changed: times, and the htree flag cleared.
    fn touch_directory(&mut self, inode: &mut Inode) {
        self.checked_indexes.remove(&inode.number);
        inode.set_flags(inode.flags() & !INDEX_FLAG);
        let now = self.now() as i64;
        inode.set_mtime(now);
        inode.set_ctime(now);
    }

    /// Adds `name -> child` to `directory`, reusing slack space or appending a block.
    pub(crate) fn add_entry(
        &mut self,
        directory: u32,
        name: &[u8],
        child: u32,
        kind: FileType,
    ) -> Result<()> {
        let mut inode = self.directory_inode(directory)?;
        let needed = record_length(name.len());
        let slot = self.scan_directory(&inode, |entry, _| {
            let used = if entry.inode == 0 {
                0
            } else {
                record_length(entry.name_length)
            };
            entry.record_length - used >= needed
        })?;
        match slot {
            Some(Found { entry, .. }) => {
                let used = if entry.inode == 0 {
                    0
                } else {
                    record_length(entry.name_length)
                };
                let filetype = self.sb.has_filetype();
                let data = self.cache.get_mut(entry.block)?;
                if used > 0 {
                    put16(data, entry.offset + 4, used as u16);
                }
                encode_entry(
                    filetype,
                    data,
                    entry.offset + used,
                    entry.record_length - used,
                    child,
                    name,
                    kind,
                );
            }
            None => {
                let block_size = self.block_size();
                let logical = inode.size() / block_size as u64;
                self.allow_directory_growth(logical)?;
                let (block, _) = self.map_or_allocate(&mut inode, logical)?;
                let filetype = self.sb.has_filetype();
                encode_entry(
                    filetype,
                    self.cache.zeroed(block)?,
                    0,
                    block_size,
                    child,
                    name,
                    kind,
                );
                inode.set_size(inode.size() + block_size as u64);
            }
        }
        self.touch_directory(&mut inode);
        self.write_inode(&inode)
    }

    fn allow_directory_growth(&self, logical: u64) -> Result<()> {
        // Directory sizes stay below 2 GiB: i_size_high is not a size field for
        // directories on older revisions.
        if (logical + 1) * self.block_size() as u64 > (1 << 31) - 1 {
            return Err(Error::NoSpace);
        }
        Ok(())
    }

    /// Removes `name` from `directory`, returning the inode it named.
    pub(crate) fn remove_entry(&mut self, directory: u32, name: &[u8]) -> Result<u32> {
        let found = self.find_entry(directory, name)?;
        let data = self.cache.get_mut(found.entry.block)?;
        match found.previous {
            Some(previous) => {
                let merged = previous.record_length + found.entry.record_length;
                put16(data, previous.offset + 4, merged.min(65535) as u16);
            }
            None => put32(data, found.entry.offset, 0),
        }
        let mut inode = self.read_inode(directory)?;
        self.touch_directory(&mut inode);
        self.write_inode(&inode)?;
        Ok(found.entry.inode)
    }

    /// Points the existing entry `name` in `directory` at `child`.
    pub(crate) fn replace_entry(
        &mut self,
        directory: u32,
        name: &[u8],
        child: u32,
        kind: FileType,
    ) -> Result<()> {
        let found = self.find_entry(directory, name)?;
        let has_filetype = self.sb.has_filetype();
        let data = self.cache.get_mut(found.entry.block)?;
        put32(data, found.entry.offset, child);
        if has_filetype {
            data[found.entry.offset + 7] = kind.entry_type();
        }
        let mut inode = self.read_inode(directory)?;
        self.touch_directory(&mut inode);
        self.write_inode(&inode)
    }

    /// Whether `directory` holds nothing but `.` and `..`.
    pub(crate) fn is_empty_directory(&mut self, directory: u32) -> Result<bool> {
        let inode = self.directory_inode(directory)?;
        let other = self.scan_directory(&inode, |entry, name| {
            entry.inode != 0 && name != b"." && name != b".."
        })?;
        Ok(other.is_none())
    }

    /// Points `..` of `directory` at `parent`.
    pub(crate) fn set_parent_entry(&mut self, directory: u32, parent: u32) -> Result<()> {
        let found = self.find_entry(directory, b"..")?;
        put32(
            self.cache.get_mut(found.entry.block)?,
            found.entry.offset,
            parent,
        );
        let mut inode = self.read_inode(directory)?;
        self.touch_directory(&mut inode);
        self.write_inode(&inode)
    }

    /// Writes the `.` and `..` entries of a new directory block.
    pub(crate) fn write_dot_entries(
        &mut self,
        block: u64,
        directory: u32,
        parent: u32,
    ) -> Result<()> {
        let block_size = self.block_size();
        let filetype = self.sb.has_filetype();
        let data = self.cache.zeroed(block)?;
        encode_entry(filetype, data, 0, 12, directory, b".", FileType::Directory);
        encode_entry(
            filetype,
            data,
            12,
            block_size - 12,
            parent,
            b"..",
            FileType::Directory,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{check_name, record_length};
    use crate::error::Error;

    #[test]
    fn names_and_record_lengths() {
        assert_eq!(record_length(1), 12);
        assert_eq!(record_length(4), 12);
        assert_eq!(record_length(5), 16);
        assert_eq!(record_length(255), 264);
        assert!(check_name(b"ok").is_ok());
        assert_eq!(check_name(&[b'a'; 256]), Err(Error::NameTooLong));
        for bad in [&b""[..], b".", b"..", b"a/b", b"a\0"] {
            assert!(
                matches!(check_name(bad), Err(Error::InvalidArgument(_))),
                "{bad:?}"
            );
        }
    }
}
