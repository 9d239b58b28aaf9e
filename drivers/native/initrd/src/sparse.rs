//! Sparse files: GNU tar's sparse maps read into a region list, and reads that fill holes.
//!
//! Implements the four layouts of the GNU tar manual, appendix "Sparse Formats": old GNU
//! (typeflag `S`: four map entries in the header, 21 in each extension header, `isextended`
//! chaining them, `realsize`), pax 0.0 (repeated `GNU.sparse.offset` / `GNU.sparse.numbytes`
//! records), pax 0.1 (`GNU.sparse.map`) and pax 1.0 (`GNU.sparse.major=1`, `minor=0`, the map as
//! decimal lines at the start of the data, padded with NULs to a 512-byte block). A map is
//! checked before use: regions in order and apart, inside the real size, and together exactly
//! the data the entry stores. Nothing is expanded: a sparse file is its stored data plus a
//! region list, so a tiny archive cannot claim terabytes of memory; holes read as zeros.

use alloc::vec::Vec;
use core::ops::Range;

use crate::error::SparseMapError;
use crate::pax;
use crate::tar::{self, BLOCK};

/// Old GNU header: four map entries of 24 bytes (offset and size, 12 bytes each) from byte 386.
const OLD_GNU_MAP: Range<usize> = 386..482;
const OLD_GNU_IS_EXTENDED: usize = 482;
const OLD_GNU_REAL_SIZE: Range<usize> = 483..495;
/// Old GNU extension header: 21 map entries, then the `isextended` byte.
const EXTENSION_MAP: Range<usize> = 0..504;
pub(crate) const EXTENSION_IS_EXTENDED: usize = 504;
const MAP_ENTRY: usize = 24;
const NUMBER_FIELD: usize = 12;

/// Whether an old GNU sparse header is followed by an extension header.
pub(crate) fn old_gnu_is_extended(header: &[u8]) -> bool {
    header[OLD_GNU_IS_EXTENDED] != 0
}

/// One stretch of data; the bytes between regions (and after the last one) are holes.
#[derive(Clone, Copy, Debug)]
struct Region {
    /// Where the region starts in the file.
    offset: u64,
    /// Stored bytes up to and including this region: its data is `stored_end` minus the
    /// previous region's `stored_end`, counted from the start of the entry's stored data.
    stored_end: u64,
}

/// A sparse regular file: where its stored data lies in the backing buffer, and its regions.
#[derive(Debug)]
pub(crate) struct SparseFile {
    /// The file's real size.
    size: u64,
    /// The regions' data, back to back, in the backing buffer.
    data: Range<usize>,
    /// Non-empty regions, in file order, not overlapping.
    regions: Vec<Region>,
}

impl SparseFile {
    /// The real (expanded) size.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Copies the file from `offset` into `buffer`, zeros for holes; returns the count.
    pub(crate) fn read(&self, backing: &[u8], offset: u64, buffer: &mut [u8]) -> usize {
        let stored = backing.get(self.data.clone()).unwrap_or_default();
        let left = self.size.saturating_sub(offset);
        let count = usize::try_from(left).map_or(buffer.len(), |left| left.min(buffer.len()));
        // The first region that ends after `offset`: the last one starting at or before it,
        // unless that one ends before it.
        let mut index = self
            .regions
            .partition_point(|region| region.offset <= offset);
        if index > 0 && self.end(index - 1) > offset {
            index -= 1;
        }
        let mut done = 0;
        while done < count {
            let at = offset + done as u64;
            let want = count - done;
            let piece = match self.regions.get(index) {
                Some(region) if region.offset <= at => {
                    let start = self.stored_start(index) + (at - region.offset);
                    let length = want.min(span(self.end(index) - at));
                    // Within `stored`: the map was checked against the stored size.
                    let source = usize::try_from(start)
                        .ok()
                        .and_then(|start| stored.get(start..start + length))
                        .unwrap_or_default();
                    buffer[done..done + source.len()].copy_from_slice(source);
                    if source.len() < length {
                        buffer[done + source.len()..done + length].fill(0);
                    }
                    index += 1;
                    length
                }
                Some(region) => {
                    let length = want.min(span(region.offset - at));
                    buffer[done..done + length].fill(0);
                    length
                }
                None => {
                    buffer[done..count].fill(0);
                    want
                }
            };
            done += piece;
        }
        count
    }

