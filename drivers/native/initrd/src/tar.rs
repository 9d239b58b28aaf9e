//! Tar stream reader: walks 512-byte headers and yields one logical entry at a time.
//!
//! Reads POSIX ustar (IEEE Std 1003.1 `ustar` interchange format, including the `prefix` field),
//! GNU long names and long link names (typeflags `L` and `K`), pax extended headers (`x` for
//! the next entry, `g` for all later ones; their records are read in `pax.rs`) and old GNU
//! sparse members (typeflag `S` with its extension headers; the maps are read in `sparse.rs`).
//! Numeric fields may be octal or GNU base-256. Header checksums are verified against both the
//! unsigned and the signed byte sum, as historical tars differ. The reader never copies entry
//! data: it hands out byte ranges of the stream. It stops at the first damage; each call to
//! `next` consumes at least one block, so it always terminates.

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use crate::error::{Diagnostic, DiagnosticKind, SparseMapError};
use crate::pax::{parse_pax, Overrides};
use crate::sparse::{self, PaxSparse, SparseFile};

pub(crate) const BLOCK: usize = 512;

// Header field ranges (ustar layout; GNU shares the first 345 bytes).
const NAME: Range<usize> = 0..100;
const MODE: Range<usize> = 100..108;
const UID: Range<usize> = 108..116;
const GID: Range<usize> = 116..124;
const SIZE: Range<usize> = 124..136;
const MTIME: Range<usize> = 136..148;
const CHECKSUM: Range<usize> = 148..156;
const TYPEFLAG: usize = 156;
const LINKNAME: Range<usize> = 157..257;
const MAGIC: Range<usize> = 257..265; // magic and version together
const PREFIX: Range<usize> = 345..500;

const USTAR_MAGIC: &[u8] = b"ustar\x0000";

/// Whether `data` starts with a tar header (valid checksum) or an end-of-archive block.
pub(crate) fn looks_like_tar(data: &[u8]) -> bool {
    data.get(..BLOCK).is_some_and(|header| {
        header.iter().all(|&byte| byte == 0) || verify_checksum(header).is_ok()
    })
}

/// One logical archive member, after extension headers were applied.
pub(crate) struct Entry<'d> {
    /// Offset of the member's own header (after any extension headers).
    pub(crate) offset: usize,
    pub(crate) path: Vec<u8>,
    pub(crate) link: &'d [u8],
    pub(crate) typeflag: u8,
    pub(crate) mode: u32,
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) mtime: i64,
    /// Where the member's data lies in the stream (empty for links and directories).
    pub(crate) data: Range<usize>,
    /// For a sparse file: its map, or what is wrong with it.
    pub(crate) sparse: Option<Result<SparseFile, SparseMapError>>,
    /// Pax values that did not parse, to report with the entry.
    pub(crate) notes: Vec<DiagnosticKind>,
}

pub(crate) struct Reader<'d> {
    data: &'d [u8],
    position: usize,
    global: Overrides<'d>,
    done: bool,
}

impl<'d> Reader<'d> {
    pub(crate) fn new(data: &'d [u8]) -> Self {
        Self {
            data,
            position: 0,
            global: Overrides::default(),
            done: false,
        }
    }

