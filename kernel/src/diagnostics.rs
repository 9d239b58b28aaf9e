//! Fatal-error reporting: the panic handler and CPU-exception reports, each with CPU, thread and
//! a frame-pointer backtrace, ending with a failing QEMU exit (never a silent triple fault).
//!
//! May import: `arch`, `console`, `mm`, `qemu`, `sched`.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch::cpu;
#[cfg(target_arch = "x86_64")]
use crate::arch::lapic;
use crate::arch::traps::{exception_name, TrapFrame};
use crate::console::emergency_print;
use crate::qemu::{self, ExitStatus};

static PANICKING: AtomicBool = AtomicBool::new(false);

macro_rules! report {
    ($($arg:tt)*) => { emergency_print(format_args!($($arg)*)) };
}

/// Index of the calling CPU (0 before the local APIC is up).
pub fn cpu_index() -> usize {
    if crate::arch::percpu::is_initialised() {
        return crate::arch::percpu::this().index;
    }
    #[cfg(target_arch = "x86_64")]
    if lapic::is_mapped() {
        return crate::arch::cpus::index_of_apic(lapic::id());
    }
    0
}

/// Name of what is running on this CPU, for reports.
pub fn current_context_name() -> crate::sched::ThreadName {
    if crate::sched::is_running() {
        crate::sched::current_name()
    } else {
        crate::sched::ThreadName::from_static("boot")
    }
}

fn plausible_frame(address: u64) -> bool {
    address.is_multiple_of(8)
        && address >= crate::mm::DIRECT_MAP_BASE
        && crate::mm::paging::translate(address).is_some()
}

/// Prints a frame-pointer backtrace starting at `rbp`.
pub fn print_backtrace(mut rbp: u64, first_return: Option<u64>) {
    report!("backtrace:\n");
    let mut depth = 0;
    if let Some(rip) = first_return {
        report!("  #{depth:<2} {rip:#018x}\n");
        depth += 1;
    }
    while depth < 32 && rbp != 0 && plausible_frame(rbp) && plausible_frame(rbp + 8) {
        // SAFETY: both words were checked to be mapped, aligned kernel memory above.
        let (next, return_address) = unsafe { (*(rbp as *const u64), *((rbp + 8) as *const u64)) };
        if return_address == 0 {
            break;
        }
        report!("  #{depth:<2} {return_address:#018x}\n");
        depth += 1;
        if next <= rbp {
            break; // frames must move up the stack; anything else is corruption or the end
        }
        rbp = next;
    }
}

fn finish(status: ExitStatus) -> ! {
    report!("kernel stopped.\n");
    qemu::exit(status);
    cpu::halt_forever()
}

/// Reports a CPU exception and stops the machine.
#[cfg(target_arch = "x86_64")]
pub fn fatal_exception(frame: &TrapFrame, cr2: Option<u64>) -> ! {
    if PANICKING.swap(true, Ordering::SeqCst) {
        report!(
            "\nnested fault (vector {}) while reporting; stopping\n",
            frame.vector
        );
        finish(ExitStatus::Panic);
    }
    let vector = frame.vector as u8;
    report!(
        "\n!!! CPU EXCEPTION: {} (vector {}) on cpu {} in thread '{}'\n",
        exception_name(vector),
        vector,
        cpu_index(),
        current_context_name()
    );
    report!("error code: {:#x}\n", frame.error_code);
    if let Some(address) = cr2 {
        let code = frame.error_code;
        if vector == 14 {
            report!(
                "page fault address (CR2): {address:#018x} [{}, {}, {}{}]\n",
                if code & 1 != 0 {
                    "protection violation"
                } else {
                    "page not present"
                },
                if code & 2 != 0 { "write" } else { "read" },
                if code & 16 != 0 {
                    "instruction fetch"
                } else {
                    "data access"
                },
                if code & 4 != 0 { ", user mode" } else { "" }
            );
        } else {
            report!("last page-fault address (CR2): {address:#018x}\n");
        }
        let described = describe_guard_hit(address);
        if !described && vector == 14 {
            let translation = crate::mm::paging::translate(address);
            if translation.is_some_and(|t| t.user) && code & 4 == 0 {
                if code & 16 != 0 {
                    report!("the kernel tried to execute a user page (stopped by SMEP)\n");
                } else {
                    report!("kernel access to a user page (stopped by SMAP)\n");
                }
            }
            if let Some(t) = translation {
                report!(
                    "the page is mapped ({}{})\n",
                    if t.writable { "writable" } else { "read-only" },
                    if t.executable {
                        ", executable"
                    } else {
                        ", no-execute"
                    }
                );
            }
        }
    }
    report!(
        "RIP {:#018x}  CS {:#x}  RFLAGS {:#x}\nRSP {:#018x}  SS {:#x}\n",
        frame.rip,
        frame.cs,
        frame.rflags,
        frame.rsp,
        frame.ss
    );
    report!(
        "RAX {:#018x} RBX {:#018x} RCX {:#018x} RDX {:#018x}\nRSI {:#018x} RDI {:#018x} RBP {:#018x} R8  {:#018x}\nR9  {:#018x} R10 {:#018x} R11 {:#018x} R12 {:#018x}\nR13 {:#018x} R14 {:#018x} R15 {:#018x}\n",
        frame.rax, frame.rbx, frame.rcx, frame.rdx, frame.rsi, frame.rdi, frame.rbp, frame.r8,
        frame.r9, frame.r10, frame.r11, frame.r12, frame.r13, frame.r14, frame.r15
    );
    print_backtrace(frame.rbp, Some(frame.rip));
    finish(ExitStatus::Panic)
}

