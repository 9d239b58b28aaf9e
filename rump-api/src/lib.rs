//! The rump kernel's public API as its clients call it (docs/contract.md §10): `rump_init`, etfs
//! registration and the system-call entry points under their exact linker symbols, with the
//! NetBSD constants and structures they take.
//!
//! This is the layer *above* the rump kernel; `rumpuser` is the layer below it, and the two never
//! meet except through the rump kernel. Declared once here for every client (the kernel's `rump`
//! commands, the hosted component test); the symbols come from component archives, so only
//! clients built with components link against them.
#![no_std]
#![deny(unsafe_code)]

mod errno;

pub use errno::{errno_name, linux_errno};

use core::ffi::{c_char, c_int, c_void};

/// `RUMP_ETFS_BLK`: register a host file as a block device (contract §10.3).
pub const RUMP_ETFS_BLK: c_int = 1;
/// `O_RDONLY`.
pub const O_RDONLY: c_int = 0;
/// `O_WRONLY`.
pub const O_WRONLY: c_int = 0x1;
/// `O_CREAT`.
pub const O_CREAT: c_int = 0x200;
/// `O_TRUNC`.
pub const O_TRUNC: c_int = 0x400;
/// `O_DIRECTORY`.
pub const O_DIRECTORY: c_int = 0x0020_0000;
/// `O_RDWR`.
pub const O_RDWR: c_int = 0x2;
/// `O_EXCL`.
pub const O_EXCL: c_int = 0x800;
/// `O_CLOEXEC`: descriptors the kernel holds for its own callers are never inherited.
pub const O_CLOEXEC: c_int = 0x0040_0000;
/// `AT_FDCWD`.
pub const AT_FDCWD: c_int = -100;
/// `AT_SYMLINK_NOFOLLOW`.
pub const AT_SYMLINK_NOFOLLOW: c_int = 0x200;
/// `ST_WAIT` for `statvfs1`: fresh figures.
pub const ST_WAIT: c_int = 0x1;
/// Regular file.
pub const S_IFREG: u32 = 0o100000;
/// `RB_DUMP` for `rump_sys_reboot`: the rump kernel takes its panic path
/// (`rumpuser_exit(RUMPUSER_PANIC)`).
pub const RB_DUMP: c_int = 0x100;
/// `MNT_RDONLY`.
pub const MNT_RDONLY: c_int = 0x1;
/// File-type mask and types of `st_mode`.
pub const S_IFMT: u32 = 0o170000;
/// Directory.
pub const S_IFDIR: u32 = 0o040000;
/// Block device.
pub const S_IFBLK: u32 = 0o060000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120000;

/// `struct ufs_args`: the block device node to mount (ffs and ext2fs).
#[repr(C)]
pub struct UfsArgs {
    pub fspec: *const c_char,
}

/// NetBSD `struct timespec`, x86_64.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct Timespec {
    pub seconds: i64,
    pub nanoseconds: i64,
}

/// The head of NetBSD's `struct statvfs` (x86_64): the sizes and counts, which come first.
/// `statvfs1` fills a much larger structure (names of 1 KiB each follow), so callers lend it
/// [`STATVFS_BUFFER`] bytes and read this head from the start.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct StatvfsHead {
    pub flag: u64,
    pub bsize: u64,
    pub frsize: u64,
    pub iosize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub bresvd: u64,
    pub files: u64,
    pub ffree: u64,
    pub favail: u64,
    pub fresvd: u64,
    pub syncreads: u64,
    pub syncwrites: u64,
    pub asyncreads: u64,
    pub asyncwrites: u64,
    pub fsidx: [i32; 2],
    pub fsid: u64,
    pub namemax: u64,
}

/// Bytes to lend `statvfs1`: more than any NetBSD `struct statvfs` (2 256 bytes on x86_64;
/// later releases add a third name of 1 KiB).
pub const STATVFS_BUFFER: usize = 4096;

/// NetBSD `struct stat` (`__stat50`), x86_64, 152 bytes (contract §10.4).
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct Stat {
    pub dev: u64,
    pub mode: u32,
    pub _pad0: u32,
    pub ino: u64,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub _pad1: u32,
    pub rdev: u64,
    pub atime: [i64; 2],
    pub mtime: [i64; 2],
    pub ctime: [i64; 2],
    pub birthtime: [i64; 2],
    pub size: i64,
    pub blocks: i64,
    pub blksize: i32,
    pub flags: u32,
    pub generation: u32,
    pub spare: [u32; 2],
    pub _pad2: u32,
}

const _: () = assert!(core::mem::size_of::<Stat>() == 152);

/// NetBSD's `deviter_t` (`struct deviter`: a device pointer, flags, two depths and a 64-bit
/// generation), x86_64, 32 bytes; opaque to the caller, which only lends it to the iterator.
#[repr(C)]
#[derive(Default)]
pub struct DevIter {
    pub words: [u64; 4],
}

