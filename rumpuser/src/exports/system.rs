//! Exports for init, memory, clocks, parameters, console, process, randomness and curlwp.
//!
//! docs/contract.md §1.1, §1.2, §1.4-§1.8, §1.10, §1.14, §1.15, §3, §6, §8.

extern crate alloc;

use core::ffi::{c_char, c_int, c_long, c_void};
use core::ptr::{self, NonNull};

use super::{c_str, duration};
use crate::abi::*;
use crate::errno::{c_return, c_status, Errno};
use crate::install::host;
use crate::memory::{self, PAGE_SIZE};
use crate::sched;
use crate::stats::{Kind, Timed};

/// `int rumpuser_init(int version, const struct rumpuser_hyperup *hyp);`
///
/// # Safety
/// `hyp` is NULL or points to a valid upcall table (copied here).
#[no_mangle]
pub unsafe extern "C" fn rumpuser_init(version: c_int, hyp: *const RumpuserHyperup) -> c_int {
    if version != RUMPUSER_VERSION {
        return Errno::EINVAL.0;
    }
    // SAFETY: the caller passes a valid table or NULL.
    let Some(table) = (unsafe { hyp.as_ref() }) else {
        return Errno::EINVAL.0;
    };
    sched::set_upcalls(*table);
    let _ = host();
    0
}

/// `int rumpuser_malloc(size_t len, int alignment, void **memp);`
///
/// # Safety
/// `memp` is valid for a pointer write.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_malloc(
    len: usize,
    alignment: c_int,
    memp: *mut *mut c_void,
) -> c_int {
    let _timed = Timed::new(Kind::Malloc);
    let result = usize::try_from(alignment)
        .map_err(|_| Errno::EINVAL)
        .and_then(|align| memory::allocate(len, align));
    let mem = result.map_or(ptr::null_mut(), |p| p.as_ptr().cast());
    // SAFETY: `memp` is writable per the caller's contract; NULL is stored on failure
    // (contract §1.2).
    unsafe { memp.write(mem) };
    c_status(result.map(|_| ()))
}

/// `void rumpuser_free(void *mem, size_t len);`
///
/// # Safety
/// `mem` is NULL or came from `rumpuser_malloc(len, ..)` and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_free(mem: *mut c_void, len: usize) {
    let _timed = Timed::new(Kind::Free);
    if let Some(mem) = NonNull::new(mem.cast::<u8>()) {
        // SAFETY: forwarded caller contract.
        unsafe { memory::free(mem, len) };
    }
}

/// `int rumpuser_anonmmap(void *prefaddr, size_t size, int alignbit, int exec, void **memp);`
///
/// # Safety
/// `memp` is valid for a pointer write.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_anonmmap(
    _prefaddr: *mut c_void,
    size: usize,
    alignbit: c_int,
    _exec: c_int,
    memp: *mut *mut c_void,
) -> c_int {
    let result = (|| {
        let shift = u32::try_from(alignbit)
            .ok()
            .filter(|s| *s < 40)
            .ok_or(Errno::EINVAL)?;
        let size = size
            .checked_next_multiple_of(PAGE_SIZE)
            .filter(|s| *s > 0)
            .ok_or(Errno::EINVAL)?;
        let mem = memory::allocate(size, (1usize << shift).max(PAGE_SIZE))?;
        // SAFETY: `mem` is a fresh allocation of `size` bytes.
        unsafe { mem.as_ptr().write_bytes(0, size) };
        Ok(mem.as_ptr().cast::<c_void>())
    })();
    // SAFETY: `memp` is writable per the caller's contract.
    c_return(result, |mem| unsafe { memp.write(mem) })
}

/// `void rumpuser_unmap(void *addr, size_t len);`
///
/// # Safety
/// `addr`/`len` describe one earlier `rumpuser_anonmmap` result.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_unmap(addr: *mut c_void, len: usize) {
    if let (Some(addr), Some(len)) = (
        NonNull::new(addr.cast::<u8>()),
        len.checked_next_multiple_of(PAGE_SIZE),
    ) {
        // SAFETY: anonmmap allocated exactly `len` rounded to pages at this address.
        unsafe { memory::free(addr, len) };
    }
}

/// `int rumpuser_clock_gettime(int enum_rumpclock, int64_t *sec, long *nsec);`
///
/// # Safety
/// `sec` and `nsec` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_clock_gettime(
    clock: c_int,
    sec: *mut i64,
    nsec: *mut c_long,
) -> c_int {
    let _timed = Timed::new(Kind::ClockGettime);
    let now = match clock {
        RUMPUSER_CLOCK_RELWALL => Ok(host().wall_clock()),
        RUMPUSER_CLOCK_ABSMONO => Ok(host().monotonic()),
        _ => Err(Errno::EINVAL),
    };
    c_return(now, |now| {
        // SAFETY: both pointers are writable per the caller's contract.
        unsafe {
            sec.write(now.as_secs() as i64);
            nsec.write(c_long::from(now.subsec_nanos()));
        }
    })
}

/// `int rumpuser_clock_sleep(int enum_rumpclock, int64_t sec, long nsec);`
///
/// # Safety
/// None beyond the C ABI; declared `unsafe` as every export is.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_clock_sleep(clock: c_int, sec: i64, nsec: c_long) -> c_int {
    let _timed = Timed::new(Kind::ClockSleep);
    let host = host();
    let deadline = match clock {
        RUMPUSER_CLOCK_RELWALL => host.monotonic().saturating_add(duration(sec, nsec)),
        RUMPUSER_CLOCK_ABSMONO => duration(sec, nsec),
        _ => return Errno::EINVAL.0,
    };
    sched::blocking(|| host.sleep_until(deadline));
    0
}