/// Says whether `address` hit a stack's guard page; returns whether it did.
fn describe_guard_hit(address: u64) -> bool {
    let mut described = false;
    crate::mm::stack::describe_guard_hit(address, &mut |name, owner| {
        if owner == usize::MAX {
            report!("stack overflow: the address is in the guard page of stack '{name}'\n");
        } else {
            report!("stack overflow: the address is in the guard page of stack '{name}' (cpu {owner})\n");
        }
        described = true;
    });
    described
}

/// Reports an exception taken at EL1 (the ESR decoded) and stops the machine.
#[cfg(target_arch = "aarch64")]
pub fn fatal_exception(frame: &TrapFrame, fault_address: Option<u64>) -> ! {
    use crate::arch::traps::decode_abort;
    if PANICKING.swap(true, Ordering::SeqCst) {
        report!(
            "\nnested fault (ESR {:#x}) while reporting; stopping\n",
            frame.esr
        );
        finish(ExitStatus::Panic);
    }
    let class = frame.exception_class();
    report!(
        "\n!!! CPU EXCEPTION: {} (EC {:#04x}) on cpu {} in thread '{}'\n",
        exception_name(frame),
        class,
        cpu_index(),
        current_context_name()
    );
    report!("ESR_EL1: {:#x}\n", frame.esr);
    let is_abort = matches!(class, 0x20 | 0x21 | 0x24 | 0x25);
    if let (true, Some(address)) = (is_abort, fault_address) {
        let (status, level, write, instruction) = decode_abort(frame.esr);
        report!(
            "fault address (FAR_EL1): {address:#018x} [{status} at level {level}, {}]\n",
            if instruction {
                "instruction fetch"
            } else if write {
                "write"
            } else {
                "read"
            }
        );
        if !describe_guard_hit(address) {
            if let Some(t) = crate::mm::paging::translate(address) {
                report!(
                    "the page is mapped ({}{})\n",
                    if t.writable { "writable" } else { "read-only" },
                    if t.executable {
                        ", executable"
                    } else {
                        ", no-execute"
                    }
                );
            } else if address >> 48 != 0 && address >> 48 != 0xffff {
                report!("the address is outside both translation ranges (not canonical)\n");
            }
        }
    }
    report!(
        "ELR {:#018x}  SPSR {:#x}\nSP  {:#018x}  LR  {:#018x}\n",
        frame.elr,
        frame.spsr,
        frame.sp,
        frame.x[30]
    );
    for row in 0..8 {
        for column in 0..4 {
            let n = row * 4 + column;
            if n < 30 {
                report!("x{n:<2} {:#018x} ", frame.x[n]);
            }
        }
        report!("\n");
    }
    print_backtrace(frame.frame_pointer(), Some(frame.elr));
    finish(ExitStatus::Panic)
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    cpu::disable_interrupts();
    if PANICKING.swap(true, Ordering::SeqCst) {
        report!("\nnested panic: {}\n", info.message());
        finish(ExitStatus::Panic);
    }
    report!(
        "\n!!! KERNEL PANIC on cpu {} in thread '{}': {}\n",
        cpu_index(),
        current_context_name(),
        info.message()
    );
    if let Some(location) = info.location() {
        report!(
            "at {}:{}:{}\n",
            location.file(),
            location.line(),
            location.column()
        );
    }
    print_backtrace(cpu::frame_pointer(), None);
    finish(ExitStatus::Panic)
}
