//! Error and diagnostic types: what went wrong while parsing or looking up an initrd.
//!
//! `Error` is fatal (nothing usable could be built); `Diagnostic` is a report attached to a
//! successful parse (damage that cut the archive short, or an entry that was skipped or
//! adjusted); `FsError` is returned by lookups on a parsed initrd.

use alloc::string::String;
use core::fmt;

use crate::node::NodeKind;

/// A fatal parse error: the input is not an initrd this crate can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The input (or the content of its LZ4 frames) is zero bytes long.
    Empty,
    /// The input is neither an LZ4 frame nor a tar archive.
    UnknownFormat {
        /// Up to the first four bytes of the input, for the message.
        first_bytes: [u8; 4],
    },
    /// The input is LZ4 but its decompressed content is not a tar archive.
    UnknownCompressedFormat {
        /// Up to the first four bytes of the decompressed content.
        first_bytes: [u8; 4],
    },
    /// The input uses the legacy LZ4 format (`lz4 -l`), which this crate does not read.
    Lz4Legacy,
    /// The input is zstd-compressed (a zstd frame, possibly after skippable frames).
    Zstd,
    /// The input starts with skippable frames (a kind LZ4 and zstd share) that are not
    /// followed by an LZ4 frame.
    NoFrameAfterSkippable {
        /// Where a frame magic was expected after the skippable frames.
        offset: u64,
        /// The four bytes found there; `None` if the input ends (or ends inside a skippable
        /// frame; `offset` is then the input's length).
        found: Option<[u8; 4]>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty initrd: no archive data"),
            Self::UnknownFormat { first_bytes } => write!(
                f,
                "unknown format: neither an LZ4 frame nor a tar archive (starts with {first_bytes:02x?})"
            ),
            Self::UnknownCompressedFormat { first_bytes } => write!(
                f,
                "unknown format inside LZ4: content is not a tar archive (starts with {first_bytes:02x?})"
            ),
            Self::Lz4Legacy => f.write_str("unsupported format: legacy LZ4 frame (recompress without -l)"),
            Self::Zstd => f.write_str("unknown format: zstd-compressed (recompress with lz4)"),
            Self::NoFrameAfterSkippable {
                offset,
                found: Some(bytes),
            } => write!(
                f,
                "unknown format: skippable frames followed by {bytes:02x?} at byte {offset}, not an LZ4 frame"
            ),
            Self::NoFrameAfterSkippable {
                offset,
                found: None,
            } => write!(
                f,
                "unknown format: skippable frames and no LZ4 frame (input ends at byte {offset})"
            ),
        }
    }
}

/// Damage found while decoding LZ4 frames; decoding stops at the first one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lz4Damage {
    /// The input ends inside a frame.
    Truncated,
    /// Bytes after a complete frame are neither another frame nor a skippable frame.
    TrailingData {
        /// The four bytes found where a magic number was expected.
        magic: u32,
    },
    /// The frame descriptor has an unknown version, reserved bits set or a bad block size.
    BadDescriptor,
    /// The frame descriptor's header checksum byte does not match.
    DescriptorChecksum {
        /// Checksum byte stored in the frame.
        stored: u8,
        /// Checksum byte computed over the descriptor.
        computed: u8,
    },
    /// The frame needs a preset dictionary, which an initrd cannot supply.
    DictionaryRequired,
    /// A block is larger than the frame's declared maximum block size.
    BlockTooLarge {
        /// Size stored in the block header.
        size: u32,
        /// Maximum block size from the frame descriptor.
        max: u32,
    },
    /// A compressed block does not decode.
    CorruptBlock,
    /// A block's xxHash32 checksum does not match.
    BlockChecksum {
        /// Checksum stored after the block.
        stored: u32,
        /// Checksum computed over the block as stored.
        computed: u32,
    },
    /// The frame's content checksum does not match; the data was kept but may be corrupt.
    ContentChecksum {
        /// Checksum stored at the end of the frame.
        stored: u32,
        /// Checksum computed over the decompressed frame.
        computed: u32,
    },
    /// The frame decoded to a different size than its descriptor declares.
    ContentSize {
        /// Size from the frame descriptor.
        declared: u64,
        /// Size actually decoded.
        actual: u64,
    },
    /// The decompressed content would exceed the configured limit.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Memory for the decompressed content could not be allocated.
    OutOfMemory,
}

