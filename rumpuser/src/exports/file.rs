//! Exports for host files and block devices (docs/contract.md §1.3, §5). All of them release the
//! vCPU around the host call (contract §2.4, §2.6), since any of them may wait for a device.

use core::ffi::{c_char, c_int, c_void};

use super::c_str;
use crate::abi::*;
use crate::bio;
use crate::errno::{c_return, c_status, Errno};
use crate::host::{Access, OpenFlags, SyncFlags};
use crate::install::host;
use crate::sched;

/// Validates `RUMPUSER_OPEN_*` bits: access mode 3 and unknown bits are EINVAL.
pub fn parse_open_flags(mode: c_int) -> Result<OpenFlags, Errno> {
    let known =
        RUMPUSER_OPEN_ACCMODE | RUMPUSER_OPEN_CREATE | RUMPUSER_OPEN_EXCL | RUMPUSER_OPEN_BIO;
    if mode & !known != 0 {
        return Err(Errno::EINVAL);
    }
    let access = match mode & RUMPUSER_OPEN_ACCMODE {
        0 => Access::ReadOnly,
        1 => Access::WriteOnly,
        2 => Access::ReadWrite,
        _ => return Err(Errno::EINVAL),
    };
    Ok(OpenFlags {
        access,
        create: mode & RUMPUSER_OPEN_CREATE != 0,
        exclusive: mode & RUMPUSER_OPEN_EXCL != 0,
        block_io: mode & RUMPUSER_OPEN_BIO != 0,
    })
}

/// `int rumpuser_open(const char *name, int mode, int *fdp);`
///
/// # Safety
/// `name` is a C string; `fdp` is writable.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_open(name: *const c_char, mode: c_int, fdp: *mut c_int) -> c_int {
    // SAFETY: `name` is NULL or a C string.
    let name = unsafe { c_str(name) };
    let result = match (name, parse_open_flags(mode)) {
        (None, _) => Err(Errno::EFAULT),
        (_, Err(e)) => Err(e),
        (Some(name), Ok(flags)) => sched::blocking(|| host().open(name, flags)),
    };
    // SAFETY: `fdp` is writable per the caller's contract.
    c_return(result, |fd| unsafe { fdp.write(fd) })
}

/// `int rumpuser_close(int fd);`
///
/// # Safety
/// None beyond the C ABI.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_close(fd: c_int) -> c_int {
    c_status(sched::blocking(|| host().close(fd)))
}

/// `int rumpuser_getfileinfo(const char *name, uint64_t *size, int *type);` — `size` and
/// `type` may be NULL (contract §5.2).
///
/// # Safety
/// `name` is a C string; `size`/`type` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_getfileinfo(
    name: *const c_char,
    size: *mut u64,
    kind: *mut c_int,
) -> c_int {
    // SAFETY: `name` is NULL or a C string.
    let Some(name) = (unsafe { c_str(name) }) else {
        return Errno::EFAULT.0;
    };
    let result = sched::blocking(|| host().file_info(name));
    c_return(result, |info| {
        // SAFETY: each pointer is NULL (skipped) or writable per the caller's contract.
        unsafe {
            if let Some(size) = size.as_mut() {
                *size = info.size;
            }
            if let Some(kind) = kind.as_mut() {
                *kind = info.kind as c_int;
            }
        }
    })
}

/// `void rumpuser_bio(int fd, int op, void *data, size_t dlen, int64_t off,
///  rump_biodone_fn biodone, void *donearg);` — started on the host's device queue or
/// performed on a host service thread; `biodone` runs on a service thread (contract §5.3).
///
/// # Safety
/// `data` is valid for `dlen` bytes until `biodone` is called.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_bio(
    fd: c_int,
    op: c_int,
    data: *mut c_void,
    dlen: usize,
    off: i64,
    biodone: RumpBiodoneFn,
    donearg: *mut c_void,
) {
    let _timed = crate::stats::Timed::new(crate::stats::Kind::Bio);
    bio::submit(bio::Arguments {
        fd,
        op,
        data: data.cast(),
        len: dlen,
        offset: off,
        done: biodone,
        done_arg: donearg,
    });
}

fn offset_arg(off: i64) -> Result<Option<u64>, Errno> {
    if off == RUMPUSER_IOV_NOSEEK {
        Ok(None)
    } else {
        u64::try_from(off).map(Some).map_err(|_| Errno::EINVAL)
    }
}

/// Runs `step` over each element until a short transfer; returns the total.
fn transfer(
    iov: &[RumpuserIovec],
    off: i64,
    mut step: impl FnMut(&RumpuserIovec, Option<u64>) -> Result<usize, Errno>,
) -> Result<usize, Errno> {
    let mut position = offset_arg(off)?;
    let mut total = 0usize;
    for element in iov {
        let n = match step(element, position) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n;
        position = position.map(|p| p + n as u64);
        if n < element.iov_len {
            break;
        }
    }
    Ok(total)
}