/// `int rumpuser_getparam(const char *name, void *buf, size_t buflen);`
///
/// # Safety
/// `name` is a C string; `buf` is writable for `buflen` bytes.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_getparam(
    name: *const c_char,
    buf: *mut c_void,
    buflen: usize,
) -> c_int {
    // SAFETY: `name` is NULL or a C string.
    let Some(name) = (unsafe { c_str(name) }).and_then(|n| n.to_str().ok()) else {
        return Errno::EINVAL.0;
    };
    let host = host();
    let value = match name {
        RUMPUSER_PARAM_NCPU => Some(alloc::format!("{}", host.ncpu().max(1))),
        RUMPUSER_PARAM_HOSTNAME => Some(host.hostname()),
        other => host.param(other),
    };
    let Some(value) = value else {
        return Errno::ENOENT.0;
    };
    if buf.is_null() || value.len() >= buflen {
        return Errno::ERANGE.0;
    }
    // SAFETY: `buf` is writable for `buflen` bytes and `value.len() + 1 <= buflen`.
    unsafe {
        ptr::copy_nonoverlapping(value.as_ptr(), buf.cast::<u8>(), value.len());
        buf.cast::<u8>().add(value.len()).write(0);
    }
    0
}

/// `void rumpuser_seterrno(int error);`
///
/// # Safety
/// None beyond the C ABI.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_seterrno(error: c_int) {
    host().set_errno(error);
}

/// `int rumpuser_kill(int64_t pid, int sig);`
///
/// # Safety
/// None beyond the C ABI.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_kill(pid: i64, sig: c_int) -> c_int {
    c_status(host().kill(pid, sig))
}

/// `void rumpuser_exit(int value) __dead;`
///
/// # Safety
/// None beyond the C ABI.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_exit(value: c_int) -> ! {
    host().exit(value)
}

/// `void rumpuser_putchar(int ch);` (never unschedules, contract §2.10 item 7)
///
/// # Safety
/// None beyond the C ABI.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_putchar(ch: c_int) {
    host().console_putc(ch as u8);
}

/// `int rumpuser_getrandom(void *buf, size_t buflen, int flags, size_t *retp);`
///
/// # Safety
/// `buf` is writable for `buflen` bytes; `retp` is writable.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_getrandom(
    buf: *mut c_void,
    buflen: usize,
    flags: c_int,
    retp: *mut usize,
) -> c_int {
    if flags & !(RUMPUSER_RANDOM_HARD | RUMPUSER_RANDOM_NOWAIT) != 0 {
        return Errno::EINVAL.0;
    }
    let result = if buflen == 0 {
        Ok(0)
    } else if buf.is_null() {
        Err(Errno::EFAULT)
    } else {
        // SAFETY: `buf` is writable for `buflen` bytes per the caller's contract.
        let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), buflen) };
        host().random(out).map(|n| n.min(buflen)).and_then(|n| {
            if n == 0 {
                Err(Errno::EAGAIN)
            } else {
                Ok(n)
            }
        })
    };
    // SAFETY: `retp` is writable per the caller's contract.
    c_return(result, |n| unsafe { retp.write(n) })
}

/// `void rumpuser_curlwpop(int enum_rumplwpop, struct lwp *l);`
///
/// # Safety
/// None beyond the C ABI: `l` is stored, never dereferenced.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_curlwpop(op: c_int, l: *mut Lwp) {
    let _timed = Timed::new(Kind::Curlwpop);
    let host = host();
    match op {
        RUMPUSER_LWP_CREATE | RUMPUSER_LWP_DESTROY => {}
        RUMPUSER_LWP_SET => {
            crate::sync::misuse!(
                !host.curlwp().is_null(),
                "rumpuser_curlwpop(SET): thread already has an lwp"
            );
            host.set_curlwp(l.cast());
        }
        RUMPUSER_LWP_CLEAR => {
            crate::sync::misuse!(
                host.curlwp() != l.cast(),
                "rumpuser_curlwpop(CLEAR): {:p} is not curlwp",
                l
            );
            host.set_curlwp(ptr::null_mut());
        }
        _ => panic!("rumpuser_curlwpop: unknown op {op}"),
    }
}

/// `struct lwp *rumpuser_curlwp(void);`
///
/// # Safety
/// None beyond the C ABI.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_curlwp() -> *mut Lwp {
    let _timed = Timed::new(Kind::Curlwp);
    host().curlwp().cast()
}

/// `void rumpuser_dl_bootstrap(rump_modinit_fn, rump_symload_fn, rump_compload_fn);`
/// A no-op in a static link: librump walks its link sets itself (contract §7.1).
///
/// # Safety
/// None: the callbacks are not called.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_dl_bootstrap(
    _domodinit: RumpModinitFn,
    _symload: RumpSymloadFn,
    _compload: RumpComploadFn,
) {
}

/// `int rumpuser_daemonize_begin(void);` — ENOSYS (contract §1.15).
///
/// # Safety
/// None beyond the C ABI.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_daemonize_begin() -> c_int {
    Errno::ENOSYS.0
}

/// `int rumpuser_daemonize_done(int error);` — ENOSYS (contract §1.15).
///
/// # Safety
/// None beyond the C ABI.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_daemonize_done(_error: c_int) -> c_int {
    Errno::ENOSYS.0
}
