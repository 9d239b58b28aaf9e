//! Rust-side tests of the hosted build: dprintf formatting, misuse panics, IRQ dispatch.
//!
//! Misuse checks panic only in debug builds (`cargo test` default profile); the panics are
//! tested on the safe Rust types because a panic cannot cross the `extern "C"` boundary
//! (there it aborts the process after printing the same message).
#![cfg(feature = "hosted")]

use core::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use rumpuser::exports::pci::{rumpcomp_pci_irq_establish, rumpcomp_pci_irq_map};
use rumpuser::hosted::HostedHost;
use rumpuser::sync::mutex::RumpuserMtx;
use rumpuser::sync::rwlock::{RumpuserRw, RwKind};
use rumpuser::sync::RumpuserCv;
use rumpuser::Host;

extern "C" {
    fn rumpuser_dprintf(fmt: *const c_char, ...);
}

/// Console capture is process-wide: tests that use it take this lock.
static CONSOLE: Mutex<()> = Mutex::new(());

fn host() -> &'static HostedHost {
    let _ = rumpuser::install(HostedHost::global());
    HostedHost::global()
}

#[test]
fn dprintf_formats_every_conversion() {
    let _guard = CONSOLE.lock().unwrap();
    let host = host();
    host.capture_console(true);
    // SAFETY: the format matches the arguments' C types.
    unsafe {
        rumpuser_dprintf(
            c"%d|%i|%u|%x|%X|%o|%s|%c|%%|%5d|%-5d|%05d|%ld|%lld|%zu|%hd|%hhu|%lx|%p|%.2s|%s\n"
                .as_ptr(),
            -42 as c_int,
            7 as c_int,
            3_000_000_000u32,
            0xbeef as c_int,
            0xbeef as c_int,
            8 as c_int,
            c"str".as_ptr(),
            b'z' as c_int,
            42 as c_int,
            42 as c_int,
            -42 as c_int,
            -1i64,
            i64::MIN,
            usize::MAX,
            70000 as c_int,
            300 as c_int,
            0xdead_beef_cafe_u64,
            0x1000usize as *const c_void,
            c"abcdef".as_ptr(),
            core::ptr::null::<c_char>(),
        );
    }
    let text = String::from_utf8(host.take_captured()).unwrap();
    host.capture_console(false);
    assert_eq!(
        text,
        "-42|7|3000000000|beef|BEEF|10|str|z|%|   42|42   |-0042|-1|-9223372036854775808|18446744073709551615|4464|44|deadbeefcafe|0x1000|ab|(null)\n"
    );
}

#[test]
#[cfg_attr(not(debug_assertions), ignore = "misuse checks are debug-only")]
#[should_panic(expected = "rumpuser_mutex_exit: mutex")]
fn mutex_exit_of_unowned_mutex_panics() {
    host();
    RumpuserMtx::new(0).exit();
}

#[test]
#[cfg_attr(not(debug_assertions), ignore = "misuse checks are debug-only")]
#[should_panic(expected = "rumpuser_mutex_destroy: mutex")]
fn mutex_destroy_while_held_panics() {
    host();
    let m = RumpuserMtx::new(0);
    m.enter_nowrap();
    m.check_destroy();
}

#[test]
#[cfg_attr(not(debug_assertions), ignore = "misuse checks are debug-only")]
#[should_panic(expected = "rumpuser_rw_exit: lock")]
fn rw_exit_unheld_panics() {
    host();
    RumpuserRw::new().exit();
}

#[test]
#[cfg_attr(not(debug_assertions), ignore = "misuse checks are debug-only")]
#[should_panic(expected = "rumpuser_cv_destroy: cv")]
fn cv_destroy_with_waiters_panics() {
    host();
    let cv: &'static RumpuserCv = Box::leak(Box::new(RumpuserCv::new()));
    let m: &'static RumpuserMtx = Box::leak(Box::new(RumpuserMtx::new(0)));
    std::thread::spawn(move || {
        m.enter_nowrap();
        cv.wait_nowrap(m);
    });
    while cv.waiters() == 0 {
        std::thread::yield_now();
    }
    cv.check_destroy();
}

#[test]
fn rw_lock_excludes_across_threads() {
    host();
    let rw: &'static RumpuserRw = Box::leak(Box::new(RumpuserRw::new()));
    let counter: &'static AtomicU32 = Box::leak(Box::new(AtomicU32::new(0)));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..2000 {
                    rw.enter(RwKind::Writer);
                    let v = counter.load(Ordering::Relaxed);
                    counter.store(v + 1, Ordering::Relaxed);
                    rw.exit();
                    rw.enter(RwKind::Reader);
                    rw.exit();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(counter.load(Ordering::Relaxed), 8000);
}

