//! One table of every exported signature: compile-time checks plus data for the header test.
//!
//! For each entry the macro emits `const _: unsafe extern "C" fn(..) -> .. = export;`, so a
//! shim whose Rust signature differs from the table does not compile, and records the
//! stringified types in [`ABI_TABLE`]. The test `header_matches_rust` parses
//! `include/rumpuser.h` and compares each prototype with this table, closing the loop
//! between the C header and the Rust exports. (`rumpuser_dprintf` is C and is checked by
//! the C compiler against the header instead.)

use core::ffi::{c_char, c_int, c_long, c_uint, c_ulong, c_void};

use crate::abi::*;
use crate::exports::{file::*, pci::*, stubs::*, sync::*, system::*, thread::*};
use crate::sync::{RumpuserCv, RumpuserMtx, RumpuserRw};

/// One exported function: name, Rust argument types, Rust return type ("" for none).
#[derive(Debug, Clone, Copy)]
pub struct AbiEntry {
    pub name: &'static str,
    pub args: &'static [&'static str],
    pub ret: &'static str,
}

macro_rules! abi_table {
    ($($name:ident ( $($arg:ty),* ) $(-> $ret:ty)? ;)*) => {
        $( const _: unsafe extern "C" fn($($arg),*) $(-> $ret)? = $name; )*
        /// Every export of the crate with its Rust types, in header order.
        pub const ABI_TABLE: &[AbiEntry] = &[
            $( AbiEntry { name: stringify!($name), args: &[$(stringify!($arg)),*], ret: concat!($(stringify!($ret))?) }, )*
        ];
    };
}

abi_table! {
    rumpuser_init(c_int, *const RumpuserHyperup) -> c_int;
    rumpuser_malloc(usize, c_int, *mut *mut c_void) -> c_int;
    rumpuser_free(*mut c_void, usize);
    rumpuser_anonmmap(*mut c_void, usize, c_int, c_int, *mut *mut c_void) -> c_int;
    rumpuser_unmap(*mut c_void, usize);
    rumpuser_open(*const c_char, c_int, *mut c_int) -> c_int;
    rumpuser_close(c_int) -> c_int;
    rumpuser_getfileinfo(*const c_char, *mut u64, *mut c_int) -> c_int;
    rumpuser_bio(c_int, c_int, *mut c_void, usize, i64, RumpBiodoneFn, *mut c_void);
    rumpuser_iovread(c_int, *mut RumpuserIovec, usize, i64, *mut usize) -> c_int;
    rumpuser_iovwrite(c_int, *const RumpuserIovec, usize, i64, *mut usize) -> c_int;
    rumpuser_syncfd(c_int, c_int, u64, u64) -> c_int;
    rumpuser_clock_gettime(c_int, *mut i64, *mut c_long) -> c_int;
    rumpuser_clock_sleep(c_int, i64, c_long) -> c_int;
    rumpuser_getparam(*const c_char, *mut c_void, usize) -> c_int;
    rumpuser_seterrno(c_int);
    rumpuser_kill(i64, c_int) -> c_int;
    rumpuser_exit(c_int) -> !;
    rumpuser_putchar(c_int);
    rumpuser_getrandom(*mut c_void, usize, c_int, *mut usize) -> c_int;
    rumpuser_thread_create(RumpuserThreadFn, *mut c_void, *const c_char, c_int, c_int, c_int, *mut *mut c_void) -> c_int;
    rumpuser_thread_exit() -> !;
    rumpuser_thread_join(*mut c_void) -> c_int;
    rumpuser_curlwpop(c_int, *mut Lwp);
    rumpuser_curlwp() -> *mut Lwp;
    rumpuser_mutex_init(*mut *mut RumpuserMtx, c_int);
    rumpuser_mutex_enter(*mut RumpuserMtx);
    rumpuser_mutex_enter_nowrap(*mut RumpuserMtx);
    rumpuser_mutex_tryenter(*mut RumpuserMtx) -> c_int;
    rumpuser_mutex_exit(*mut RumpuserMtx);
    rumpuser_mutex_destroy(*mut RumpuserMtx);
    rumpuser_mutex_owner(*mut RumpuserMtx, *mut *mut Lwp);
    rumpuser_rw_init(*mut *mut RumpuserRw);
    rumpuser_rw_enter(c_int, *mut RumpuserRw);
    rumpuser_rw_tryenter(c_int, *mut RumpuserRw) -> c_int;
    rumpuser_rw_tryupgrade(*mut RumpuserRw) -> c_int;
    rumpuser_rw_downgrade(*mut RumpuserRw);
    rumpuser_rw_exit(*mut RumpuserRw);
    rumpuser_rw_destroy(*mut RumpuserRw);
    rumpuser_rw_held(c_int, *mut RumpuserRw, *mut c_int);
    rumpuser_cv_init(*mut *mut RumpuserCv);
    rumpuser_cv_destroy(*mut RumpuserCv);
    rumpuser_cv_wait(*mut RumpuserCv, *mut RumpuserMtx);
    rumpuser_cv_wait_nowrap(*mut RumpuserCv, *mut RumpuserMtx);
    rumpuser_cv_timedwait(*mut RumpuserCv, *mut RumpuserMtx, i64, i64) -> c_int;
    rumpuser_cv_signal(*mut RumpuserCv);
    rumpuser_cv_broadcast(*mut RumpuserCv);
    rumpuser_cv_has_waiters(*mut RumpuserCv, *mut c_int);
    rumpuser_dl_bootstrap(RumpModinitFn, RumpSymloadFn, RumpComploadFn);
    rumpuser_daemonize_begin() -> c_int;
    rumpuser_daemonize_done(c_int) -> c_int;
    rumpuser_sp_init(*const c_char, *const c_char, *const c_char, *const c_char) -> c_int;
    rumpuser_sp_copyin(*mut c_void, *const c_void, *mut c_void, usize) -> c_int;
    rumpuser_sp_copyinstr(*mut c_void, *const c_void, *mut c_void, *mut usize) -> c_int;
    rumpuser_sp_copyout(*mut c_void, *const c_void, *mut c_void, usize) -> c_int;
    rumpuser_sp_copyoutstr(*mut c_void, *const c_void, *mut c_void, *mut usize) -> c_int;
    rumpuser_sp_anonmmap(*mut c_void, usize, *mut *mut c_void) -> c_int;
    rumpuser_sp_raise(*mut c_void, c_int) -> c_int;
    rumpuser_sp_fini(*mut c_void);
    rumpcomp_pci_map(c_ulong, c_ulong) -> *mut c_void;
    rumpcomp_pci_confread(c_uint, c_uint, c_uint, c_int, *mut c_uint) -> c_int;
    rumpcomp_pci_confwrite(c_uint, c_uint, c_uint, c_int, c_uint) -> c_int;
    rumpcomp_pci_irq_map(c_uint, c_uint, c_uint, c_int, c_uint) -> c_int;
    rumpcomp_pci_irq_establish(c_uint, RumpcompPciIntrFn, *mut c_void) -> *mut c_void;
    rumpcomp_pci_dmalloc(usize, usize, *mut c_ulong, *mut c_ulong) -> c_int;
    rumpcomp_pci_dmafree(c_ulong, usize);
    rumpcomp_pci_dmamem_map(*mut RumpcompPciDmaseg, usize, usize, *mut *mut c_void) -> c_int;
    rumpcomp_pci_virt_to_mach(*mut c_void) -> c_ulong;
    rumpcomp_pci_iospace_init() -> c_int;
}
