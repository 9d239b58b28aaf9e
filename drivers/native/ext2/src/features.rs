//! Superblock feature flags (ext2 layout, rev 1 `s_feature_*`) and the policy for each.
//!
//! compat features never stop a mount; incompat features this driver does not implement refuse
//! the mount; unknown ro_compat features force a read-only mount.

use core::fmt;

/// compat: directory preallocation hints.
pub const COMPAT_DIR_PREALLOC: u32 = 0x0001;
/// compat: an ext3 journal inode exists.
pub const COMPAT_HAS_JOURNAL: u32 = 0x0004;
/// compat: extended attribute blocks.
pub const COMPAT_EXT_ATTR: u32 = 0x0008;
/// compat: reserved group descriptor blocks owned by inode 7.
pub const COMPAT_RESIZE_INODE: u32 = 0x0010;
/// compat: hashed directory indexes.
pub const COMPAT_DIR_INDEX: u32 = 0x0020;
/// compat: backups only in the two groups named in the superblock.
pub const COMPAT_SPARSE_SUPER2: u32 = 0x0200;

/// incompat: directory entries carry a file type byte.
pub const INCOMPAT_FILETYPE: u32 = 0x0002;
/// incompat: the journal must be replayed.
pub const INCOMPAT_RECOVER: u32 = 0x0004;
/// incompat: directories may grow past 2 GiB and get a third htree level.
pub const INCOMPAT_LARGEDIR: u32 = 0x4000;
/// incompat features this driver implements.
pub const INCOMPAT_SUPPORTED: u32 = INCOMPAT_FILETYPE;

/// ro_compat: superblock backups only in groups 0, 1 and powers of 3, 5, 7.
pub const RO_COMPAT_SPARSE_SUPER: u32 = 0x0001;
/// ro_compat: files may exceed 2 GiB (`i_size_high`).
pub const RO_COMPAT_LARGE_FILE: u32 = 0x0002;
/// ro_compat: metadata blocks carry checksums (htree blocks end in a `dx_tail`).
pub const RO_COMPAT_METADATA_CSUM: u32 = 0x0400;
/// ro_compat features this driver can write under.
pub const RO_COMPAT_SUPPORTED: u32 = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE;

/// Names of compat bits.
pub const COMPAT_NAMES: &[(u32, &str)] = &[
    (0x0001, "dir_prealloc"),
    (0x0002, "imagic_inodes"),
    (0x0004, "has_journal"),
    (0x0008, "ext_attr"),
    (0x0010, "resize_inode"),
    (0x0020, "dir_index"),
    (0x0040, "lazy_bg"),
    (0x0080, "exclude_inode"),
    (0x0100, "exclude_bitmap"),
    (0x0200, "sparse_super2"),
    (0x0400, "fast_commit"),
    (0x0800, "stable_inodes"),
    (0x1000, "orphan_file"),
];

/// Names of incompat bits.
pub const INCOMPAT_NAMES: &[(u32, &str)] = &[
    (0x0001, "compression"),
    (0x0002, "filetype"),
    (0x0004, "needs_recovery"),
    (0x0008, "journal_dev"),
    (0x0010, "meta_bg"),
    (0x0040, "extent"),
    (0x0080, "64bit"),
    (0x0100, "mmp"),
    (0x0200, "flex_bg"),
    (0x0400, "ea_inode"),
    (0x1000, "dirdata"),
    (0x2000, "metadata_csum_seed"),
    (0x4000, "large_dir"),
    (0x8000, "inline_data"),
    (0x10000, "encrypt"),
    (0x20000, "casefold"),
];

/// Names of ro_compat bits.
pub const RO_COMPAT_NAMES: &[(u32, &str)] = &[
    (0x0001, "sparse_super"),
    (0x0002, "large_file"),
    (0x0004, "btree_dir"),
    (0x0008, "huge_file"),
    (0x0010, "uninit_bg"),
    (0x0020, "dir_nlink"),
    (0x0040, "extra_isize"),
    (0x0080, "snapshot"),
    (0x0100, "quota"),
    (0x0200, "bigalloc"),
    (0x0400, "metadata_csum"),
    (0x0800, "replica"),
    (0x1000, "read-only"),
    (0x2000, "project"),
    (0x4000, "shared_blocks"),
    (0x8000, "verity"),
    (0x10000, "orphan_present"),
];

/// Writes " name name ..." for every set bit of `mask`, unnamed bits as hex.
pub fn write_names(f: &mut fmt::Formatter<'_>, names: &[(u32, &str)], mask: u32) -> fmt::Result {
    let mut rest = mask;
    for (bit, name) in names {
        if rest & bit != 0 {
            write!(f, " {name}")?;
            rest &= !bit;
        }
    }
    for shift in 0..32 {
        let bit = 1u32 << shift;
        if rest & bit != 0 {
            write!(f, " unknown({bit:#x})")?;
        }
    }
    Ok(())
}

/// Why a mount is read-only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadOnlyReason {
    /// The caller asked for it.
    Requested,
    /// ro_compat features this driver cannot keep consistent (bit mask, printed by name).
    UnknownRoCompat(u32),
    /// The superblock revision is newer than 1.
    NewerRevision,
    /// A group's summary count is wrong (the first one found). Writing would carry the error
    /// on, and fixing it here would hide the damage from e2fsck, which repairs it in passing.
    SummaryCount {
        /// The block group.
        group: u32,
        /// Which count.
        kind: CountKind,
        /// The value in the group descriptor.
        recorded: u32,
        /// What the bitmap says (free counts), or the inodes in use (directory count).
        actual: u32,
    },
}

/// A group descriptor's summary counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountKind {
    /// `bg_free_blocks_count`.
    FreeBlocks,
    /// `bg_free_inodes_count`.
    FreeInodes,
    /// `bg_used_dirs_count`.
    UsedDirectories,
}

impl fmt::Display for ReadOnlyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadOnlyReason::Requested => f.write_str("mounted read-only on request"),
            ReadOnlyReason::UnknownRoCompat(mask) => {
                f.write_str("mounted read-only: unsupported ro_compat features:")?;
                write_names(f, RO_COMPAT_NAMES, *mask)
            }
            ReadOnlyReason::NewerRevision => f.write_str("mounted read-only: revision above 1"),
            ReadOnlyReason::SummaryCount {
                group,
                kind,
                recorded,
                actual,
            } => {
                write!(f, "mounted read-only: group {group} ")?;
                match kind {
                    CountKind::FreeBlocks | CountKind::FreeInodes => {
                        let what = match kind {
                            CountKind::FreeBlocks => "blocks",
                            _ => "inodes",
                        };
                        write!(
                            f,
                            "free {what} count {recorded} disagrees with its bitmap ({actual} free)"
                        )?;
                    }
                    CountKind::UsedDirectories => write!(
                        f,
                        "directories count {recorded} exceeds its {actual} inodes in use"
                    )?,
                }
                f.write_str("; run e2fsck")
            }
        }
    }
}
