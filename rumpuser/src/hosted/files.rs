//! Hosted files: host paths through `open(2)`, `pread`/`pwrite`, errno translated to NetBSD.

use core::ffi::CStr;

use crate::errno::Errno;
use crate::host::{Access, FileInfo, FileKind, OpenFlags, SyncFlags};

/// Linux errno -> NetBSD errno (docs/contract.md §0.2). 1..=34 agree except 11.
pub(crate) fn netbsd_errno(linux: i32) -> Errno {
    Errno(match linux {
        libc::EAGAIN => 35,
        libc::EDEADLK => 11,
        1..=34 => linux,
        libc::ENAMETOOLONG => 63,
        libc::ENOSYS => 78,
        libc::ENOTEMPTY => 66,
        libc::ELOOP => 62,
        libc::EOPNOTSUPP => 45,
        libc::ETIMEDOUT => 60,
        libc::EALREADY => 37,
        libc::EDQUOT => 69,
        _ => 5,
    })
}

fn last_error() -> Errno {
    netbsd_errno(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

fn check(rc: isize) -> Result<usize, Errno> {
    usize::try_from(rc).map_err(|_| last_error())
}

pub(crate) fn open(name: &CStr, flags: OpenFlags) -> Result<i32, Errno> {
    let mut oflags = match flags.access {
        Access::ReadOnly => libc::O_RDONLY,
        Access::WriteOnly => libc::O_WRONLY,
        Access::ReadWrite => libc::O_RDWR,
    } | libc::O_CLOEXEC;
    if flags.create {
        oflags |= libc::O_CREAT;
    }
    if flags.exclusive {
        oflags |= libc::O_EXCL;
    }
    // SAFETY: `name` is a valid C string; the mode argument is read only with O_CREAT.
    let fd = unsafe { libc::open(name.as_ptr(), oflags, 0o644 as libc::c_uint) };
    if fd < 0 {
        Err(last_error())
    } else {
        Ok(fd)
    }
}

pub(crate) fn close(fd: i32) -> Result<(), Errno> {
    // SAFETY: closing a descriptor has no memory-safety preconditions.
    if unsafe { libc::close(fd) } == 0 {
        Ok(())
    } else {
        Err(last_error())
    }
}

pub(crate) fn file_info(name: &CStr) -> Result<FileInfo, Errno> {
    // SAFETY: all-zero is a valid `stat`; `name` is a valid C string and `st` a valid out-pointer.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: see above.
    if unsafe { libc::stat(name.as_ptr(), &mut st) } != 0 {
        return Err(last_error());
    }
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => FileKind::Directory,
        libc::S_IFREG => FileKind::Regular,
        libc::S_IFBLK => FileKind::Block,
        libc::S_IFCHR => FileKind::Character,
        _ => FileKind::Other,
    };
    let size = if kind == FileKind::Block {
        block_device_size(name)?
    } else {
        st.st_size as u64
    };
    Ok(FileInfo { size, kind })
}

fn block_device_size(name: &CStr) -> Result<u64, Errno> {
    let fd = open(
        name,
        OpenFlags {
            access: Access::ReadOnly,
            create: false,
            exclusive: false,
            block_io: false,
        },
    )?;
    // SAFETY: `fd` is an open descriptor; seeking has no memory-safety preconditions.
    let end = unsafe { libc::lseek(fd, 0, libc::SEEK_END) };
    let _ = close(fd);
    u64::try_from(end).map_err(|_| last_error())
}

pub(crate) fn read(fd: i32, buf: &mut [u8], offset: Option<u64>) -> Result<usize, Errno> {
    let rc = match offset {
        // SAFETY: `buf` is valid for writes of its length.
        Some(off) => unsafe {
            libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off as libc::off_t)
        },
        // SAFETY: as above.
        None => unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) },
    };
    check(rc)
}

pub(crate) fn write(fd: i32, buf: &[u8], offset: Option<u64>) -> Result<usize, Errno> {
    let rc = match offset {
        // SAFETY: `buf` is valid for reads of its length.
        Some(off) => unsafe {
            libc::pwrite(fd, buf.as_ptr().cast(), buf.len(), off as libc::off_t)
        },
        // SAFETY: as above.
        None => unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) },
    };
    check(rc)
}

pub(crate) fn sync(fd: i32, flags: SyncFlags) -> Result<(), Errno> {
    if !(flags.write || flags.wait_stable) {
        // READ-only: the host page cache already makes other writers visible.
        // SAFETY: F_GETFD only validates the descriptor.
        return if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            Err(last_error())
        } else {
            Ok(())
        };
    }
    // SAFETY: fdatasync has no memory-safety preconditions.
    if unsafe { libc::fdatasync(fd) } == 0 {
        Ok(())
    } else {
        Err(last_error())
    }
}