    fn stored_start(&self, index: usize) -> u64 {
        index
            .checked_sub(1)
            .map_or(0, |previous| self.regions[previous].stored_end)
    }

    /// Where region `index` ends in the file.
    fn end(&self, index: usize) -> u64 {
        let region = self.regions[index];
        region.offset + (region.stored_end - self.stored_start(index))
    }
}

/// A length in a file, as a buffer length (saturating: buffers are never that large).
fn span(length: u64) -> usize {
    usize::try_from(length).unwrap_or(usize::MAX)
}

/// Builds and checks a region list as map entries arrive.
struct MapBuilder {
    real_size: u64,
    regions: Vec<Region>,
    /// End of the last region, empty or not: the next one may not start before it.
    file_end: u64,
    stored: u64,
}

impl MapBuilder {
    fn new(real_size: u64) -> Self {
        Self {
            real_size,
            regions: Vec::new(),
            file_end: 0,
            stored: 0,
        }
    }

    fn push(&mut self, offset: u64, length: u64) -> Result<(), SparseMapError> {
        if offset < self.file_end {
            return Err(SparseMapError::Unordered { offset });
        }
        let end = offset
            .checked_add(length)
            .filter(|end| *end <= self.real_size)
            .ok_or(SparseMapError::PastRealSize {
                offset,
                length,
                real_size: self.real_size,
            })?;
        self.file_end = end;
        if length > 0 {
            // Cannot overflow: each region's data lies inside a real size of at most u64::MAX.
            self.stored += length;
            self.regions.push(Region {
                offset,
                stored_end: self.stored,
            });
        }
        Ok(())
    }

    /// The file, if the map describes exactly the `data` the entry stores.
    fn finish(self, data: Range<usize>) -> Result<SparseFile, SparseMapError> {
        let stored = data.len() as u64;
        if self.stored != stored {
            return Err(SparseMapError::StoredSize {
                described: self.stored,
                stored,
            });
        }
        Ok(SparseFile {
            size: self.real_size,
            data,
            regions: self.regions,
        })
    }
}

/// Reads an old GNU sparse member's map from its header and extension headers.
pub(crate) fn old_gnu(
    header: &[u8],
    extensions: &[u8],
    data: Range<usize>,
) -> Result<SparseFile, SparseMapError> {
    let real_size = tar::number(&header[OLD_GNU_REAL_SIZE])
        .and_then(|size| u64::try_from(size).ok())
        .ok_or(SparseMapError::UnreadableNumber)?;
    let mut map = MapBuilder::new(real_size);
    let blocks = core::iter::once(&header[OLD_GNU_MAP])
        .chain(extensions.chunks(BLOCK).map(|block| &block[EXTENSION_MAP]));
    for block in blocks {
        for entry in block.chunks(MAP_ENTRY) {
            let (offset, length) = entry.split_at(NUMBER_FIELD);
            // An empty slot ends this header's part of the map.
            if offset[0] == 0 && length[0] == 0 {
                break;
            }
            let number = |field: &[u8]| {
                tar::number(field)
                    .and_then(|value| u64::try_from(value).ok())
                    .ok_or(SparseMapError::UnreadableNumber)
            };
            map.push(number(offset)?, number(length)?)?;
        }
    }
    map.finish(data)
}

