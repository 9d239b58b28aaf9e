//! rumpuser-bench: nanoseconds per operation through the rumpuser exports (hosted backend)
//! next to the same operation done directly with pthreads/libc, in one run.
//!
//! Run with `cargo run --release -p rump-tests --bin rumpuser-bench [FILTER]` (FILTER: only
//! the rows whose name contains it). Each row alternates the two sides for five rounds and
//! prints the medians. Not a test: it prints figures and never fails on a time. The upcall table is a set of empty functions, so the
//! rumpuser figures include the cost of the protocol calls but not of a real rump scheduler.

use core::ffi::{c_int, c_void};
use core::ptr;
use std::hint::black_box;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Instant;

use rumpuser::abi::{
    Lwp, RumpuserHyperup, RUMPUSER_CLOCK_ABSMONO, RUMPUSER_MTX_KMUTEX, RUMPUSER_RW_READER,
    RUMPUSER_VERSION,
};
use rumpuser::exports::sync::*;
use rumpuser::exports::system::*;
use rumpuser::exports::thread::*;
use rumpuser::sync::{RumpuserCv, RumpuserMtx};

unsafe extern "C" fn nop() {}
unsafe extern "C" fn nop_unschedule(_: c_int, count: *mut c_int, _: *mut c_void) {
    // SAFETY: rumpuser passes a valid out-pointer.
    unsafe { *count = 0 };
}
unsafe extern "C" fn nop_schedule(_: c_int, _: *mut c_void) {}
unsafe extern "C" fn nop_newlwp(_: c_int) -> c_int {
    0
}

fn time(iterations: u64, mut op: impl FnMut()) -> f64 {
    for _ in 0..iterations / 10 {
        op();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        op();
    }
    start.elapsed().as_nanos() as f64 / iterations as f64
}

fn row(name: &str, rump: f64, direct: f64) {
    println!(
        "{name:<36} {rump:>10.1} {direct:>10.1} {:>8.2}x",
        rump / direct
    );
}

/// Rounds of each measure; the two sides alternate and the medians are printed.
const ROUNDS: usize = 5;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// Measures `rump` and `direct` in alternating rounds and prints the medians, when `name`
/// matches the filter given on the command line (all rows without one).
fn measure(name: &str, mut rump: impl FnMut() -> f64, mut direct: impl FnMut() -> f64) {
    if let Some(filter) = std::env::args().nth(1) {
        if !name.contains(&filter) {
            return;
        }
    }
    let (mut rumps, mut directs) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        rumps.push(rump());
        directs.push(direct());
    }
    row(name, median(rumps), median(directs));
}

/// Two threads hand a turn back and forth `rounds` times under one mutex + two condvars.
struct PingPong {
    mtx: *mut RumpuserMtx,
    cv: [*mut RumpuserCv; 2],
    turn: AtomicI32,
    rounds: u64,
}
// SAFETY: the pointers are thread-safe rumpuser lock objects and an int guarded by `mtx`.
unsafe impl Sync for PingPong {}

fn rump_side(p: &PingPong, me: c_int) {
    // SAFETY: all objects stay alive until both threads are done.
    unsafe {
        for _ in 0..p.rounds {
            rumpuser_mutex_enter(p.mtx);
            while p.turn.load(Ordering::Relaxed) != me {
                rumpuser_cv_wait(p.cv[me as usize], p.mtx);
            }
            p.turn.store(1 - me, Ordering::Relaxed);
            rumpuser_cv_signal(p.cv[1 - me as usize]);
            rumpuser_mutex_exit(p.mtx);
        }
    }
}

fn rump_ping_pong(rounds: u64) -> f64 {
    let mut p = PingPong {
        mtx: ptr::null_mut(),
        cv: [ptr::null_mut(); 2],
        turn: AtomicI32::new(0),
        rounds,
    };
    // SAFETY: out-pointers are valid.
    unsafe {
        rumpuser_mutex_init(&mut p.mtx, RUMPUSER_MTX_KMUTEX);
        rumpuser_cv_init(&mut p.cv[0]);
        rumpuser_cv_init(&mut p.cv[1]);
    }
    let start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| rump_side(&p, 1));
        rump_side(&p, 0);
    });
    start.elapsed().as_nanos() as f64 / rounds as f64
}

