//! Ring 3: the `syscall` entry, the first entry to user mode, per-thread user state on switches
//! (page-table root, FS base, ring-0 stack), and copies between kernel and user memory that
//! survive bad user pointers.
//!
//! What to do with a system call, a user fault or a return to user mode is decided above this
//! layer and handed in through [`set_hooks`].

use core::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};

use super::cpu;
use super::gdt::{KERNEL_CODE, USER_CODE, USER_DATA};
use super::percpu;
use super::traps::TrapFrame;

/// First address above the user half (Linux's `TASK_SIZE`: the last canonical low page stays
/// unmapped so that no user range touches the non-canonical hole).
pub const USER_END: u64 = 0x0000_7fff_ffff_f000;
/// The `vector` field of a frame built by `syscall` entry.
pub const SYSCALL_VECTOR: u64 = 0x100;

const IA32_EFER: u32 = 0xc000_0080;
const IA32_STAR: u32 = 0xc000_0081;
const IA32_LSTAR: u32 = 0xc000_0082;
const IA32_FMASK: u32 = 0xc000_0084;
const IA32_FS_BASE: u32 = 0xc000_0100;
const IA32_KERNEL_GS_BASE: u32 = 0xc000_0102;
const EFER_SYSCALL_ENABLE: u64 = 1;
/// RFLAGS bits cleared on `syscall`: IF, DF, TF, AC (SMAP stays enforced), NT.
const SYSCALL_FLAGS_MASK: u64 = 0x200 | 0x400 | 0x100 | 0x4_0000 | 0x4000;
/// RFLAGS of a fresh user context: IF and the always-one bit 1.
pub const INITIAL_USER_FLAGS: u64 = 0x202;

extern "C" {
    fn syscall_entry();
    fn user_enter(frame: *const TrapFrame) -> !;
    fn user_copy(destination: *mut u8, source: *const u8, length: usize) -> usize;
    static user_copy_instruction: u8;
    static user_copy_fixup: u8;
}

/// Whether `user_copy` brackets its access with `stac`/`clac` (SMAP on). Read by `user.S`.
#[no_mangle]
static user_access_uses_stac: AtomicU8 = AtomicU8::new(0);

/// What the layers above do with user-mode events. All run on the user thread's kernel stack.
#[derive(Clone, Copy)]
pub struct UserHooks {
    /// A `syscall` instruction: number in `rax`, arguments in `rdi rsi rdx r10 r8 r9`, result
    /// into `rax`. Runs with interrupts enabled.
    pub system_call: fn(&mut TrapFrame),
    /// A page fault on a user address, from user mode or from a user copy: returns true once
    /// the page is mapped (the access is retried). Interrupts are disabled; must not block.
    pub page_fault: fn(address: u64, error_code: u64) -> bool,
    /// Any other exception from user mode (or a page fault `page_fault` could not resolve):
    /// turns it into a signal. Interrupts are enabled.
    pub exception: fn(&mut TrapFrame, vector: u8, address: u64),
    /// Last stop before every return to user mode (signals, stops). Interrupts are enabled.
    pub before_return: fn(&mut TrapFrame),
}

static HOOKS: spin::Once<UserHooks> = spin::Once::new();
static KERNEL_ROOT: AtomicU64 = AtomicU64::new(0);
static SYSCALLS: AtomicUsize = AtomicUsize::new(0);

/// Installs the user-mode hooks (once, before the first process starts).
pub fn set_hooks(hooks: UserHooks) {
    HOOKS.call_once(|| hooks);
}

/// Records the kernel's page-table root: kernel threads run on it.
pub fn set_kernel_root(root: u64) {
    KERNEL_ROOT.store(root, Ordering::Release);
}

