//! Exports for mutexes, rwlocks and condvars (docs/contract.md §1.11-§1.13, §2.4, §2.5).
//!
//! The objects are boxed `crate::sync` types; the C side holds the box pointer. A void hypercall
//! cannot fail, so allocation failure panics (contract §0.2), and so does an unknown lock type.

extern crate alloc;

use alloc::boxed::Box;
use core::ffi::c_int;

use crate::abi::*;
use crate::errno::{c_status, Errno};
use crate::install::host;
use crate::stats::{Kind, Timed};
use crate::sync::condvar::Wake;
use crate::sync::rwlock::RwKind;
use crate::sync::{RumpuserCv, RumpuserMtx, RumpuserRw};

/// Borrows a lock object handed out by one of the `_init` exports.
///
/// # Safety
/// `ptr` came from the matching `_init` and has not been destroyed.
unsafe fn object<'a, T>(ptr: *mut T) -> &'a T {
    // SAFETY: per the caller's contract the pointer is a live `Box<T>`.
    unsafe { &*ptr }
}

fn rw_kind(kind: c_int) -> RwKind {
    match kind {
        RUMPUSER_RW_READER => RwKind::Reader,
        RUMPUSER_RW_WRITER => RwKind::Writer,
        _ => panic!("rumpuser_rw: unknown lock type {kind}"),
    }
}

/// `void rumpuser_mutex_init(struct rumpuser_mtx **mtxp, int flags);`
///
/// # Safety
/// `mtxp` is writable.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_mutex_init(mtxp: *mut *mut RumpuserMtx, flags: c_int) {
    let known = RUMPUSER_MTX_SPIN | RUMPUSER_MTX_KMUTEX;
    assert!(
        flags & !known == 0,
        "rumpuser_mutex_init: unknown flags {flags:#x}"
    );
    // SAFETY: `mtxp` is writable per the caller's contract.
    unsafe { mtxp.write(Box::into_raw(Box::new(RumpuserMtx::new(flags)))) };
}

/// `void rumpuser_mutex_enter(struct rumpuser_mtx *mtx);`
///
/// # Safety
/// `mtx` is a live mutex from `rumpuser_mutex_init`.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_mutex_enter(mtx: *mut RumpuserMtx) {
    let _timed = Timed::new(Kind::MutexEnter);
    // SAFETY: forwarded caller contract.
    unsafe { object(mtx) }.enter();
}

/// `void rumpuser_mutex_enter_nowrap(struct rumpuser_mtx *mtx);`
///
/// # Safety
/// `mtx` is a live mutex from `rumpuser_mutex_init`.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_mutex_enter_nowrap(mtx: *mut RumpuserMtx) {
    let _timed = Timed::new(Kind::MutexEnterNowrap);
    // SAFETY: forwarded caller contract.
    unsafe { object(mtx) }.enter_nowrap();
}

/// `int rumpuser_mutex_tryenter(struct rumpuser_mtx *mtx);`
///
/// # Safety
/// `mtx` is a live mutex from `rumpuser_mutex_init`.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_mutex_tryenter(mtx: *mut RumpuserMtx) -> c_int {
    let _timed = Timed::new(Kind::MutexTryenter);
    // SAFETY: forwarded caller contract.
    c_status(unsafe { object(mtx) }.try_enter())
}

/// `void rumpuser_mutex_exit(struct rumpuser_mtx *mtx);`
///
/// # Safety
/// `mtx` is a live mutex from `rumpuser_mutex_init`.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_mutex_exit(mtx: *mut RumpuserMtx) {
    let _timed = Timed::new(Kind::MutexExit);
    // SAFETY: forwarded caller contract.
    unsafe { object(mtx) }.exit();
}

/// `void rumpuser_mutex_destroy(struct rumpuser_mtx *mtx);`
///
/// # Safety
/// `mtx` is a live mutex, unlocked, without waiters, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_mutex_destroy(mtx: *mut RumpuserMtx) {
    // SAFETY: forwarded caller contract.
    unsafe { object(mtx) }.check_destroy();
    // SAFETY: the pointer came from `Box::into_raw` in `rumpuser_mutex_init`.
    drop(unsafe { Box::from_raw(mtx) });
}

