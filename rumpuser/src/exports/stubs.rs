//! Sysproxy hypercalls (docs/contract.md §1.16): never used by a kernel host, all ENOSYS.

use core::ffi::{c_char, c_int, c_void};

use crate::errno::Errno;

/// `int rumpuser_sp_init(const char *url, const char *ostype, const char *osrelease, const char *machine);`
///
/// # Safety
/// None: the arguments are ignored.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_sp_init(
    _url: *const c_char,
    _ostype: *const c_char,
    _osrelease: *const c_char,
    _machine: *const c_char,
) -> c_int {
    Errno::ENOSYS.0
}

/// `int rumpuser_sp_copyin(void *arg, const void *raddr, void *laddr, size_t len);`
///
/// # Safety
/// None: the arguments are ignored.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_sp_copyin(
    _arg: *mut c_void,
    _raddr: *const c_void,
    _laddr: *mut c_void,
    _len: usize,
) -> c_int {
    Errno::ENOSYS.0
}

/// `int rumpuser_sp_copyinstr(void *arg, const void *raddr, void *laddr, size_t *lenp);`
///
/// # Safety
/// None: the arguments are ignored.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_sp_copyinstr(
    _arg: *mut c_void,
    _raddr: *const c_void,
    _laddr: *mut c_void,
    _lenp: *mut usize,
) -> c_int {
    Errno::ENOSYS.0
}

/// `int rumpuser_sp_copyout(void *arg, const void *laddr, void *raddr, size_t len);`
///
/// # Safety
/// None: the arguments are ignored.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_sp_copyout(
    _arg: *mut c_void,
    _laddr: *const c_void,
    _raddr: *mut c_void,
    _len: usize,
) -> c_int {
    Errno::ENOSYS.0
}

/// `int rumpuser_sp_copyoutstr(void *arg, const void *laddr, void *raddr, size_t *lenp);`
///
/// # Safety
/// None: the arguments are ignored.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_sp_copyoutstr(
    _arg: *mut c_void,
    _laddr: *const c_void,
    _raddr: *mut c_void,
    _lenp: *mut usize,
) -> c_int {
    Errno::ENOSYS.0
}

/// `int rumpuser_sp_anonmmap(void *arg, size_t howmuch, void **addr);`
///
/// # Safety
/// None: the arguments are ignored.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_sp_anonmmap(
    _arg: *mut c_void,
    _howmuch: usize,
    _addr: *mut *mut c_void,
) -> c_int {
    Errno::ENOSYS.0
}

/// `int rumpuser_sp_raise(void *arg, int signo);`
///
/// # Safety
/// None: the arguments are ignored.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_sp_raise(_arg: *mut c_void, _signo: c_int) -> c_int {
    Errno::ENOSYS.0
}

/// `void rumpuser_sp_fini(void *arg);`
///
/// # Safety
/// None: the argument is ignored.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_sp_fini(_arg: *mut c_void) {}