/// Prepares this CPU for user mode: `syscall` MSRs, the TSS whose ring-0 stack follows the
/// running thread, and an empty user GS base. Call after [`percpu::init_this_cpu`].
pub fn init_this_cpu(tss: u64, smap: bool) {
    let block = percpu::this();
    block.tss.store(tss, Ordering::Release);
    block
        .loaded_root
        .store(KERNEL_ROOT.load(Ordering::Acquire), Ordering::Relaxed);
    if smap {
        user_access_uses_stac.store(1, Ordering::Relaxed);
    }
    let star = (u64::from(USER_DATA.0 & !3) - 8) << 48 | u64::from(KERNEL_CODE.0) << 32;
    // SAFETY: enables `syscall` with an entry point that switches to a kernel stack before
    // touching memory; the selectors match this CPU's GDT; GS is swapped only on user entry.
    unsafe {
        cpu::write_msr(IA32_STAR, star);
        cpu::write_msr(IA32_LSTAR, syscall_entry as *const () as usize as u64);
        cpu::write_msr(IA32_FMASK, SYSCALL_FLAGS_MASK);
        cpu::write_msr(IA32_KERNEL_GS_BASE, 0);
        cpu::write_msr(IA32_EFER, cpu::read_msr(IA32_EFER) | EFER_SYSCALL_ENABLE);
    }
}

/// System calls taken since boot, all CPUs.
pub fn system_calls() -> usize {
    SYSCALLS.load(Ordering::Relaxed)
}

fn load_root(root: u64) {
    let block = percpu::this();
    if block.loaded_root.load(Ordering::Relaxed) != root {
        block.loaded_root.store(root, Ordering::Relaxed);
        // SAFETY: every root handed here maps the kernel half exactly as the kernel's own
        // (address spaces copy its top-level kernel entries, which never change after boot).
        unsafe { core::arch::asm!("mov cr3, {}", in(reg) root, options(nostack, preserves_flags)) };
    }
}

/// On a switch to a user thread: its page-table root, FS base and kernel stack.
/// Interrupts must be disabled.
pub fn activate(root: u64, fs_base: u64, kernel_stack_top: u64) {
    // A user thread has no address space until its first exec or fork copy installs one.
    load_root(if root == 0 {
        KERNEL_ROOT.load(Ordering::Acquire)
    } else {
        root
    });
    set_fs_base(fs_base);
    let block = percpu::this();
    block
        .kernel_stack_top
        .store(kernel_stack_top, Ordering::Relaxed);
    let tss = block.tss.load(Ordering::Relaxed);
    if tss != 0 {
        // SAFETY: `tss` is this CPU's live TSS (leaked at start-up); RSP0 is the unaligned
        // quadword at offset 4, read by the CPU only on the next ring 3 -> 0 transition.
        unsafe { core::ptr::write_unaligned((tss + 4) as *mut u64, kernel_stack_top) };
    }
}

/// On a switch to a kernel thread: back to the kernel's own page tables, so no CPU keeps an
/// address space loaded that its owner might free.
pub fn activate_kernel() {
    load_root(KERNEL_ROOT.load(Ordering::Acquire));
}

/// Loads a new root for the running thread (after `exec` replaced its address space).
pub fn switch_root(root: u64) {
    let interrupts_were_enabled = cpu::disable_interrupts();
    load_root(root);
    cpu::restore_interrupts(interrupts_were_enabled);
}

/// Sets the FS base of the running context (user TLS).
pub fn set_fs_base(value: u64) {
    // SAFETY: the kernel does not use FS; only user code sees this base.
    unsafe { cpu::write_msr(IA32_FS_BASE, value) };
}

/// Drops to user mode with the registers in `frame` (its `cs`/`ss` are forced to the user
/// selectors and its flags to interrupts-on, so no frame can enter ring 0).
pub fn enter(frame: &TrapFrame) -> ! {
    let mut frame = TrapFrame { ..*frame };
    sanitise(&mut frame);
    // SAFETY: the frame returns to ring 3 (selectors and flags forced above); the current
    // kernel stack is abandoned, and the thread's next kernel entry starts at its top again.
    unsafe { user_enter(&frame) }
}

/// Flags a user context may set (arithmetic flags, DF, TF, AC, ID); IOPL and the rest stay 0.
pub const USER_FLAGS_KEPT: u64 = 0x0000_0cd5 | 0x100 | 0x4_0000 | 0x20_0000;

/// A user address range that is not entirely user memory, or whose pages fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadAddress;

