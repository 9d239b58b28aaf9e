//! C types and constants of `include/rumpuser.h`, with compile-time layout checks.
//!
//! Only `core::ffi` types appear here. Layouts from docs/contract.md: contract §2.1 (hyperup,
//! 168 bytes), contract §1.3 (iovec, 16 bytes), contract §9.3 (dmaseg, 24 bytes); constants:
//! contract Appendix A.

use core::ffi::{c_char, c_int, c_long, c_ulong, c_void};
use core::mem::{offset_of, size_of};

/// The rump kernel's `struct lwp`; only ever handled by pointer.
#[repr(C)]
pub struct Lwp {
    _opaque: [u8; 0],
}

/// `struct modinfo` of the rump kernel (opaque).
#[repr(C)]
pub struct ModInfo {
    _opaque: [u8; 0],
}

/// `struct rump_component` of the rump kernel (opaque).
#[repr(C)]
pub struct RumpComponent {
    _opaque: [u8; 0],
}

/// `struct rumpuser_hyperup`: the upcall table handed to `rumpuser_init` (contract §2.1).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RumpuserHyperup {
    pub hyp_schedule: Option<unsafe extern "C" fn()>,
    pub hyp_unschedule: Option<unsafe extern "C" fn()>,
    pub hyp_backend_unschedule: Option<unsafe extern "C" fn(c_int, *mut c_int, *mut c_void)>,
    pub hyp_backend_schedule: Option<unsafe extern "C" fn(c_int, *mut c_void)>,
    pub hyp_lwproc_switch: Option<unsafe extern "C" fn(*mut Lwp)>,
    pub hyp_lwproc_release: Option<unsafe extern "C" fn()>,
    pub hyp_lwproc_rfork: Option<unsafe extern "C" fn(*mut c_void, c_int, *const c_char) -> c_int>,
    pub hyp_lwproc_newlwp: Option<unsafe extern "C" fn(c_int) -> c_int>,
    pub hyp_lwproc_curlwp: Option<unsafe extern "C" fn() -> *mut Lwp>,
    pub hyp_syscall: Option<unsafe extern "C" fn(c_int, *mut c_void, *mut c_long) -> c_int>,
    pub hyp_lwpexit: Option<unsafe extern "C" fn()>,
    pub hyp_execnotify: Option<unsafe extern "C" fn(*const c_char)>,
    pub hyp_getpid: Option<unsafe extern "C" fn() -> c_int>,
    pub hyp_extra: [*mut c_void; 8],
}

const _: () = assert!(size_of::<RumpuserHyperup>() == 168);
const _: () = assert!(offset_of!(RumpuserHyperup, hyp_backend_unschedule) == 16);
const _: () = assert!(offset_of!(RumpuserHyperup, hyp_backend_schedule) == 24);
const _: () = assert!(offset_of!(RumpuserHyperup, hyp_lwproc_newlwp) == 56);
const _: () = assert!(offset_of!(RumpuserHyperup, hyp_lwproc_curlwp) == 64);
const _: () = assert!(offset_of!(RumpuserHyperup, hyp_getpid) == 96);
const _: () = assert!(offset_of!(RumpuserHyperup, hyp_extra) == 104);

/// `struct rumpuser_iovec` (contract §1.3).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RumpuserIovec {
    pub iov_base: *mut c_void,
    pub iov_len: usize,
}

const _: () = assert!(size_of::<RumpuserIovec>() == 16);
const _: () = assert!(offset_of!(RumpuserIovec, iov_len) == 8);

/// `struct rumpcomp_pci_dmaseg` (contract §9.3).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RumpcompPciDmaseg {
    pub ds_pa: c_ulong,
    pub ds_len: c_ulong,
    pub ds_vacookie: c_ulong,
}

const _: () = assert!(size_of::<RumpcompPciDmaseg>() == 24);
const _: () = assert!(offset_of!(RumpcompPciDmaseg, ds_vacookie) == 16);

/// `rump_biodone_fn`.
pub type RumpBiodoneFn = Option<unsafe extern "C" fn(*mut c_void, usize, c_int)>;
/// `rumpuser_thread_fn`.
pub type RumpuserThreadFn = Option<unsafe extern "C" fn(*mut c_void) -> *mut c_void>;
/// `rumpcomp_pci_intr_fn`.
pub type RumpcompPciIntrFn = Option<unsafe extern "C" fn(*mut c_void) -> c_int>;
/// `rump_modinit_fn`.
pub type RumpModinitFn = Option<unsafe extern "C" fn(*const *const ModInfo, usize)>;
/// `rump_symload_fn`.
pub type RumpSymloadFn = Option<unsafe extern "C" fn(*mut c_void, u64, *mut c_char, u64) -> c_int>;
/// `rump_compload_fn`.
pub type RumpComploadFn = Option<unsafe extern "C" fn(*const RumpComponent)>;

pub const RUMPUSER_VERSION: c_int = 17;
pub const RUMPUSER_OPEN_ACCMODE: c_int = 0x0003;
pub const RUMPUSER_OPEN_CREATE: c_int = 0x0004;
pub const RUMPUSER_OPEN_EXCL: c_int = 0x0008;
pub const RUMPUSER_OPEN_BIO: c_int = 0x0010;
pub const RUMPUSER_BIO_READ: c_int = 0x01;
pub const RUMPUSER_BIO_WRITE: c_int = 0x02;
pub const RUMPUSER_BIO_SYNC: c_int = 0x04;
pub const RUMPUSER_IOV_NOSEEK: i64 = -1;
pub const RUMPUSER_SYNCFD_READ: c_int = 0x01;
pub const RUMPUSER_SYNCFD_WRITE: c_int = 0x02;
pub const RUMPUSER_SYNCFD_BARRIER: c_int = 0x04;
pub const RUMPUSER_SYNCFD_SYNC: c_int = 0x08;
pub const RUMPUSER_CLOCK_RELWALL: c_int = 0;
pub const RUMPUSER_CLOCK_ABSMONO: c_int = 1;
pub const RUMPUSER_PARAM_NCPU: &str = "_RUMPUSER_NCPU";
pub const RUMPUSER_PARAM_HOSTNAME: &str = "_RUMPUSER_HOSTNAME";
pub const RUMPUSER_PID_SELF: i64 = -1;
pub const RUMPUSER_PANIC: c_int = -1;
pub const RUMPUSER_RANDOM_HARD: c_int = 0x01;
pub const RUMPUSER_RANDOM_NOWAIT: c_int = 0x02;
pub const RUMPUSER_LWP_CREATE: c_int = 0;
pub const RUMPUSER_LWP_DESTROY: c_int = 1;
pub const RUMPUSER_LWP_SET: c_int = 2;
pub const RUMPUSER_LWP_CLEAR: c_int = 3;
pub const RUMPUSER_MTX_SPIN: c_int = 0x01;
pub const RUMPUSER_MTX_KMUTEX: c_int = 0x02;
pub const RUMPUSER_RW_READER: c_int = 0;
pub const RUMPUSER_RW_WRITER: c_int = 1;