/// Threads pass a turn round a ring under one KMUTEX mutex, each waiting on its own cv; the
/// signaller holds the mutex, so sleepers are moved onto it (wait morphing). A second ring
/// shares one cv between two mutexes (no morphing: their waiters differ) and uses
/// broadcasts and timed waits. Every turn must arrive exactly once and nothing may hang.
#[test]
fn condvar_hand_overs_never_lose_a_wake_up() {
    use rumpuser::abi::RUMPUSER_MTX_KMUTEX;
    use std::sync::atomic::AtomicU64;
    const THREADS: usize = 4;
    const ROUNDS: u64 = 3000;
    host();
    let mtx: &'static RumpuserMtx = Box::leak(Box::new(RumpuserMtx::new(RUMPUSER_MTX_KMUTEX)));
    let cvs: &'static [RumpuserCv] = Box::leak((0..THREADS).map(|_| RumpuserCv::new()).collect());
    let turn: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
    let ring: Vec<_> = (0..THREADS)
        .map(|me| {
            std::thread::spawn(move || {
                // A distinct lwp per thread, so KMUTEX ownership means something.
                host().set_curlwp((0x1000 + me * 0x100) as *mut c_void);
                for _ in 0..ROUNDS {
                    mtx.enter();
                    while turn.load(Ordering::Relaxed) % THREADS as u64 != me as u64 {
                        cvs[me].wait(mtx, None);
                    }
                    turn.fetch_add(1, Ordering::Relaxed);
                    cvs[(me + 1) % THREADS].signal();
                    mtx.exit();
                }
            })
        })
        .collect();

    let mutexes: &'static [RumpuserMtx] = Box::leak(Box::new([
        RumpuserMtx::new(RUMPUSER_MTX_KMUTEX),
        RumpuserMtx::new(0),
    ]));
    let shared: &'static RumpuserCv = Box::leak(Box::new(RumpuserCv::new()));
    let count: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
    let mixed: Vec<_> = (0..2)
        .map(|me| {
            std::thread::spawn(move || {
                host().set_curlwp((0x9000 + me * 0x100) as *mut c_void);
                let deadline = || Some(host().monotonic() + std::time::Duration::from_millis(2));
                for _ in 0..ROUNDS {
                    let own = &mutexes[me];
                    own.enter();
                    while count.load(Ordering::SeqCst) % 2 != me as u64 {
                        shared.wait(own, deadline());
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                    shared.broadcast();
                    own.exit();
                }
            })
        })
        .collect();
    for thread in ring.into_iter().chain(mixed) {
        thread.join().unwrap();
    }
    assert_eq!(turn.load(Ordering::Relaxed), THREADS as u64 * ROUNDS);
    assert_eq!(count.load(Ordering::Relaxed), 2 * ROUNDS);
    assert!(!mtx.is_locked());
    for cv in cvs.iter().chain([shared]) {
        cv.check_destroy();
    }
}

static IRQ_HITS: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn irq_handler(data: *mut c_void) -> c_int {
    IRQ_HITS.fetch_add(data as usize as u32, Ordering::SeqCst);
    1
}

#[test]
fn irq_dispatch_runs_handler_on_a_host_thread() {
    let host = host();
    // SAFETY: plain values; the handler is a valid function for the rest of the program.
    let handle = unsafe {
        assert_eq!(rumpcomp_pci_irq_map(0, 3, 0, 11, 77), 0);
        rumpcomp_pci_irq_establish(77, Some(irq_handler), 5 as *mut c_void)
    };
    assert!(!handle.is_null());
    assert!(host.raise_irq(77));
    for _ in 0..2000 {
        if IRQ_HITS.load(Ordering::SeqCst) == 5 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    panic!("handler did not run");
}

static RETIRED_HITS: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn retired_handler(_data: *mut c_void) -> c_int {
    RETIRED_HITS.fetch_add(1, Ordering::SeqCst);
    1
}

fn wait_for_hits(expected: u32) -> bool {
    for _ in 0..2000 {
        if RETIRED_HITS.load(Ordering::SeqCst) == expected {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    false
}

#[test]
fn irq_disestablish_stops_the_handler_and_refuses_foreign_handles() {
    let host = host();
    // SAFETY: plain values; the handler is a valid function for the rest of the program.
    let handle = unsafe {
        assert_eq!(rumpcomp_pci_irq_map(0, 4, 0, 10, 91), 0);
        rumpcomp_pci_irq_establish(91, Some(retired_handler), std::ptr::null_mut())
    };
    assert!(!handle.is_null());
    assert!(host.raise_irq(91));
    assert!(wait_for_hits(1), "handler did not run");
    let mut foreign = 0u64;
    // SAFETY: no rump kernel here, so no scheduling upcalls; the handles are only compared.
    unsafe {
        assert_eq!(
            rumpuser::pci::irq_disestablish((&raw mut foreign).cast()),
            Err(rumpuser::Errno::EINVAL)
        );
        assert_eq!(rumpuser::pci::irq_disestablish(handle), Ok(()));
        assert_eq!(
            rumpuser::pci::irq_disestablish(handle),
            Err(rumpuser::Errno::EINVAL),
            "a second disestablish of the same handle"
        );
    }
    assert!(
        !host.raise_irq(91),
        "the host still routes the retired line"
    );
    // SAFETY: the line is leaked by establish and stays valid; raising it must not call back.
    unsafe { &*handle.cast::<rumpuser::IrqLine>() }.raise();
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(RETIRED_HITS.load(Ordering::SeqCst), 1);
}
