//! In-kernel test runner: tests register through a linker section, run in order, print one line
//! each, then a `N passed, N failed` line, and the kernel leaves QEMU through `isa-debug-exit`.
//!
//! A test returns `Err(message)` to fail; a panic stops the run (the host runner reports which
//! test was running, since its `test NAME ...` line is the last one printed).
//!
//! May import: `arch`, `boot`, `console`, `interrupts`, `mm`, `pci`, `qemu`, `sched`, `sync`, `time`. Modules above register their in-kernel tests through `kernel_test!`.

mod cases;
mod sched_bench;
mod sched_cases;

use alloc::string::String;

/// One registered test.
#[repr(C)]
pub struct TestCase {
    pub name: &'static str,
    pub run: fn() -> Result<(), String>,
}

/// Registers a test: `kernel_test!(name, function)`.
#[macro_export]
macro_rules! kernel_test {
    ($name:ident, $function:path) => {
        const _: () = {
            // The test section is how tests register; placing a plain table entry there is the
            // testing module's business, even inside modules that deny unsafe code otherwise.
            #[allow(unsafe_code)]
            #[used]
            #[link_section = ".kernel_tests"]
            static TEST: $crate::testing::TestCase = $crate::testing::TestCase {
                name: stringify!($name),
                run: $function,
            };
        };
    };
}

extern "C" {
    // Declared as bytes: only their addresses are used.
    static __kernel_tests_start: u8;
    static __kernel_tests_end: u8;
}

/// All registered tests.
pub fn all() -> &'static [TestCase] {
    // SAFETY: the linker script brackets the `.kernel_tests` section, which only holds
    // `TestCase` statics emitted by `kernel_test!`, 8-byte aligned and contiguous.
    unsafe {
        let start = &__kernel_tests_start as *const u8 as *const TestCase;
        let end = &__kernel_tests_end as *const u8 as *const TestCase;
        let count = (end as usize - start as usize) / core::mem::size_of::<TestCase>();
        core::slice::from_raw_parts(start, count)
    }
}

/// Fails a test with a formatted message when the condition is false.
#[macro_export]
macro_rules! check {
    ($cond:expr, $($arg:tt)*) => {
        let condition: bool = $cond;
        if !condition {
            return Err(alloc::format!($($arg)*));
        }
    };
}

/// Runs every test whose name starts with `filter` and exits QEMU with the result.
pub fn run(filter: &str) -> ! {
    let mut passed = 0;
    let mut failed = 0;
    crate::println!("running kernel tests (filter '{filter}')");
    // `probe_*` and `bench_*` entries measure the machine rather than test the kernel, and
    // `device_*` entries need devices the default machine lacks: only run when named.
    let selected = |t: &&TestCase| {
        t.name.starts_with(filter)
            && ["probe_", "bench_", "device_"]
                .iter()
                .all(|p| !t.name.starts_with(p) || filter.starts_with(p))
    };
    let mut tests: alloc::vec::Vec<&TestCase> = all().iter().filter(selected).collect();
    tests.sort_by_key(|t| t.name);
    for test in tests {
        crate::println!("test {} ...", test.name);
        let start = crate::time::monotonic_nanos();
        match (test.run)() {
            Ok(()) => {
                passed += 1;
                crate::println!(
                    "test {} ... ok ({} us)",
                    test.name,
                    (crate::time::monotonic_nanos() - start) / 1000
                );
            }
            Err(message) => {
                failed += 1;
                crate::println!("test {} ... FAILED: {}", test.name, message);
            }
        }
    }
    crate::println!("{passed} passed, {failed} failed");
    crate::qemu::exit(if failed == 0 && passed > 0 {
        crate::qemu::ExitStatus::Success
    } else {
        crate::qemu::ExitStatus::TestsFailed
    });
    crate::arch::cpu::halt_forever()
}