/// `int rumpuser_iovread(int fd, struct rumpuser_iovec *ruiov, size_t iovlen, int64_t off,
///  size_t *retv);`
///
/// # Safety
/// `ruiov` points to `iovlen` elements whose buffers are writable; `retv` is writable.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_iovread(
    fd: c_int,
    ruiov: *mut RumpuserIovec,
    iovlen: usize,
    off: i64,
    retv: *mut usize,
) -> c_int {
    // SAFETY: `ruiov` points to `iovlen` elements per the caller's contract.
    let iov = unsafe { slice_or_empty(ruiov, iovlen) };
    let host = host();
    let result = sched::blocking(|| {
        transfer(iov, off, |element, position| {
            // SAFETY: each element describes a writable buffer per the caller's contract.
            let buf = unsafe { bytes_mut(element) };
            host.read(fd, buf, position)
        })
    });
    // SAFETY: `retv` is writable per the caller's contract.
    c_return(result, |n| unsafe { retv.write(n) })
}

/// `int rumpuser_iovwrite(int fd, const struct rumpuser_iovec *ruiov, size_t iovlen,
///  int64_t off, size_t *retv);`
///
/// # Safety
/// `ruiov` points to `iovlen` elements whose buffers are readable; `retv` is writable.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_iovwrite(
    fd: c_int,
    ruiov: *const RumpuserIovec,
    iovlen: usize,
    off: i64,
    retv: *mut usize,
) -> c_int {
    // SAFETY: `ruiov` points to `iovlen` elements per the caller's contract.
    let iov = unsafe { slice_or_empty(ruiov, iovlen) };
    let host = host();
    let result = sched::blocking(|| {
        transfer(iov, off, |element, position| {
            // SAFETY: each element describes a readable buffer per the caller's contract.
            let buf = unsafe { bytes(element) };
            host.write(fd, buf, position)
        })
    });
    // SAFETY: `retv` is writable per the caller's contract.
    c_return(result, |n| unsafe { retv.write(n) })
}

/// # Safety
/// `ptr` is NULL (with any `len`, giving an empty slice) or points to `len` elements.
unsafe fn slice_or_empty<'a>(ptr: *const RumpuserIovec, len: usize) -> &'a [RumpuserIovec] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: forwarded caller contract.
        unsafe { core::slice::from_raw_parts(ptr, len) }
    }
}

/// # Safety
/// The element's buffer is valid for `iov_len` bytes and not aliased during the call.
unsafe fn bytes_mut<'a>(element: &RumpuserIovec) -> &'a mut [u8] {
    if element.iov_base.is_null() || element.iov_len == 0 {
        &mut []
    } else {
        // SAFETY: forwarded caller contract.
        unsafe { core::slice::from_raw_parts_mut(element.iov_base.cast::<u8>(), element.iov_len) }
    }
}

/// # Safety
/// The element's buffer is valid for reads of `iov_len` bytes during the call.
unsafe fn bytes<'a>(element: &RumpuserIovec) -> &'a [u8] {
    if element.iov_base.is_null() || element.iov_len == 0 {
        &[]
    } else {
        // SAFETY: forwarded caller contract.
        unsafe { core::slice::from_raw_parts(element.iov_base.cast::<u8>(), element.iov_len) }
    }
}

/// Validates `RUMPUSER_SYNCFD_*` bits: READ and/or WRITE required, unknown bits EINVAL.
pub fn parse_sync_flags(flags: c_int) -> Result<SyncFlags, Errno> {
    let known = RUMPUSER_SYNCFD_READ
        | RUMPUSER_SYNCFD_WRITE
        | RUMPUSER_SYNCFD_BARRIER
        | RUMPUSER_SYNCFD_SYNC;
    let sync = SyncFlags {
        read: flags & RUMPUSER_SYNCFD_READ != 0,
        write: flags & RUMPUSER_SYNCFD_WRITE != 0,
        barrier: flags & RUMPUSER_SYNCFD_BARRIER != 0,
        wait_stable: flags & RUMPUSER_SYNCFD_SYNC != 0,
    };
    if flags & !known != 0 || !(sync.read || sync.write) {
        return Err(Errno::EINVAL);
    }
    Ok(sync)
}

/// `int rumpuser_syncfd(int fd, int flags, uint64_t start, uint64_t len);`
///
/// # Safety
/// None beyond the C ABI.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_syncfd(fd: c_int, flags: c_int, start: u64, len: u64) -> c_int {
    let result = parse_sync_flags(flags)
        .and_then(|flags| sched::blocking(|| host().sync(fd, flags, start, len)));
    c_status(result)
}