impl fmt::Display for Lz4Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("LZ4 frame truncated"),
            Self::TrailingData { magic: 0xFD2F_B528 } => f.write_str(
                "undecodable data after the last LZ4 frame (magic 0xfd2fb528: a zstd frame)",
            ),
            Self::TrailingData { magic } => {
                write!(f, "undecodable data after the last LZ4 frame (magic {magic:#010x})")
            }
            Self::BadDescriptor => f.write_str("bad LZ4 frame descriptor"),
            Self::DescriptorChecksum { stored, computed } => write!(
                f,
                "LZ4 frame descriptor checksum mismatch (stored {stored:#04x}, computed {computed:#04x})"
            ),
            Self::DictionaryRequired => f.write_str("LZ4 frame needs a preset dictionary"),
            Self::BlockTooLarge { size, max } => {
                write!(f, "LZ4 block of {size} bytes exceeds the frame's maximum of {max}")
            }
            Self::CorruptBlock => f.write_str("corrupt LZ4 block"),
            Self::BlockChecksum { stored, computed } => write!(
                f,
                "LZ4 block checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
            Self::ContentChecksum { stored, computed } => write!(
                f,
                "LZ4 content checksum mismatch (stored {stored:#010x}, computed {computed:#010x}); data may be corrupt"
            ),
            Self::ContentSize { declared, actual } => write!(
                f,
                "LZ4 frame declares {declared} bytes of content but holds {actual}"
            ),
            Self::TooLarge { limit } => {
                write!(f, "decompressed initrd exceeds the limit of {limit} bytes")
            }
            Self::OutOfMemory => f.write_str("out of memory while decompressing"),
        }
    }
}

/// What a diagnostic reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiagnosticKind {
    /// LZ4 damage; the diagnostic's offset is in the compressed input.
    Lz4(Lz4Damage),
    /// The archive ends inside a tar header.
    TruncatedHeader,
    /// A tar header's checksum matches neither the unsigned nor the signed sum.
    BadHeaderChecksum {
        /// Value of the checksum field (`None` if it is not a number).
        stored: Option<u64>,
        /// Unsigned byte sum of the header.
        computed: u64,
    },
    /// A numeric header field is neither octal nor base-256.
    BadNumericField {
        /// The field's name (`size`, `mode`, ...).
        field: &'static str,
    },
    /// An entry's data runs past the end of the archive.
    DataPastEnd {
        /// Size from the header.
        size: u64,
        /// Bytes left after the header.
        available: u64,
    },
    /// A pax extended header record is malformed.
    BadPaxRecord,
    /// A pax value that only sets metadata (`mtime`, `uid`, `gid`) does not parse; the entry
    /// was kept and the value read as GNU tar reads it.
    BadPaxValue {
        /// The pax key.
        key: &'static str,
        /// The leading number of an `mtime` with trailing garbage, which was used; `None` if
        /// the value was ignored for the header's.
        leading: Option<i64>,
    },
    /// A sparse file's map is malformed; the entry was skipped.
    BadSparseMap(SparseMapError),
    /// The archive ends without the two zero blocks that mark its end.
    MissingEndMarker,
    /// A single zero block is followed by more headers.
    LoneZeroBlock,
    /// A path has a `..` component; the entry was skipped.
    UnsafePath,
    /// A path or link target is not UTF-8; the entry was skipped.
    NonUtf8Name,
    /// A path names the root itself but the entry is not a directory; skipped.
    RootNotDirectory,
    /// A leading `/` was removed; the entry was kept relative to the initrd root.
    AbsolutePathStripped,
    /// A parent component of the path is not a directory; the entry was skipped.
    ParentNotDirectory,
    /// A hard link names a path that is not (yet) in the archive; the entry was skipped.
    HardLinkTargetMissing {
        /// The normalised link target.
        target: String,
    },
    /// A hard link names a directory; the entry was skipped.
    HardLinkToDirectory,
    /// The entry type is not a file, directory, symlink or hard link; skipped.
    UnsupportedType {
        /// The tar typeflag byte.
        typeflag: u8,
    },
    /// A later entry replaced an earlier one with the same path (as tar extraction would).
    Duplicate {
        /// What the earlier entry was.
        replaced: NodeKind,
    },
}