/// `void rumpuser_mutex_owner(struct rumpuser_mtx *mtx, struct lwp **lp);`
///
/// # Safety
/// `mtx` is a live mutex; `lp` is writable.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_mutex_owner(mtx: *mut RumpuserMtx, lp: *mut *mut Lwp) {
    // SAFETY: forwarded caller contract.
    unsafe { lp.write(object(mtx).owner().cast()) };
}

/// `void rumpuser_rw_init(struct rumpuser_rw **rwp);`
///
/// # Safety
/// `rwp` is writable.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_rw_init(rwp: *mut *mut RumpuserRw) {
    // SAFETY: `rwp` is writable per the caller's contract.
    unsafe { rwp.write(Box::into_raw(Box::new(RumpuserRw::new()))) };
}

/// `void rumpuser_rw_enter(int enum_rumprwlock, struct rumpuser_rw *rw);`
///
/// # Safety
/// `rw` is a live lock from `rumpuser_rw_init`.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_rw_enter(kind: c_int, rw: *mut RumpuserRw) {
    let _timed = Timed::new(Kind::RwEnter);
    // SAFETY: forwarded caller contract.
    unsafe { object(rw) }.enter(rw_kind(kind));
}

/// `int rumpuser_rw_tryenter(int enum_rumprwlock, struct rumpuser_rw *rw);`
///
/// # Safety
/// `rw` is a live lock from `rumpuser_rw_init`.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_rw_tryenter(kind: c_int, rw: *mut RumpuserRw) -> c_int {
    let _timed = Timed::new(Kind::RwTryenter);
    // SAFETY: forwarded caller contract.
    c_status(unsafe { object(rw) }.try_enter(rw_kind(kind)))
}

/// `int rumpuser_rw_tryupgrade(struct rumpuser_rw *rw);`
///
/// # Safety
/// `rw` is a live lock read-held by the caller.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_rw_tryupgrade(rw: *mut RumpuserRw) -> c_int {
    // SAFETY: forwarded caller contract.
    c_status(unsafe { object(rw) }.try_upgrade())
}

/// `void rumpuser_rw_downgrade(struct rumpuser_rw *rw);`
///
/// # Safety
/// `rw` is a live lock write-held by the caller.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_rw_downgrade(rw: *mut RumpuserRw) {
    // SAFETY: forwarded caller contract.
    unsafe { object(rw) }.downgrade();
}

/// `void rumpuser_rw_exit(struct rumpuser_rw *rw);`
///
/// # Safety
/// `rw` is a live lock held by the caller.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_rw_exit(rw: *mut RumpuserRw) {
    let _timed = Timed::new(Kind::RwExit);
    // SAFETY: forwarded caller contract.
    unsafe { object(rw) }.exit();
}

/// `void rumpuser_rw_destroy(struct rumpuser_rw *rw);`
///
/// # Safety
/// `rw` is a live, unheld lock not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_rw_destroy(rw: *mut RumpuserRw) {
    // SAFETY: forwarded caller contract.
    unsafe { object(rw) }.check_destroy();
    // SAFETY: the pointer came from `Box::into_raw` in `rumpuser_rw_init`.
    drop(unsafe { Box::from_raw(rw) });
}

/// `void rumpuser_rw_held(int enum_rumprwlock, struct rumpuser_rw *rw, int *heldp);`
///
/// # Safety
/// `rw` is a live lock; `heldp` is writable.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_rw_held(kind: c_int, rw: *mut RumpuserRw, heldp: *mut c_int) {
    // SAFETY: forwarded caller contract.
    unsafe { heldp.write(c_int::from(object(rw).held(rw_kind(kind)))) };
}