    /// The next entry, `None` at the end marker, or the damage that stopped reading.
    pub(crate) fn next_entry(&mut self) -> Option<Result<Entry<'d>, Diagnostic>> {
        if self.done {
            return None;
        }
        let result = self.read_entry();
        if !matches!(result, Some(Ok(_))) {
            self.done = true;
        }
        result
    }

    fn read_entry(&mut self) -> Option<Result<Entry<'d>, Diagnostic>> {
        let data = self.data;
        let mut local = Overrides::default();
        let mut sparse = PaxSparse::default();
        let mut notes = Vec::new();
        // An extension header seen since the last entry, for naming damage.
        let mut pending = false;
        loop {
            let offset = self.position;
            let remaining = data.len() - offset;
            if remaining == 0 {
                let kind = if pending {
                    DiagnosticKind::TruncatedHeader
                } else {
                    DiagnosticKind::MissingEndMarker
                };
                return Some(Err(Diagnostic::new(offset, None, kind)));
            }
            if remaining < BLOCK {
                return Some(Err(Diagnostic::new(
                    offset,
                    None,
                    DiagnosticKind::TruncatedHeader,
                )));
            }
            let header = &data[offset..offset + BLOCK];
            if header.iter().all(|&byte| byte == 0) {
                return self.zero_block(offset, pending);
            }
            let name = field_bytes(&header[NAME]);
            let damage = |kind| Some(Err(Diagnostic::new(offset, Some(lossy(name)), kind)));
            if let Err(kind) = verify_checksum(header) {
                return damage(kind);
            }
            let Some(header_size) = number(&header[SIZE]).and_then(|n| u64::try_from(n).ok())
            else {
                return damage(DiagnosticKind::BadNumericField { field: "size" });
            };
            let typeflag = header[TYPEFLAG];
            let is_extension = matches!(typeflag, b'L' | b'K' | b'x' | b'g');
            let overrides = local.over(&self.global);
            let size = match (is_extension, overrides.size) {
                (false, Some(size)) => size,
                _ => header_size,
            };
            // Links and directories have no data blocks (ustar); GNU dumpdirs (`D`) do.
            let data_size = if matches!(typeflag, b'1' | b'2' | b'5') {
                0
            } else {
                size
            };
            // An old GNU sparse header may be followed by extension headers with more of its map.
            let mut data_start = offset + BLOCK;
            let mut extended = typeflag == b'S' && sparse::old_gnu_is_extended(header);
            while extended {
                let Some(block) = data.get(data_start..data_start + BLOCK) else {
                    return damage(DiagnosticKind::TruncatedHeader);
                };
                extended = block[sparse::EXTENSION_IS_EXTENDED] != 0;
                data_start += BLOCK;
            }
            let available = (data.len() - data_start) as u64;
            let Some(data_range) = usize::try_from(data_size)
                .ok()
                .filter(|_| data_size <= available)
                .map(|length| data_start..data_start + length)
            else {
                return damage(DiagnosticKind::DataPastEnd {
                    size: data_size,
                    available,
                });
            };
            // Padding to the next block may be missing at the very end; clamp to the input.
            let padded = data_range.end.div_ceil(BLOCK).saturating_mul(BLOCK);
            self.position = padded.min(data.len());
            let content = &data[data_range.clone()];
            match typeflag {
                b'L' => local.path = Some(field_bytes(content)),
                b'K' => local.link = Some(field_bytes(content)),
                b'x' => {
                    if parse_pax(content, &mut local, Some(&mut sparse), &mut notes).is_err() {
                        return damage(DiagnosticKind::BadPaxRecord);
                    }
                }
                b'g' => {
                    if parse_pax(content, &mut self.global, None, &mut notes).is_err() {
                        return damage(DiagnosticKind::BadPaxRecord);
                    }
                }
                _ => {
                    let mut overrides = overrides;
                    // The real name of a pax sparse file (0.1, 1.0) wins over `path`.
                    overrides.path = sparse.name.or(overrides.path);
                    let map = match typeflag {
                        b'S' => Some(sparse::old_gnu(
                            header,
                            &data[offset + BLOCK..data_start],
                            data_range.clone(),
                        )),
                        b'0' | 0 | b'7' if sparse.is_sparse() => {
                            Some(sparse.file(data, data_range.clone()))
                        }
                        _ => None,
                    };
                    return Some(entry(header, offset, overrides, typeflag, data_range).map(
                        |mut entry| {
                            entry.sparse = map;
                            entry.notes = notes;
                            entry
                        },
                    ));
                }
            }
            pending = true;
        }
    }

    /// Handles a zero block at `offset`: the end marker, or damage.
    fn zero_block(
        &mut self,
        offset: usize,
        pending: bool,
    ) -> Option<Result<Entry<'d>, Diagnostic>> {
        let next = &self.data[offset + BLOCK..];
        let next_is_zero = next.len() < BLOCK || next[..BLOCK].iter().all(|&byte| byte == 0);
        if pending {
            Some(Err(Diagnostic::new(
                offset,
                None,
                DiagnosticKind::TruncatedHeader,
            )))
        } else if next_is_zero {
            // Two zero blocks (or one at the very end, which GNU tar also accepts).
            self.done = true;
            None
        } else {
            Some(Err(Diagnostic::new(
                offset,
                None,
                DiagnosticKind::LoneZeroBlock,
            )))
        }
    }
}