/// Deliberate faults for the host runner's crash tests (`fault=NAME` on the command line).
pub fn trigger_fault(name: &str) -> ! {
    crate::println!("triggering deliberate fault '{name}'");
    match name {
        "guard-page" => {
            let guard = crate::mm::paging::kernel_sections().boot_stack_guard;
            // SAFETY: none — this write is meant to fault on the unmapped boot-stack guard page.
            unsafe { core::ptr::write_volatile((guard + 64) as *mut u64, 0xdead) };
        }
        "stack-overflow" => {
            let stack =
                crate::mm::stack::KernelStack::new(4, "overflow-test", 0).expect("test stack");
            // SAFETY: switches to a fresh, mapped kernel stack and recurses until its guard page
            // faults; nothing returns.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                core::arch::asm!("mov rsp, {}", "call {}", in(reg) stack.top(), sym recurse, options(noreturn))
            };
            // SAFETY: as above.
            #[cfg(target_arch = "aarch64")]
            unsafe {
                core::arch::asm!("mov sp, {}", "bl {}", in(reg) stack.top(), sym recurse, options(noreturn))
            };
        }
        "write-text" => {
            let text = crate::mm::paging::kernel_sections().text.0;
            // SAFETY: none — the kernel text is mapped read-only; this write must fault.
            unsafe { core::ptr::write_volatile((text + 0x100) as *mut u8, 0x90) };
        }
        "write-text-alias" => {
            let text = crate::mm::paging::kernel_sections().text.0;
            let alias = crate::mm::phys_to_virt(text - crate::mm::KERNEL_VMA);
            // SAFETY: none — the direct-map alias of kernel text is read-only; this must fault.
            unsafe { core::ptr::write_volatile((alias + 0x100) as *mut u8, 0x90) };
        }
        #[cfg(target_arch = "x86_64")]
        "kernel-reads-user-page" => {
            use crate::mm::paging::Flags;
            const USER_PAGE: u64 = 0x0000_0010_0000_0000;
            let frame = crate::mm::frames::allocate(1, 1, u64::MAX).expect("a frame");
            let flags =
                Flags::PRESENT | Flags::WRITABLE | Flags::USER_ACCESSIBLE | Flags::NO_EXECUTE;
            crate::mm::paging::map_page(USER_PAGE, frame, flags).expect("user page mapped");
            // SAFETY: none — with SMAP on, this kernel read of a user page must fault.
            unsafe { core::ptr::read_volatile(USER_PAGE as *const u64) };
            crate::println!("the kernel read a user page without a fault (SMAP is off)");
        }
        "general-protection" => {
            // SAFETY: none — a non-canonical address raises #GP, which is the point.
            unsafe { core::ptr::read_volatile(0x8000_0000_0000_0000u64 as *const u64) };
        }
        "panic" => panic!("deliberate test panic"),
        "thread-stack-overflow" => {
            let mut builder = crate::sched::Builder::new("deep-recursion");
            builder.stack_pages = 2;
            let handle = crate::sched::spawn(builder, || recurse(0)).expect("thread");
            handle.join();
        }
        "mutex-unlock-not-owner" => {
            let mutex = alloc::sync::Arc::new(crate::sched::mutex::RawMutex::new("shared-state"));
            let held = mutex.clone();
            crate::sched::spawn(crate::sched::Builder::new("owner"), move || {
                held.lock();
                0
            })
            .expect("thread")
            .join();
            mutex.unlock();
        }
        "mutex-recursive" => {
            let mutex = crate::sched::mutex::RawMutex::new("config");
            mutex.lock();
            mutex.lock();
        }
        "mutex-destroy-with-waiters" => {
            let mutex = alloc::boxed::Box::leak(alloc::boxed::Box::new(
                crate::sched::mutex::RawMutex::new("doomed"),
            ));
            mutex.lock();
            let pointer = mutex as *mut crate::sched::mutex::RawMutex as usize;
            let _waiter = crate::sched::spawn(crate::sched::Builder::new("waiter"), move || {
                // SAFETY: the mutex is leaked until the boot thread drops it deliberately below.
                unsafe { (*(pointer as *const crate::sched::mutex::RawMutex)).lock() };
                0
            })
            .expect("thread");
            crate::sched::sleep_until(crate::time::monotonic_nanos() + 20_000_000);
            // SAFETY: none — destroying a mutex with a waiter is the misuse being reported.
            unsafe { core::ptr::drop_in_place(pointer as *mut crate::sched::mutex::RawMutex) };
        }
        "sleep-in-spinlock" => {
            let lock = crate::sync::spin::IrqSpinLock::new("device-state", ());
            let _guard = lock.lock();
            crate::sched::sleep_until(crate::time::monotonic_nanos() + 1_000_000);
        }
        other => crate::println!("unknown fault '{other}'"),
    }
    panic!("deliberate fault '{name}' did not fault");
}

#[inline(never)]
#[expect(
    unconditional_recursion,
    reason = "recursing into the guard page is the test"
)]
extern "C" fn recurse(depth: u64) -> u64 {
    let mut buffer = [depth as u8; 512];
    // Keep the frame alive and the call out of tail position so it really recurses.
    core::hint::black_box(&mut buffer);
    recurse(depth + 1) + buffer[7] as u64
}