/// `void rumpuser_cv_init(struct rumpuser_cv **cvp);`
///
/// # Safety
/// `cvp` is writable.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_cv_init(cvp: *mut *mut RumpuserCv) {
    // SAFETY: `cvp` is writable per the caller's contract.
    unsafe { cvp.write(Box::into_raw(Box::new(RumpuserCv::new()))) };
}

/// `void rumpuser_cv_destroy(struct rumpuser_cv *cv);`
///
/// # Safety
/// `cv` is a live cv without waiters, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_cv_destroy(cv: *mut RumpuserCv) {
    // SAFETY: forwarded caller contract.
    unsafe { object(cv) }.check_destroy();
    // SAFETY: the pointer came from `Box::into_raw` in `rumpuser_cv_init`.
    drop(unsafe { Box::from_raw(cv) });
}

/// `void rumpuser_cv_wait(struct rumpuser_cv *cv, struct rumpuser_mtx *mtx);`
///
/// # Safety
/// `cv` and `mtx` are live; `mtx` is held by the caller, or is the scheduler interlock
/// (contract §2.5 A).
#[no_mangle]
pub unsafe extern "C" fn rumpuser_cv_wait(cv: *mut RumpuserCv, mtx: *mut RumpuserMtx) {
    let _timed = Timed::new(Kind::CvWait);
    // SAFETY: forwarded caller contract.
    let _ = unsafe { object(cv).wait(object(mtx), None) };
}

/// `void rumpuser_cv_wait_nowrap(struct rumpuser_cv *cv, struct rumpuser_mtx *mtx);`
///
/// # Safety
/// `cv` and `mtx` are live and `mtx` is held by the caller.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_cv_wait_nowrap(cv: *mut RumpuserCv, mtx: *mut RumpuserMtx) {
    let _timed = Timed::new(Kind::CvWaitNowrap);
    // SAFETY: forwarded caller contract.
    unsafe { object(cv).wait_nowrap(object(mtx)) };
}

/// `int rumpuser_cv_timedwait(struct rumpuser_cv *cv, struct rumpuser_mtx *mtx,
///  int64_t sec, int64_t nsec);` — relative timeout; 0 or ETIMEDOUT.
///
/// # Safety
/// As for `rumpuser_cv_wait`.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_cv_timedwait(
    cv: *mut RumpuserCv,
    mtx: *mut RumpuserMtx,
    sec: i64,
    nsec: i64,
) -> c_int {
    let _timed = Timed::new(Kind::CvTimedwait);
    // The deadline is fixed before unscheduling (contract §1.13).
    let deadline = host()
        .monotonic()
        .saturating_add(super::duration(sec, nsec));
    // SAFETY: forwarded caller contract.
    match unsafe { object(cv).wait(object(mtx), Some(deadline)) } {
        Wake::Signalled => 0,
        Wake::TimedOut => Errno::ETIMEDOUT.0,
    }
}

/// `void rumpuser_cv_signal(struct rumpuser_cv *cv);`
///
/// # Safety
/// `cv` is live.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_cv_signal(cv: *mut RumpuserCv) {
    let _timed = Timed::new(Kind::CvSignal);
    // SAFETY: forwarded caller contract.
    unsafe { object(cv) }.signal();
}

/// `void rumpuser_cv_broadcast(struct rumpuser_cv *cv);`
///
/// # Safety
/// `cv` is live.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_cv_broadcast(cv: *mut RumpuserCv) {
    let _timed = Timed::new(Kind::CvBroadcast);
    // SAFETY: forwarded caller contract.
    unsafe { object(cv) }.broadcast();
}

/// `void rumpuser_cv_has_waiters(struct rumpuser_cv *cv, int *waitersp);`
///
/// # Safety
/// `cv` is live; `waitersp` is writable.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_cv_has_waiters(cv: *mut RumpuserCv, waitersp: *mut c_int) {
    // SAFETY: forwarded caller contract.
    unsafe { waitersp.write(object(cv).waiters().min(c_int::MAX as u32) as c_int) };
}