fn user_range_ok(address: u64, length: usize) -> bool {
    address
        .checked_add(length as u64)
        .is_some_and(|end| end <= USER_END)
}

/// Copies `destination.len()` bytes from user address `source`.
pub fn copy_from_user(destination: &mut [u8], source: u64) -> Result<(), BadAddress> {
    if destination.is_empty() {
        return Ok(());
    }
    if !user_range_ok(source, destination.len()) {
        return Err(BadAddress);
    }
    // SAFETY: the source range lies in the user half (checked); faults there resume at the
    // fixup, and the destination is a kernel slice of the given length.
    let left = unsafe {
        user_copy(
            destination.as_mut_ptr(),
            source as *const u8,
            destination.len(),
        )
    };
    if left == 0 {
        Ok(())
    } else {
        Err(BadAddress)
    }
}

/// Copies `source` to user address `destination`.
pub fn copy_to_user(destination: u64, source: &[u8]) -> Result<(), BadAddress> {
    if source.is_empty() {
        return Ok(());
    }
    if !user_range_ok(destination, source.len()) {
        return Err(BadAddress);
    }
    // SAFETY: as in `copy_from_user`, with the roles swapped.
    let left = unsafe { user_copy(destination as *mut u8, source.as_ptr(), source.len()) };
    if left == 0 {
        Ok(())
    } else {
        Err(BadAddress)
    }
}

fn hooks() -> Option<&'static UserHooks> {
    HOOKS.get()
}

/// Called by `trap_dispatch` for exceptions. Returns true when handled (the frame is resumed).
pub(super) fn handle_exception(frame: &mut TrapFrame, vector: u8, cr2: Option<u64>) -> bool {
    let Some(hooks) = hooks() else { return false };
    let from_user = frame.cs & 3 == 3;
    if vector == 14 {
        let address = cr2.unwrap_or(0);
        // SAFETY: taking the address of a label in `user.S`.
        let copy_rip = unsafe { &user_copy_instruction as *const u8 as u64 };
        let in_copy = !from_user && frame.rip == copy_rip;
        if address < USER_END && (from_user || in_copy) {
            if (hooks.page_fault)(address, frame.error_code) {
                if from_user {
                    returning_to_user(frame);
                }
                return true;
            }
            if in_copy {
                // SAFETY: as above.
                frame.rip = unsafe { &user_copy_fixup as *const u8 as u64 };
                return true;
            }
        }
    }
    if !from_user {
        return false;
    }
    cpu::enable_interrupts();
    (hooks.exception)(frame, vector, cr2.unwrap_or(0));
    returning_to_user(frame);
    true
}

/// Called by `trap_dispatch` after an interrupt that arrived in user mode.
pub(super) fn returning_to_user(frame: &mut TrapFrame) {
    if let Some(hooks) = hooks() {
        cpu::enable_interrupts();
        (hooks.before_return)(frame);
    }
    sanitise(frame);
}

/// Whatever the layers above wrote into a frame (exec, signal return), `iretq` must not fault
/// in ring 0: user selectors, user flags, and an instruction pointer in the user half (an
/// address beyond it becomes 0, so the process takes an ordinary page fault instead).
fn sanitise(frame: &mut TrapFrame) {
    frame.cs = u64::from(USER_CODE.0);
    frame.ss = u64::from(USER_DATA.0);
    frame.rflags = (frame.rflags & USER_FLAGS_KEPT) | INITIAL_USER_FLAGS;
    if frame.rip >= USER_END {
        frame.rip = 0;
    }
    if frame.rsp >= USER_END {
        frame.rsp = 0;
    }
}

/// A system call's frame, from `trap_dispatch`.
pub(super) fn syscall_dispatch(frame: &mut TrapFrame) {
    SYSCALLS.fetch_add(1, Ordering::Relaxed);
    cpu::enable_interrupts();
    match hooks() {
        Some(hooks) => (hooks.system_call)(frame),
        None => frame.rax = (-38i64) as u64, // ENOSYS: nothing above handles system calls
    }
    returning_to_user(frame);
}