/// The `GNU.sparse.*` records of a member's pax header, gathered as they come.
#[derive(Default)]
pub(crate) struct PaxSparse<'d> {
    /// `GNU.sparse.name`: the real name (0.1 and 1.0 store a made-up one in the header).
    pub(crate) name: Option<&'d [u8]>,
    /// Whether any record other than the name was seen.
    present: bool,
    /// `GNU.sparse.realsize` (1.0) or `GNU.sparse.size` (0.x).
    real_size: Option<u64>,
    major: Option<u64>,
    minor: Option<u64>,
    /// `GNU.sparse.numblocks` (0.x): how many map entries follow.
    count: Option<u64>,
    /// `GNU.sparse.map` (0.1): `offset,size,offset,size,...`.
    map: Option<&'d [u8]>,
    /// `GNU.sparse.offset` / `GNU.sparse.numbytes` pairs (0.0), in order.
    pairs: Vec<(u64, Option<u64>)>,
    /// The first unreadable record, reported when the entry is built.
    error: Option<SparseMapError>,
}

impl<'d> PaxSparse<'d> {
    /// Takes a pax record if it is one of GNU tar's sparse keys; returns whether it was.
    pub(crate) fn record(&mut self, key: &[u8], value: &'d [u8]) -> bool {
        let Some(name) = key.strip_prefix(b"GNU.sparse.") else {
            return false;
        };
        match name {
            b"name" => {
                self.name = Some(value);
                return true;
            }
            b"map" => self.map = Some(value),
            b"realsize" | b"size" | b"major" | b"minor" | b"numblocks" | b"offset"
            | b"numbytes" => match pax::decimal(value) {
                Some(number) => self.number(name, number),
                None => self.fail(SparseMapError::UnreadableNumber),
            },
            _ => return false,
        }
        self.present = true;
        true
    }

    fn number(&mut self, name: &[u8], number: u64) {
        match name {
            b"realsize" | b"size" => self.real_size = Some(number),
            b"major" => self.major = Some(number),
            b"minor" => self.minor = Some(number),
            b"numblocks" => self.count = Some(number),
            b"offset" => self.pairs.push((number, None)),
            // `numbytes`: the size of the region whose offset came last.
            _ => match self.pairs.last_mut() {
                Some((_, length @ None)) => *length = Some(number),
                _ => self.fail(SparseMapError::Incomplete),
            },
        }
    }

    fn fail(&mut self, error: SparseMapError) {
        self.error.get_or_insert(error);
    }

    /// Whether the records make the member sparse (a lone `GNU.sparse.name` does not).
    pub(crate) fn is_sparse(&self) -> bool {
        self.present
    }

    /// Reads the member's map; `data` is its stored bytes in `archive` (the 1.0 map included).
    pub(crate) fn file(
        &self,
        archive: &[u8],
        data: Range<usize>,
    ) -> Result<SparseFile, SparseMapError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let real_size = self.real_size.ok_or(SparseMapError::MissingRealSize)?;
        let mut map = MapBuilder::new(real_size);
        match (self.major, self.minor) {
            (Some(1), Some(0)) => {
                let data_start = version_1_map(&archive[data.clone()], &mut map)?;
                map.finish(data.start + data_start..data.end)
            }
            (None | Some(0), None | Some(0 | 1)) => {
                let found = match self.map {
                    Some(text) => version_0_1_map(text, &mut map)?,
                    None => {
                        for &(offset, length) in &self.pairs {
                            map.push(offset, length.ok_or(SparseMapError::Incomplete)?)?;
                        }
                        self.pairs.len() as u64
                    }
                };
                match self.count {
                    Some(declared) if declared != found => {
                        Err(SparseMapError::Count { declared, found })
                    }
                    _ => map.finish(data),
                }
            }
            (major, minor) => Err(SparseMapError::UnsupportedVersion {
                major: major.unwrap_or(0),
                minor: minor.unwrap_or(0),
            }),
        }
    }
}

/// Reads a 0.1 map (`offset,size,...`); returns how many entries it held.
fn version_0_1_map(text: &[u8], map: &mut MapBuilder) -> Result<u64, SparseMapError> {
    if text.is_empty() {
        return Ok(0);
    }
    let mut numbers = text.split(|&byte| byte == b',');
    let mut count = 0;
    while let Some(offset) = numbers.next() {
        let length = numbers.next().ok_or(SparseMapError::Incomplete)?;
        let number = |text| pax::decimal(text).ok_or(SparseMapError::UnreadableNumber);
        map.push(number(offset)?, number(length)?)?;
        count += 1;
    }
    Ok(count)
}

