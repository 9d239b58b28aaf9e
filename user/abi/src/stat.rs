//! File status: `struct stat`, `struct statx`, `struct statfs`, mode bits and `d_type` values.

use crate::bytes::layout;

layout! {
    /// x86_64 `struct stat` as `stat`, `fstat`, `lstat` and `newfstatat` fill it (144 bytes).
    pub struct Stat: 144 bytes {
        st_dev: u64 @ 0,
        st_ino: u64 @ 8,
        /// 64-bit on x86_64, ahead of `st_mode` (unlike most architectures).
        st_nlink: u64 @ 16,
        st_mode: u32 @ 24,
        st_uid: u32 @ 28,
        st_gid: u32 @ 32,
        st_rdev: u64 @ 40,
        st_size: i64 @ 48,
        st_blksize: i64 @ 56,
        /// In 512-byte units.
        st_blocks: i64 @ 64,
        st_atime: i64 @ 72,
        st_atime_nsec: i64 @ 80,
        st_mtime: i64 @ 88,
        st_mtime_nsec: i64 @ 96,
        st_ctime: i64 @ 104,
        st_ctime_nsec: i64 @ 112,
    }
}

layout! {
    /// `struct statx` (256 bytes); timestamps are flattened into seconds and nanoseconds.
    pub struct Statx: 256 bytes {
        /// `STATX_*` bits saying which fields are filled in.
        stx_mask: u32 @ 0,
        stx_blksize: u32 @ 4,
        stx_attributes: u64 @ 8,
        stx_nlink: u32 @ 16,
        stx_uid: u32 @ 20,
        stx_gid: u32 @ 24,
        stx_mode: u16 @ 28,
        stx_ino: u64 @ 32,
        stx_size: u64 @ 40,
        stx_blocks: u64 @ 48,
        stx_attributes_mask: u64 @ 56,
        stx_atime_sec: i64 @ 64,
        stx_atime_nsec: u32 @ 72,
        stx_btime_sec: i64 @ 80,
        stx_btime_nsec: u32 @ 88,
        stx_ctime_sec: i64 @ 96,
        stx_ctime_nsec: u32 @ 104,
        stx_mtime_sec: i64 @ 112,
        stx_mtime_nsec: u32 @ 120,
        stx_rdev_major: u32 @ 128,
        stx_rdev_minor: u32 @ 132,
        stx_dev_major: u32 @ 136,
        stx_dev_minor: u32 @ 140,
        stx_mnt_id: u64 @ 144,
        stx_dio_mem_align: u32 @ 152,
        stx_dio_offset_align: u32 @ 156,
    }
}

layout! {
    /// x86_64 `struct statfs` as `statfs` and `fstatfs` fill it (120 bytes).
    pub struct Statfs: 120 bytes {
        /// File system magic number.
        f_type: i64 @ 0,
        f_bsize: i64 @ 8,
        f_blocks: u64 @ 16,
        f_bfree: u64 @ 24,
        f_bavail: u64 @ 32,
        f_files: u64 @ 40,
        f_ffree: u64 @ 48,
        /// `f_fsid.val[0]` in the low half, `val[1]` in the high half.
        f_fsid: u64 @ 56,
        f_namelen: i64 @ 64,
        f_frsize: i64 @ 72,
        /// `ST_*` mount flags.
        f_flags: i64 @ 80,
    }
}

// `st_mode` file types and permission bits.
pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_ISUID: u32 = 0o4000;
pub const S_ISGID: u32 = 0o2000;
pub const S_ISVTX: u32 = 0o1000;

// `d_type` of directory entries.
pub const DT_UNKNOWN: u8 = 0;
pub const DT_FIFO: u8 = 1;
pub const DT_CHR: u8 = 2;
pub const DT_DIR: u8 = 4;
pub const DT_BLK: u8 = 6;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;
pub const DT_SOCK: u8 = 12;

/// The `d_type` matching the file type bits of `mode`.
pub const fn dirent_type(mode: u32) -> u8 {
    match mode & S_IFMT {
        S_IFIFO => DT_FIFO,
        S_IFCHR => DT_CHR,
        S_IFDIR => DT_DIR,
        S_IFBLK => DT_BLK,
        S_IFREG => DT_REG,
        S_IFLNK => DT_LNK,
        S_IFSOCK => DT_SOCK,
        _ => DT_UNKNOWN,
    }
}

// `statx` mask bits.
pub const STATX_TYPE: u32 = 0x1;
pub const STATX_MODE: u32 = 0x2;
pub const STATX_NLINK: u32 = 0x4;
pub const STATX_UID: u32 = 0x8;
pub const STATX_GID: u32 = 0x10;
pub const STATX_ATIME: u32 = 0x20;
pub const STATX_MTIME: u32 = 0x40;
pub const STATX_CTIME: u32 = 0x80;
pub const STATX_INO: u32 = 0x100;
pub const STATX_SIZE: u32 = 0x200;
pub const STATX_BLOCKS: u32 = 0x400;
/// Everything `struct stat` has.
pub const STATX_BASIC_STATS: u32 = 0x7ff;
pub const STATX_BTIME: u32 = 0x800;
pub const STATX_MNT_ID: u32 = 0x1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_round_trip() {
        let stat = Stat {
            st_ino: 12,
            st_nlink: 1,
            st_mode: S_IFREG | 0o644,
            st_size: 4096,
            st_mtime: 1_700_000_000,
            st_ctime_nsec: 999_999_999,
            ..Stat::default()
        };
        let bytes = stat.to_bytes();
        assert_eq!(bytes.len(), 144);
        assert_eq!(bytes[24..28], (0o100644u32).to_le_bytes());
        assert_eq!(Stat::from_bytes(&bytes), Some(stat));
        assert_eq!(Stat::from_bytes(&bytes[..143]), None);
    }

    #[test]
    fn statx_and_statfs_round_trip() {
        let statx = Statx {
            stx_mask: STATX_BASIC_STATS,
            stx_mode: (S_IFDIR | 0o755) as u16,
            stx_btime_nsec: 5,
            stx_dio_offset_align: 512,
            ..Statx::default()
        };
        assert_eq!(Statx::from_bytes(&statx.to_bytes()), Some(statx));
        let statfs = Statfs {
            f_type: 0xef53,
            f_bsize: 4096,
            f_fsid: 0x1234_5678_9abc_def0,
            f_flags: 1,
            ..Statfs::default()
        };
        assert_eq!(Statfs::from_bytes(&statfs.to_bytes()), Some(statfs));
        assert_eq!(Statfs::from_bytes(&[]), None);
    }

    #[test]
    fn dirent_types() {
        assert_eq!(dirent_type(S_IFDIR | 0o755), DT_DIR);
        assert_eq!(dirent_type(S_IFLNK), DT_LNK);
        assert_eq!(dirent_type(0), DT_UNKNOWN);
    }
}