const _: () = assert!(core::mem::size_of::<DevIter>() == 32);

// Inside the rump kernel (librumpdev), called between `rump_schedule` and `rump_unschedule`:
// NetBSD's autoconf device list, in attach order. A `device_t` is opaque.
extern "C" {
    /// `device_t deviter_first(deviter_t *, deviter_flags_t);` (flags 0: attach order, read-only)
    pub fn rumpns_deviter_first(iterator: *mut DevIter, flags: c_int) -> *mut c_void;
    /// `device_t deviter_next(deviter_t *);`
    pub fn rumpns_deviter_next(iterator: *mut DevIter) -> *mut c_void;
    /// `void deviter_release(deviter_t *);`
    pub fn rumpns_deviter_release(iterator: *mut DevIter);
    /// `const char *device_xname(device_t);`
    pub fn rumpns_device_xname(device: *mut c_void) -> *const c_char;
    /// `device_t device_parent(device_t);` (NULL for a root device)
    pub fn rumpns_device_parent(device: *mut c_void) -> *mut c_void;
}

extern "C" {
    /// `int rump_init(void);`
    pub fn rump_init() -> c_int;
    /// `int rump_pub_lwproc_newlwp(pid_t);`: a new lwp in process `pid`, made the calling
    /// host thread's own (it stays until the thread releases it).
    pub fn rump_pub_lwproc_newlwp(pid: c_int) -> c_int;
    /// `void rump_schedule(void);`: takes a rump CPU for the calling thread (with an implicit
    /// lwp if it has none), as every `rump_sys_*` call does around its work.
    pub fn rump_schedule();
    /// `void rump_unschedule(void);`: gives it back.
    pub fn rump_unschedule();
    /// `int rump_pub_etfs_register(const char *key, const char *hostpath, enum rump_etfs_type);`
    pub fn rump_pub_etfs_register(
        key: *const c_char,
        hostpath: *const c_char,
        kind: c_int,
    ) -> c_int;
    /// `int rump_pub_etfs_remove(const char *key);`
    pub fn rump_pub_etfs_remove(key: *const c_char) -> c_int;
    /// `rump_sys_mkdir`.
    pub fn rump___sysimpl_mkdir(path: *const c_char, mode: u32) -> c_int;
    /// `rump_sys_mount`.
    pub fn rump___sysimpl_mount50(
        kind: *const c_char,
        path: *const c_char,
        flags: c_int,
        data: *mut c_void,
        length: usize,
    ) -> c_int;
    /// `rump_sys_unmount`.
    pub fn rump___sysimpl_unmount(path: *const c_char, flags: c_int) -> c_int;
    /// `rump_sys_open` (three arguments; the header's variadic form is an asm label).
    pub fn rump___sysimpl_open(path: *const c_char, flags: c_int, mode: u32) -> c_int;
    /// `rump_sys_close`.
    pub fn rump___sysimpl_close(fd: c_int) -> c_int;
    /// `rump_sys_read`.
    pub fn rump___sysimpl_read(fd: c_int, buffer: *mut c_void, length: usize) -> isize;
    /// `rump_sys_write`.
    pub fn rump___sysimpl_write(fd: c_int, buffer: *const c_void, length: usize) -> isize;
    /// `rump_sys_fsync`.
    pub fn rump___sysimpl_fsync(fd: c_int) -> c_int;
    /// `rump_sys_getdents`: bytes filled, 0 at the end.
    pub fn rump___sysimpl_getdents30(fd: c_int, buffer: *mut c_char, length: usize) -> c_int;
    /// `rump_sys_mknod` (`__mknod50`: `dev_t` is 64 bits).
    pub fn rump___sysimpl_mknod50(path: *const c_char, mode: u32, dev: u64) -> c_int;
    /// `rump_sys_unlink`.
    pub fn rump___sysimpl_unlink(path: *const c_char) -> c_int;
    /// `rump_sys_rmdir`.
    pub fn rump___sysimpl_rmdir(path: *const c_char) -> c_int;
    /// `rump_sys_rename`.
    pub fn rump___sysimpl_rename(from: *const c_char, to: *const c_char) -> c_int;
    /// `rump_sys___sysctl`.
    pub fn rump___sysimpl___sysctl(
        name: *const c_int,
        name_length: u32,
        old: *mut c_void,
        old_length: *mut usize,
        new: *const c_void,
        new_length: usize,
    ) -> c_int;
    /// `rump_sys_reboot`.
    pub fn rump___sysimpl_reboot(howto: c_int, bootstr: *mut c_char) -> c_int;
    /// `rump_sys_lstat`.
    pub fn rump___sysimpl_lstat50(path: *const c_char, stat: *mut Stat) -> c_int;
    /// `rump_sys_sync`: writes every mount's dirty data.
    pub fn rump___sysimpl_sync();
    /// `rump_sys_stat`.
    pub fn rump___sysimpl_stat50(path: *const c_char, stat: *mut Stat) -> c_int;
    /// `rump_sys_fstat`.
    pub fn rump___sysimpl_fstat50(fd: c_int, stat: *mut Stat) -> c_int;
    /// `rump_sys_pread`.
    pub fn rump___sysimpl_pread(fd: c_int, buffer: *mut c_void, length: usize, at: i64) -> isize;
    /// `rump_sys_pwrite`.
    pub fn rump___sysimpl_pwrite(fd: c_int, buffer: *const c_void, length: usize, at: i64)
        -> isize;
    /// `rump_sys_truncate`.
    pub fn rump___sysimpl_truncate(path: *const c_char, length: i64) -> c_int;
    /// `rump_sys_ftruncate`.
    pub fn rump___sysimpl_ftruncate(fd: c_int, length: i64) -> c_int;
    /// `rump_sys_chmod`.
    pub fn rump___sysimpl_chmod(path: *const c_char, mode: u32) -> c_int;
    /// `rump_sys_utimensat`: access and modification times.
    pub fn rump___sysimpl_utimensat(
        directory: c_int,
        path: *const c_char,
        times: *const Timespec,
        flags: c_int,
    ) -> c_int;
    /// `rump_sys_symlink`.
    pub fn rump___sysimpl_symlink(target: *const c_char, path: *const c_char) -> c_int;
    /// `rump_sys_readlink`: bytes placed (no NUL).
    pub fn rump___sysimpl_readlink(
        path: *const c_char,
        buffer: *mut c_char,
        length: usize,
    ) -> isize;
    /// `rump_sys_statvfs1`: fills a `struct statvfs` (see [`StatvfsHead`]).
    pub fn rump___sysimpl_statvfs1(path: *const c_char, buffer: *mut c_void, flags: c_int)
        -> c_int;
    /// `rump_sys_ioctl` (the request is an `unsigned long`; [`audio`] has the audio ones).
    pub fn rump___sysimpl_ioctl(fd: c_int, request: core::ffi::c_ulong, data: *mut c_void)
        -> c_int;
}