fn entry<'d>(
    header: &'d [u8],
    offset: usize,
    overrides: Overrides<'d>,
    typeflag: u8,
    data: Range<usize>,
) -> Result<Entry<'d>, Diagnostic> {
    let path = match overrides.path {
        Some(path) => path.to_vec(),
        None => {
            let name = field_bytes(&header[NAME]);
            let prefix = field_bytes(&header[PREFIX]);
            // Only POSIX ustar has a prefix; GNU keeps other fields there.
            if &header[MAGIC] == USTAR_MAGIC && !prefix.is_empty() {
                let mut joined = Vec::with_capacity(prefix.len() + 1 + name.len());
                joined.extend_from_slice(prefix);
                joined.push(b'/');
                joined.extend_from_slice(name);
                joined
            } else {
                name.to_vec()
            }
        }
    };
    let bad = |field| {
        Diagnostic::new(
            offset,
            Some(lossy(&path)),
            DiagnosticKind::BadNumericField { field },
        )
    };
    let mode = number(&header[MODE]).ok_or_else(|| bad("mode"))?;
    let uid = match overrides.uid {
        Some(uid) => uid,
        None => number(&header[UID])
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| bad("uid"))?,
    };
    let gid = match overrides.gid {
        Some(gid) => gid,
        None => number(&header[GID])
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| bad("gid"))?,
    };
    let mtime = match overrides.mtime {
        Some(mtime) => mtime,
        None => number(&header[MTIME])
            .and_then(|n| i64::try_from(n).ok())
            .ok_or_else(|| bad("mtime"))?,
    };
    let link = overrides
        .link
        .unwrap_or_else(|| field_bytes(&header[LINKNAME]));
    Ok(Entry {
        offset,
        path,
        link,
        typeflag,
        mode: (mode & 0o7777) as u32,
        uid,
        gid,
        mtime,
        data,
        sparse: None,
        notes: Vec::new(),
    })
}

/// The bytes of a NUL-terminated (or full-width) header field.
fn field_bytes(field: &[u8]) -> &[u8] {
    let end = field
        .iter()
        .position(|&byte| byte == 0)
        .unwrap_or(field.len());
    &field[..end]
}

pub(crate) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Parses an octal field (leading spaces, then digits, ended by space, NUL or the field end)
/// or a GNU base-256 field (high bit of the first byte set; 0xff means negative).
pub(crate) fn number(field: &[u8]) -> Option<i128> {
    let first = *field.first()?;
    if first & 0x80 != 0 {
        if field.len() > 12 {
            return None;
        }
        // Two's complement big-endian, 7 bits in the first byte; sign-extend from bit 6.
        let mut value: i128 = if first & 0x40 != 0 { -1 } else { 0 };
        value = (value << 7) | i128::from(first & 0x7f);
        for &byte in &field[1..] {
            value = (value << 8) | i128::from(byte);
        }
        return Some(value);
    }
    let mut digits = field.iter().skip_while(|&&byte| byte == b' ').peekable();
    let mut value: i128 = 0;
    while let Some(&&byte) = digits.peek() {
        match byte {
            b'0'..=b'7' => {
                value = value.checked_mul(8)?.checked_add(i128::from(byte - b'0'))?;
                digits.next();
            }
            b' ' | 0 => break,
            _ => return None,
        }
    }
    // Only padding may follow the digits.
    digits
        .all(|&byte| byte == b' ' || byte == 0)
        .then_some(value)
}

/// Checks the header checksum; both the unsigned and the signed byte sum are accepted.
fn verify_checksum(header: &[u8]) -> Result<(), DiagnosticKind> {
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (index, &byte) in header.iter().enumerate() {
        let byte = if CHECKSUM.contains(&index) {
            b' '
        } else {
            byte
        };
        unsigned += u64::from(byte);
        signed += i64::from(byte as i8);
    }
    let stored = number(&header[CHECKSUM]);
    match stored {
        Some(value) if value == i128::from(unsigned) || value == i128::from(signed) => Ok(()),
        _ => Err(DiagnosticKind::BadHeaderChecksum {
            stored: stored.and_then(|value| u64::try_from(value).ok()),
            computed: unsigned,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn octal_fields() {
        assert_eq!(number(b"0000644\0"), Some(0o644));
        assert_eq!(number(b"   644 \0"), Some(0o644));
        assert_eq!(number(b"\0\0\0\0"), Some(0));
        assert_eq!(number(b"0009\0"), None);
        assert_eq!(number(b"12 3"), None);
    }

    #[test]
    fn base_256_fields() {
        assert_eq!(
            number(&[0x80, 0, 0, 0, 0, 0x2D, 0xC6, 0xC0]),
            Some(3_000_000)
        );
        assert_eq!(number(&[0xFF; 8]), Some(-1));
        assert_eq!(
            number(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE]),
            Some(-2)
        );
        assert_eq!(number(&[0x80; 13]), None);
    }
}
