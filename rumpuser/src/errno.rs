//! NetBSD error numbers and the one mapping from `Result` to a C return (docs/contract.md §0.2).
//!
//! Every hypercall that returns `int` returns 0 or a positive NetBSD errno; the exports build
//! a `Result<T, Errno>` and hand it to [`c_return`]. Host implementations translate their own
//! error numbers into these before returning them.

use core::ffi::c_int;

/// A NetBSD errno value (always positive). The constants are the ones the contract names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub c_int);

impl Errno {
    pub const EPERM: Errno = Errno(1);
    pub const ENOENT: Errno = Errno(2);
    pub const ESRCH: Errno = Errno(3);
    pub const EINTR: Errno = Errno(4);
    pub const EIO: Errno = Errno(5);
    pub const ENXIO: Errno = Errno(6);
    pub const EBADF: Errno = Errno(9);
    pub const ENOMEM: Errno = Errno(12);
    pub const EACCES: Errno = Errno(13);
    pub const EFAULT: Errno = Errno(14);
    pub const EBUSY: Errno = Errno(16);
    pub const EEXIST: Errno = Errno(17);
    pub const ENODEV: Errno = Errno(19);
    pub const ENOTDIR: Errno = Errno(20);
    pub const EISDIR: Errno = Errno(21);
    pub const EINVAL: Errno = Errno(22);
    pub const ENOTTY: Errno = Errno(25);
    pub const EFBIG: Errno = Errno(27);
    pub const ENOSPC: Errno = Errno(28);
    pub const EROFS: Errno = Errno(30);
    pub const ERANGE: Errno = Errno(34);
    pub const EAGAIN: Errno = Errno(35);
    pub const EALREADY: Errno = Errno(37);
    pub const EOPNOTSUPP: Errno = Errno(45);
    pub const ETIMEDOUT: Errno = Errno(60);
    pub const ENAMETOOLONG: Errno = Errno(63);
    pub const ENOSYS: Errno = Errno(78);
    pub const ENOTSUP: Errno = Errno(86);
}

/// Turns a hypercall result into its C return value, storing the payload through `store`
/// on success. This is the only place where `Result` meets the C convention.
#[inline]
pub fn c_return<T>(result: Result<T, Errno>, store: impl FnOnce(T)) -> c_int {
    match result {
        Ok(value) => {
            store(value);
            0
        }
        Err(Errno(code)) => code,
    }
}

/// [`c_return`] for results without a payload.
#[inline]
pub fn c_status(result: Result<(), Errno>) -> c_int {
    c_return(result, |()| ())
}