/// NetBSD's audio(4) and mixer ioctls: `include/netbsd_audio.h`, our own header, through
/// bindgen (see build.rs). Structures and request numbers for `rump___sysimpl_ioctl` on
/// `/dev/audio` and `/dev/mixer`.
#[allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code,
    clippy::all,
    reason = "generated by bindgen from C names"
)]
pub mod audio {
    include!(concat!(env!("OUT_DIR"), "/netbsd_audio.rs"));
}

#[cfg(test)]
mod tests {
    use super::audio::*;

    /// The request numbers against NetBSD's encoding worked out by hand: direction bits,
    /// parameter length << 16, group letter << 8, number.
    #[test]
    fn audio_requests_encode_direction_length_group_and_number() {
        assert_eq!(NB_AUDIO_GETINFO, 0x4000_0000 | 136 << 16 | 0x41 << 8 | 21);
        assert_eq!(NB_AUDIO_SETINFO, 0xc000_0000 | 136 << 16 | 0x41 << 8 | 22);
        assert_eq!(NB_AUDIO_DRAIN, 0x2000_0000 | 0x41 << 8 | 23);
        assert_eq!(NB_AUDIO_FLUSH, 0x2000_0000 | 0x41 << 8 | 24);
        assert_eq!(NB_AUDIO_MIXER_READ, 0xc014_4d00);
        assert_eq!(NB_AUDIO_MIXER_WRITE, 0xc014_4d01);
        assert_eq!(NB_AUDIO_MIXER_DEVINFO, 0xc32c_4d02);
    }

    #[test]
    fn audio_structures_have_the_netbsd_amd64_sizes() {
        assert_eq!(core::mem::size_of::<nb_audio_prinfo>(), 56);
        assert_eq!(core::mem::size_of::<nb_audio_info>(), 136);
        assert_eq!(core::mem::size_of::<nb_mixer_devinfo>(), 812);
        assert_eq!(core::mem::size_of::<nb_mixer_ctrl>(), 20);
        assert_eq!(core::mem::offset_of!(nb_audio_info, mode), 132);
        assert_eq!(core::mem::offset_of!(nb_mixer_devinfo, detail), 40);
    }
}

/// NetBSD's network types, constants and socket calls, generated by bindgen from
/// `include/rump_net.h` (our own header).
pub mod net {
    #![allow(
        non_camel_case_types,
        non_upper_case_globals,
        non_snake_case,
        missing_docs,
        reason = "names follow the C header, which follows NetBSD's"
    )]
    include!(concat!(env!("OUT_DIR"), "/rump_net.rs"));
}