impl DiagnosticKind {
    /// Whether this reports damage (parsing stopped) rather than a skipped or adjusted entry.
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            Self::Lz4(_)
                | Self::TruncatedHeader
                | Self::BadHeaderChecksum { .. }
                | Self::BadNumericField { .. }
                | Self::DataPastEnd { .. }
                | Self::BadPaxRecord
                | Self::MissingEndMarker
                | Self::LoneZeroBlock
        )
    }

    /// Whether this is the tar parser running out of bytes, which after LZ4 damage is a
    /// consequence rather than a second problem.
    pub(crate) fn is_truncation(&self) -> bool {
        matches!(
            self,
            Self::TruncatedHeader | Self::DataPastEnd { .. } | Self::MissingEndMarker
        )
    }
}

impl fmt::Display for DiagnosticKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lz4(damage) => damage.fmt(f),
            Self::TruncatedHeader => f.write_str("archive truncated inside a tar header"),
            Self::BadHeaderChecksum {
                stored: Some(stored),
                computed,
            } => write!(
                f,
                "bad tar header checksum (stored {stored:#o}, computed {computed:#o})"
            ),
            Self::BadHeaderChecksum {
                stored: None,
                computed,
            } => {
                write!(
                    f,
                    "bad tar header checksum (field unreadable, computed {computed:#o})"
                )
            }
            Self::BadNumericField { field } => write!(f, "unreadable numeric field `{field}`"),
            Self::DataPastEnd { size, available } => write!(
                f,
                "entry size {size} runs past the end of the archive ({available} bytes left)"
            ),
            Self::BadPaxRecord => f.write_str("malformed pax extended header"),
            Self::BadPaxValue {
                key,
                leading: Some(leading),
            } => write!(
                f,
                "pax `{key}` value has trailing garbage; its leading number {leading} is used"
            ),
            Self::BadPaxValue { key, leading: None } => {
                write!(
                    f,
                    "unreadable pax `{key}` value ignored; the header's value is used"
                )
            }
            Self::BadSparseMap(error) => write!(f, "malformed sparse map ({error}); entry skipped"),
            Self::MissingEndMarker => f.write_str("archive ends without an end-of-archive marker"),
            Self::LoneZeroBlock => {
                f.write_str("lone zero block before more headers; stopped there")
            }
            Self::UnsafePath => f.write_str("path has a `..` component; entry skipped"),
            Self::NonUtf8Name => f.write_str("name is not UTF-8; entry skipped"),
            Self::RootNotDirectory => f.write_str("non-directory entry names the root; skipped"),
            Self::AbsolutePathStripped => f.write_str("leading `/` removed from absolute path"),
            Self::ParentNotDirectory => {
                f.write_str("a parent of this path is not a directory; entry skipped")
            }
            Self::HardLinkTargetMissing { target } => {
                write!(
                    f,
                    "hard link target `{target}` not found earlier; entry skipped"
                )
            }
            Self::HardLinkToDirectory => f.write_str("hard link to a directory; entry skipped"),
            Self::UnsupportedType { typeflag } => write!(
                f,
                "unsupported entry type {:?}; entry skipped",
                char::from(*typeflag)
            ),
            Self::Duplicate { replaced } => {
                write!(f, "duplicate entry replaces an earlier {replaced}")
            }
        }
    }
}