fn pthread_ping_pong(rounds: u64) -> f64 {
    struct Shared {
        mtx: libc::pthread_mutex_t,
        cv: [libc::pthread_cond_t; 2],
        turn: c_int,
    }
    let shared = std::cell::UnsafeCell::new(Shared {
        mtx: libc::PTHREAD_MUTEX_INITIALIZER,
        cv: [
            libc::PTHREAD_COND_INITIALIZER,
            libc::PTHREAD_COND_INITIALIZER,
        ],
        turn: 0,
    });
    struct Ptr(*mut Shared);
    // SAFETY: the pthread objects are shared on purpose; `turn` is guarded by `mtx`.
    unsafe impl Sync for Ptr {}
    impl Ptr {
        fn get(&self) -> *mut Shared {
            self.0
        }
    }
    let ptr = Ptr(shared.get());
    let side = |me: c_int| {
        let s = ptr.get();
        // SAFETY: initialised pthread objects that outlive the scope below.
        unsafe {
            for _ in 0..rounds {
                libc::pthread_mutex_lock(&mut (*s).mtx);
                while (*s).turn != me {
                    libc::pthread_cond_wait(&mut (*s).cv[me as usize], &mut (*s).mtx);
                }
                (*s).turn = 1 - me;
                libc::pthread_cond_signal(&mut (*s).cv[1 - me as usize]);
                libc::pthread_mutex_unlock(&mut (*s).mtx);
            }
        }
    };
    let start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| side(1));
        side(0);
    });
    start.elapsed().as_nanos() as f64 / rounds as f64
}

unsafe extern "C" fn rump_thread_body(_: *mut c_void) -> *mut c_void {
    // SAFETY: called on a thread created by rumpuser_thread_create.
    unsafe { rumpuser_thread_exit() }
}

extern "C" fn pthread_body(_: *mut c_void) -> *mut c_void {
    ptr::null_mut()
}

