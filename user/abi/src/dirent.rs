//! `struct linux_dirent64` records of `getdents64`.
//!
//! Each record: `d_ino` (u64), `d_off` (i64, the position to seek to for the next record),
//! `d_reclen` (u16, the record's length), `d_type` (u8, a `DT_*` value), then the name and a
//! NUL, padded with zeros to a multiple of 8 bytes.

use alloc::vec::Vec;

/// Bytes before the name: `d_ino`, `d_off`, `d_reclen`, `d_type`.
pub const HEADER_LENGTH: usize = 19;
const ALIGN: usize = 8;

/// Length of the record for a name of `name_length` bytes.
pub const fn dirent64_len(name_length: usize) -> usize {
    (HEADER_LENGTH + name_length + 1).div_ceil(ALIGN) * ALIGN
}

/// Appends one record to `buffer`. `name` must not contain a NUL byte (no file name does); a
/// name longer than a record can describe (over 65 000 bytes) is cut.
pub fn push_dirent64(buffer: &mut Vec<u8>, inode: u64, offset: i64, dirent_type: u8, name: &[u8]) {
    let name = &name[..name.len().min(u16::MAX as usize - HEADER_LENGTH - ALIGN)];
    let length = dirent64_len(name.len());
    buffer.extend_from_slice(&inode.to_le_bytes());
    buffer.extend_from_slice(&offset.to_le_bytes());
    // Cannot truncate: the name was cut above so the record fits in 16 bits.
    buffer.extend_from_slice(&(length as u16).to_le_bytes());
    buffer.push(dirent_type);
    buffer.extend_from_slice(name);
    buffer.resize(buffer.len() + length - HEADER_LENGTH - name.len(), 0);
}

/// One decoded record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dirent64<'a> {
    pub inode: u64,
    pub offset: i64,
    pub dirent_type: u8,
    pub name: &'a [u8],
}

impl<'a> Dirent64<'a> {
    /// Decodes the record at the start of `bytes` and returns it with its length, or `None`
    /// if the record is truncated, its length is shorter than its header or it has no NUL.
    pub fn parse(bytes: &'a [u8]) -> Option<(Self, usize)> {
        let header = bytes.get(..HEADER_LENGTH)?;
        let length = usize::from(u16::from_le_bytes([header[16], header[17]]));
        let record = bytes.get(HEADER_LENGTH..length)?;
        let name_length = record.iter().position(|&byte| byte == 0)?;
        let entry = Self {
            inode: u64::from_le_bytes(header[..8].try_into().ok()?),
            offset: i64::from_le_bytes(header[8..16].try_into().ok()?),
            dirent_type: header[18],
            name: &record[..name_length],
        };
        Some((entry, length))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stat::{DT_DIR, DT_REG};

    #[test]
    fn lengths() {
        assert_eq!(dirent64_len(0), 24);
        assert_eq!(dirent64_len(1), 24);
        assert_eq!(dirent64_len(4), 24);
        assert_eq!(dirent64_len(5), 32);
        assert_eq!(dirent64_len(255), 280);
    }

    #[test]
    fn records_round_trip() {
        let mut buffer = Vec::new();
        push_dirent64(&mut buffer, 2, 1, DT_DIR, b".");
        push_dirent64(&mut buffer, 12, 2, DT_REG, b"hello.txt");
        assert_eq!(buffer.len(), 24 + 32);
        assert_eq!(buffer[16..18], 24u16.to_le_bytes());
        assert_eq!(&buffer[19..21], b".\0");
        let (first, length) = Dirent64::parse(&buffer).unwrap();
        assert_eq!(
            (first.inode, first.offset, first.dirent_type),
            (2, 1, DT_DIR)
        );
        assert_eq!(first.name, b".");
        let (second, _) = Dirent64::parse(&buffer[length..]).unwrap();
        assert_eq!(second.name, b"hello.txt");
        assert_eq!(second.offset, 2);
    }

    #[test]
    fn damaged_records_are_refused() {
        let mut buffer = Vec::new();
        push_dirent64(&mut buffer, 1, 1, DT_REG, b"abcd");
        assert!(Dirent64::parse(&buffer[..20]).is_none());
        let mut short = buffer.clone();
        short[16] = 4;
        assert!(Dirent64::parse(&short).is_none());
        let mut unterminated = buffer.clone();
        unterminated[19..24].fill(b'x');
        assert!(Dirent64::parse(&unterminated).is_none());
    }
}