/// What is wrong with a sparse file's map (GNU tar's old GNU, pax 0.0, 0.1 and 1.0 formats).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SparseMapError {
    /// A number in the map, or the real size, is not a number.
    UnreadableNumber,
    /// The map stops before its last entry (a 1.0 map past the data, an offset without a size).
    Incomplete,
    /// A region starts before the end of the one before it.
    Unordered {
        /// Where the region starts in the file.
        offset: u64,
    },
    /// A region ends past the file's real size.
    PastRealSize {
        /// Where the region starts in the file.
        offset: u64,
        /// Its length.
        length: u64,
        /// The real size.
        real_size: u64,
    },
    /// The regions add up to a different amount of data than the entry stores.
    StoredSize {
        /// Bytes the map describes.
        described: u64,
        /// Bytes the entry stores.
        stored: u64,
    },
    /// `GNU.sparse.numblocks` disagrees with the map.
    Count {
        /// The declared number of regions.
        declared: u64,
        /// The number found.
        found: u64,
    },
    /// No `GNU.sparse.realsize` (or `GNU.sparse.size`) record.
    MissingRealSize,
    /// A pax sparse format other than 0.0, 0.1 and 1.0.
    UnsupportedVersion {
        /// `GNU.sparse.major`.
        major: u64,
        /// `GNU.sparse.minor`.
        minor: u64,
    },
}

impl fmt::Display for SparseMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnreadableNumber => f.write_str("unreadable number"),
            Self::Incomplete => f.write_str("map ends early"),
            Self::Unordered { offset } => {
                write!(f, "region at {offset} overlaps or precedes the one before")
            }
            Self::PastRealSize {
                offset,
                length,
                real_size,
            } => write!(
                f,
                "region of {length} bytes at {offset} ends past the real size {real_size}"
            ),
            Self::StoredSize { described, stored } => write!(
                f,
                "map describes {described} bytes of data but the entry stores {stored}"
            ),
            Self::Count { declared, found } => {
                write!(f, "{declared} regions declared but {found} given")
            }
            Self::MissingRealSize => f.write_str("no real size"),
            Self::UnsupportedVersion { major, minor } => {
                write!(f, "unsupported sparse format {major}.{minor}")
            }
        }
    }
}

/// A report from a successful parse: where, which entry, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Byte offset of the problem: in the compressed input for [`DiagnosticKind::Lz4`], else
    /// in the tar stream (the decompressed content for an LZ4 initrd).
    pub offset: u64,
    /// The entry concerned, as named in the archive, when known.
    pub entry: Option<String>,
    /// What happened.
    pub kind: DiagnosticKind,
}

impl Diagnostic {
    pub(crate) fn new(offset: usize, entry: Option<String>, kind: DiagnosticKind) -> Self {
        // usize is at most 64 bits on every target this crate builds for.
        Self {
            offset: offset as u64,
            entry,
            kind,
        }
    }

    /// Whether this reports damage (see [`DiagnosticKind::is_damage`]).
    pub fn is_damage(&self) -> bool {
        self.kind.is_damage()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = if matches!(self.kind, DiagnosticKind::Lz4(_)) {
            "compressed byte"
        } else {
            "byte"
        };
        write!(f, "{} at {place} {}", self.kind, self.offset)?;
        if let Some(entry) = &self.entry {
            write!(f, ", in entry `{entry}`")?;
        }
        Ok(())
    }
}

/// A lookup or read error on a parsed initrd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsError {
    /// No entry at that path.
    NotFound,
    /// A path component (or the node) is not a directory.
    NotADirectory,
    /// The node is a directory where a file was needed.
    IsADirectory,
    /// The node is a symlink where a file was needed.
    IsASymlink,
    /// More than [`crate::MAX_SYMLINK_HOPS`] symlinks were followed.
    TooManySymlinks,
}

impl FsError {
    /// The NetBSD errno value for this error, for the system-call layer.
    pub fn errno(self) -> i32 {
        match self {
            Self::NotFound => 2,         // ENOENT
            Self::NotADirectory => 20,   // ENOTDIR
            Self::IsADirectory => 21,    // EISDIR
            Self::IsASymlink => 22,      // EINVAL, as read(2) on a symlink fd would not exist
            Self::TooManySymlinks => 62, // ELOOP
        }
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotFound => "no such file or directory",
            Self::NotADirectory => "not a directory",
            Self::IsADirectory => "is a directory",
            Self::IsASymlink => "is a symbolic link",
            Self::TooManySymlinks => "too many levels of symbolic links",
        })
    }
}