fn main() {
    let table = RumpuserHyperup {
        hyp_schedule: Some(nop),
        hyp_unschedule: Some(nop),
        hyp_backend_unschedule: Some(nop_unschedule),
        hyp_backend_schedule: Some(nop_schedule),
        hyp_lwproc_switch: None,
        hyp_lwproc_release: None,
        hyp_lwproc_rfork: None,
        hyp_lwproc_newlwp: Some(nop_newlwp),
        hyp_lwproc_curlwp: None,
        hyp_syscall: None,
        hyp_lwpexit: None,
        hyp_execnotify: None,
        hyp_getpid: None,
        hyp_extra: [ptr::null_mut(); 8],
    };
    // SAFETY: a valid table.
    assert_eq!(unsafe { rumpuser_init(RUMPUSER_VERSION, &table) }, 0);
    // A rump kernel always runs several threads; with a second thread alive glibc takes its
    // multi-threaded paths (atomic locks) for the pthread side too, as it would there.
    let (_stop, parked) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let _ = parked.recv();
    });
    // SAFETY: an opaque marker value, never dereferenced.
    unsafe { rumpuser_curlwpop(rumpuser::abi::RUMPUSER_LWP_SET, 0x1000 as *mut Lwp) };

    println!(
        "{:<36} {:>10} {:>10} {:>9}",
        "operation (ns/op)", "rumpuser", "direct", "ratio"
    );

    let mut m = ptr::null_mut();
    // SAFETY: valid out-pointer; the mutex lives until the end of main.
    unsafe { rumpuser_mutex_init(&mut m, RUMPUSER_MTX_KMUTEX) };
    let mut pm = libc::PTHREAD_MUTEX_INITIALIZER;
    measure(
        "mutex enter+exit, uncontended",
        || {
            time(2_000_000, || {
                // SAFETY: `m` is a live mutex, entered and exited on this thread.
                unsafe {
                    rumpuser_mutex_enter(m);
                    rumpuser_mutex_exit(m);
                }
            })
        },
        || {
            time(2_000_000, || {
                // SAFETY: an initialised pthread mutex used on one thread.
                unsafe {
                    libc::pthread_mutex_lock(&mut pm);
                    libc::pthread_mutex_unlock(&mut pm);
                }
            })
        },
    );

    let mut rw = ptr::null_mut();
    // SAFETY: valid out-pointer; the lock lives until the end of main.
    unsafe { rumpuser_rw_init(&mut rw) };
    let mut prw = libc::PTHREAD_RWLOCK_INITIALIZER;
    measure(
        "rwlock read enter+exit, uncontended",
        || {
            time(2_000_000, || {
                // SAFETY: `rw` is a live lock, entered and exited on this thread.
                unsafe {
                    rumpuser_rw_enter(RUMPUSER_RW_READER, rw);
                    rumpuser_rw_exit(rw);
                }
            })
        },
        || {
            time(2_000_000, || {
                // SAFETY: an initialised pthread rwlock used on one thread.
                unsafe {
                    libc::pthread_rwlock_rdlock(&mut prw);
                    libc::pthread_rwlock_unlock(&mut prw);
                }
            })
        },
    );

    measure(
        "condvar ping-pong (round trip)",
        || rump_ping_pong(20_000),
        || pthread_ping_pong(20_000),
    );

    // Exited hosted threads are reused (see the hosted module docs).
    measure(
        "thread create+join",
        || {
            time(300, || {
                let mut cookie = ptr::null_mut();
                // SAFETY: a valid entry point that ends in rumpuser_thread_exit; joined once.
                unsafe {
                    assert_eq!(
                        rumpuser_thread_create(
                            Some(rump_thread_body),
                            ptr::null_mut(),
                            ptr::null(),
                            1,
                            -1,
                            -1,
                            &mut cookie
                        ),
                        0
                    );
                    assert_eq!(rumpuser_thread_join(cookie), 0);
                }
            })
        },
        || {
            time(300, || {
                let mut thread: libc::pthread_t = 0;
                // SAFETY: standard create/join of a thread that returns at once.
                unsafe {
                    assert_eq!(
                        libc::pthread_create(
                            &mut thread,
                            ptr::null(),
                            pthread_body,
                            ptr::null_mut()
                        ),
                        0
                    );
                    libc::pthread_join(thread, ptr::null_mut());
                }
            })
        },
    );

    for (size, align) in [(64usize, 0usize), (4096, 4096)] {
        measure(
            &format!("malloc+free {size} B (align {align})"),
            || {
                time(1_000_000, || {
                    let mut p = ptr::null_mut();
                    // SAFETY: allocation and matching free of the same length.
                    unsafe {
                        rumpuser_malloc(size, align as c_int, &mut p);
                        rumpuser_free(black_box(p), size);
                    }
                })
            },
            || {
                time(1_000_000, || {
                    let mut p = ptr::null_mut();
                    // SAFETY: matching posix_memalign/free.
                    unsafe {
                        libc::posix_memalign(&mut p, align.max(16), size);
                        libc::free(black_box(p));
                    }
                })
            },
        );
    }

    let mut key: libc::pthread_key_t = 0;
    // SAFETY: a valid out-pointer, no destructor; the key is set on this thread only.
    unsafe {
        libc::pthread_key_create(&mut key, None);
        libc::pthread_setspecific(key, 0x1000 as *const c_void);
    }
    measure(
        "curlwp",
        || {
            time(5_000_000, || {
                // SAFETY: no preconditions.
                black_box(unsafe { rumpuser_curlwp() });
            })
        },
        || {
            time(5_000_000, || {
                // SAFETY: `key` is a live key.
                black_box(unsafe { libc::pthread_getspecific(key) });
            })
        },
    );

    measure(
        "clock_gettime (monotonic)",
        || {
            time(2_000_000, || {
                let (mut sec, mut nsec) = (0i64, 0);
                // SAFETY: valid out-pointers.
                unsafe { rumpuser_clock_gettime(RUMPUSER_CLOCK_ABSMONO, &mut sec, &mut nsec) };
                black_box((sec, nsec));
            })
        },
        || {
            time(2_000_000, || {
                let mut ts = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                // SAFETY: valid out-pointer.
                unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
                black_box(ts);
            })
        },
    );
}
