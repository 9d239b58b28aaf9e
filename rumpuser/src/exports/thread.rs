//! Exports for threads (docs/contract.md §1.9, §4).

use core::ffi::{c_char, c_int, c_void};

use super::c_str;
use crate::abi::RumpuserThreadFn;
use crate::errno::{c_return, Errno};
use crate::host::{JoinToken, ThreadAttrs, ThreadStart};
use crate::install::host;
use crate::sched;

/// The rump kernel's thread entry and its argument, moved to the new host thread.
struct RumpEntry {
    f: unsafe extern "C" fn(*mut c_void) -> *mut c_void,
    arg: *mut c_void,
}

// SAFETY: the rump kernel creates the thread precisely to run `f(arg)` on another host
// thread (contract §4.1); the pointer is handed over, not shared.
unsafe impl Send for RumpEntry {}

impl RumpEntry {
    fn run(self) {
        // SAFETY: `f` is the rump kernel's entry (`threadbouncer`/`lwpbouncer`), called once
        // with its own argument on a fresh thread in state N (contract §4.1).
        unsafe { (self.f)(self.arg) };
    }
}

/// `int rumpuser_thread_create(rumpuser_thread_fn f, void *arg, const char *thrname,
///  int mustjoin, int priority, int cpuidx, void **cookie);`
///
/// # Safety
/// `f(arg)` is safe to run on a new thread; `thrname` is NULL or a C string; `cookie` is
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_thread_create(
    f: RumpuserThreadFn,
    arg: *mut c_void,
    thrname: *const c_char,
    mustjoin: c_int,
    priority: c_int,
    cpuidx: c_int,
    cookie: *mut *mut c_void,
) -> c_int {
    let Some(f) = f else { return Errno::EINVAL.0 };
    let joinable = mustjoin != 0;
    if joinable && cookie.is_null() {
        return Errno::EINVAL.0;
    }
    // SAFETY: `thrname` is NULL or a C string.
    let name = unsafe { c_str(thrname) }.and_then(|n| n.to_str().ok());
    let attrs = ThreadAttrs {
        name,
        joinable,
        priority,
        cpu: u32::try_from(cpuidx).ok(),
    };
    let entry = RumpEntry { f, arg };
    let result = host().spawn(ThreadStart::new(move || entry.run()), &attrs);
    c_return(result, |token| {
        if joinable {
            // SAFETY: checked non-null above; writable per the caller's contract. The
            // non-joinable case may pass NULL and is never written (contract §4.1).
            unsafe { cookie.write(token.0 as *mut c_void) };
        }
    })
}

/// `void rumpuser_thread_exit(void) __dead;`
///
/// # Safety
/// Called on a thread made by `rumpuser_thread_create`, in state N (contract §4.2).
#[no_mangle]
pub unsafe extern "C" fn rumpuser_thread_exit() -> ! {
    host().exit_thread()
}

/// `int rumpuser_thread_join(void *cookie);` — releases the vCPU while joining (contract §4.3).
///
/// # Safety
/// `cookie` came from a joinable `rumpuser_thread_create` and is joined once.
#[no_mangle]
pub unsafe extern "C" fn rumpuser_thread_join(cookie: *mut c_void) -> c_int {
    let host = host();
    let result = sched::blocking(|| host.join(JoinToken(cookie as usize)));
    c_return(result, |()| ())
}