/// Reads a 1.0 map from the start of `stored`; returns where the data starts after its padding.
fn version_1_map(stored: &[u8], map: &mut MapBuilder) -> Result<usize, SparseMapError> {
    let mut position = 0;
    let mut next = || {
        let rest = stored.get(position..).unwrap_or_default();
        let length = rest
            .iter()
            .position(|&byte| byte == b'\n')
            .ok_or(SparseMapError::Incomplete)?;
        position += length + 1;
        pax::decimal(&rest[..length]).ok_or(SparseMapError::UnreadableNumber)
    };
    let count = next()?;
    // Each entry takes at least four bytes, so a huge count runs out of map before it costs.
    for _ in 0..count {
        let offset = next()?;
        let length = next()?;
        map.push(offset, length)?;
    }
    Ok(position
        .div_ceil(BLOCK)
        .saturating_mul(BLOCK)
        .min(stored.len()))
}

#[cfg(test)]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    use super::{MapBuilder, PaxSparse, SparseMapError};

    fn file(regions: &[(u64, u64)], size: u64, stored: &[u8]) -> (super::SparseFile, Vec<u8>) {
        let mut map = MapBuilder::new(size);
        let mut expanded = vec![0; size as usize];
        let mut at = 0;
        for &(offset, length) in regions {
            map.push(offset, length).unwrap();
            let (offset, length) = (offset as usize, length as usize);
            expanded[offset..offset + length].copy_from_slice(&stored[at..at + length]);
            at += length;
        }
        (map.finish(0..stored.len()).unwrap(), expanded)
    }

    #[test]
    fn reads_every_window() {
        let stored: Vec<u8> = (1..=30).collect();
        let (file, expanded) = file(&[(3, 10), (13, 5), (25, 15), (50, 0)], 50, &stored);
        for offset in 0..55 {
            for length in [0, 1, 2, 7, 13, 60] {
                let mut buffer = vec![0xEE; length];
                let count = file.read(&stored, offset, &mut buffer);
                let start = (offset as usize).min(50);
                let end = (start + length).min(50);
                assert_eq!(count, end - start, "{offset}+{length}");
                assert_eq!(&buffer[..count], &expanded[start..end], "{offset}+{length}");
            }
        }
    }

    #[test]
    fn bad_maps() {
        let mut map = MapBuilder::new(100);
        map.push(10, 10).unwrap();
        assert_eq!(
            map.push(15, 1),
            Err(SparseMapError::Unordered { offset: 15 })
        );
        assert!(matches!(
            map.push(90, 11),
            Err(SparseMapError::PastRealSize { .. })
        ));
        assert!(matches!(
            map.push(u64::MAX, 2),
            Err(SparseMapError::PastRealSize { .. })
        ));
        assert_eq!(
            map.finish(0..11).unwrap_err(),
            SparseMapError::StoredSize {
                described: 10,
                stored: 11
            }
        );
    }

    #[test]
    fn pax_records() {
        let mut sparse = PaxSparse::default();
        assert!(!sparse.record(b"path", b"x"));
        assert!(sparse.record(b"GNU.sparse.name", b"real"));
        assert!(!sparse.is_sparse());
        assert!(sparse.record(b"GNU.sparse.size", b"100"));
        assert!(sparse.record(b"GNU.sparse.numbytes", b"5"));
        assert_eq!(
            sparse.file(b"", 0..0).unwrap_err(),
            SparseMapError::Incomplete
        );
        let mut sparse = PaxSparse::default();
        sparse.record(b"GNU.sparse.size", b"1x");
        assert_eq!(
            sparse.file(b"", 0..0).unwrap_err(),
            SparseMapError::UnreadableNumber
        );
        let mut sparse = PaxSparse::default();
        sparse.record(b"GNU.sparse.major", b"2");
        sparse.record(b"GNU.sparse.realsize", b"0");
        assert_eq!(
            sparse.file(b"", 0..0).unwrap_err(),
            SparseMapError::UnsupportedVersion { major: 2, minor: 0 }
        );
    }
}
