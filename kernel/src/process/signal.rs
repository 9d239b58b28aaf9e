//! Signals: actions, pending and blocked sets, delivery on the way back to user mode (a Linux
//! x86_64 `rt_sigframe` on the user stack), `rt_sigreturn`, default actions (terminate, core,
//! stop, continue, ignore), CPU exceptions turned into SIGSEGV/SIGBUS/SIGFPE/SIGILL/SIGTRAP, and
//! the interruptible sleeps that let a signal end a blocking system call.

use alloc::sync::Arc;

use linux_abi::signal as s;

use super::{Errno, Process};
use crate::arch::fpu::{restore_legacy, save_legacy, LegacyImage};
use crate::arch::traps::TrapFrame;
use crate::arch::user::SYSCALL_VECTOR;
use crate::sched::wait::WaitQueue;

/// Highest signal number.
pub const MAX_SIGNAL: u32 = 64;
const SIG_DFL: u64 = 0;
const SIG_IGN: u64 = 1;

/// Internal "restart the system call" results (never seen by user code).
pub const ERESTARTSYS: i64 = 512;
pub const ERESTARTNOHAND: i64 = 514;

/// One signal's disposition (the kernel `struct sigaction`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Action {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// Who sent a signal, for `siginfo`.
#[derive(Debug, Clone, Copy)]
pub enum Origin {
    /// kill/tgkill/tty: si_code SI_USER (or SI_TKILL) from `pid`.
    User { pid: u32, code: i32 },
    /// The kernel itself (SIGPIPE, SIGTTOU ...).
    Kernel,
    /// A CPU exception at `address`.
    Fault { code: i32, address: u64 },
    /// A child changed state.
    Child { pid: u32, code: i32, status: u32 },
}

/// The default action (numbers outside 1..=64 never reach here; treat them as terminating).
fn default_action(signal: u32) -> s::Action {
    s::default_action(signal).unwrap_or(s::Action::Terminate)
}

fn bit(signal: u32) -> u64 {
    1u64 << (signal - 1)
}

const UNBLOCKABLE: u64 = (1 << (s::SIGKILL - 1)) | (1 << (s::SIGSTOP - 1));

/// A process's signal state.
pub struct Signals {
    actions: [Action; MAX_SIGNAL as usize + 1],
    origins: [Option<Origin>; MAX_SIGNAL as usize + 1],
    pending: u64,
    pub blocked: u64,
    /// The mask to restore after `rt_sigsuspend`/`pselect6` once a handler ran.
    pub saved_mask: Option<u64>,
    /// `sigaltstack`: base and size of the alternate signal stack.
    pub alternate_stack: Option<(u64, u64)>,
}

impl Signals {
    pub fn new() -> Self {
        Self {
            actions: [Action::default(); MAX_SIGNAL as usize + 1],
            origins: [None; MAX_SIGNAL as usize + 1],
            pending: 0,
            blocked: 0,
            saved_mask: None,
            alternate_stack: None,
        }
    }

    /// A child's copy: same actions and mask, nothing pending.
    pub fn for_child(&self) -> Self {
        Self {
            actions: self.actions,
            origins: [None; MAX_SIGNAL as usize + 1],
            pending: 0,
            blocked: self.blocked,
            saved_mask: None,
            alternate_stack: self.alternate_stack,
        }
    }

    /// Handlers go back to the default after exec (ignored signals stay ignored).
    pub fn reset_for_exec(&mut self) {
        self.alternate_stack = None;
        for action in self.actions.iter_mut() {
            if action.handler != SIG_IGN {
                *action = Action::default();
            }
        }
    }

    pub fn action(&self, signal: u32) -> Action {
        self.actions[signal as usize]
    }

    pub fn set_action(&mut self, signal: u32, action: Action) {
        self.actions[signal as usize] = action;
        if self.ignores(signal) {
            self.pending &= !bit(signal);
        }
    }

    fn ignores(&self, signal: u32) -> bool {
        let action = self.actions[signal as usize];
        action.handler == SIG_IGN
            || (action.handler == SIG_DFL && default_action(signal) == s::Action::Ignore)
    }

    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// A signal that would interrupt a sleep: pending and not blocked.
    pub fn has_deliverable(&self) -> bool {
        self.pending & !(self.blocked & !UNBLOCKABLE) != 0
    }

    pub fn kill_pending(&self) -> bool {
        self.pending & bit(s::SIGKILL) != 0
    }

    fn next_deliverable(&mut self) -> Option<(u32, Option<Origin>)> {
        let ready = self.pending & !(self.blocked & !UNBLOCKABLE);
        if ready == 0 {
            return None;
        }
        // SIGKILL first, then the lowest number (Linux delivers synchronous faults first; they
        // are raised right before return anyway).
        let signal = if ready & bit(s::SIGKILL) != 0 {
            s::SIGKILL
        } else {
            ready.trailing_zeros() + 1
        };
        self.pending &= !bit(signal);
        Some((signal, self.origins[signal as usize].take()))
    }
}

impl Default for Signals {
    fn default() -> Self {
        Self::new()
    }
}

/// Linux `si_code` for a child's wait status.
pub fn child_code(status: u32) -> i32 {
    if status & 0x7f == 0 {
        s::CLD_EXITED
    } else if status & 0x80 != 0 {
        s::CLD_DUMPED
    } else {
        s::CLD_KILLED
    }
}

fn is_stop_signal(signal: u32) -> bool {
    matches!(signal, s::SIGSTOP | s::SIGTSTP | s::SIGTTIN | s::SIGTTOU)
}

/// Makes `signal` pending for `process` (0 only checks permission: nothing to do here).
pub fn send(process: &Arc<Process>, signal: u32, origin: Origin) {
    if signal == 0
        || signal > MAX_SIGNAL
        || matches!(process.state(), super::RunState::Zombie { .. })
    {
        return;
    }
    {
        let mut signals = process.signals.lock();
        if signal == s::SIGCONT {
            for stop in [s::SIGSTOP, s::SIGTSTP, s::SIGTTIN, s::SIGTTOU] {
                signals.pending &= !bit(stop);
            }
        } else if is_stop_signal(signal) {
            signals.pending &= !bit(s::SIGCONT);
        }
        if signal == s::SIGKILL || !signals.ignores(signal) || signals.blocked & bit(signal) != 0 {
            signals.pending |= bit(signal);
            signals.origins[signal as usize] = Some(origin);
        }
    }
    if signal == s::SIGCONT || signal == s::SIGKILL {
        super::continue_process(process);
    }
    process.interrupt();
}

/// Sends `signal` to the calling process.
pub fn send_to_self(signal: u32) {
    if let Some(process) = super::current_arc() {
        send(&process, signal, Origin::Kernel);
    }
}

/// Why an interruptible sleep ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitError {
    Interrupted,
}

impl WaitError {
    /// The system-call result: restart after the handler if SA_RESTART says so, else EINTR.
    pub fn errno(self) -> Errno {
        Errno(ERESTARTSYS as i32)
    }
}

/// How often a process sleeping on a queue the signal sender does not wake (a pipe's, the
/// terminal's) re-checks for signals: a signal raised between its check and its sleep is seen
/// within this time even though that wake-up was missed.
const SIGNAL_RECHECK_NANOS: u64 = 50_000_000;

/// Sleeps on `queue` until `ready()` holds or a signal is deliverable.
pub fn wait_interruptible(
    process: &Process,
    queue: &WaitQueue,
    ready: impl FnMut() -> bool,
) -> Result<(), WaitError> {
    wait_interruptible_until(process, queue, None, ready).map(|_| ())
}

/// As [`wait_interruptible`] with a deadline (monotonic nanoseconds): `Ok(false)` on timeout.
pub fn wait_interruptible_until(
    process: &Process,
    queue: &WaitQueue,
    deadline: Option<u64>,
    mut ready: impl FnMut() -> bool,
) -> Result<bool, WaitError> {
    loop {
        if ready() {
            return Ok(true);
        }
        if process.signals.lock().has_deliverable() {
            return Err(WaitError::Interrupted);
        }
        let now = crate::time::monotonic_nanos();
        if deadline.is_some_and(|d| now >= d) {
            return Ok(false);
        }
        // `Process::interrupt` wakes the process's own queues after a signal is made pending,
        // and `wait_once` checks under the queue's lock, so there a wake-up cannot be missed
        // and no periodic re-check is needed (hundreds of processes sleeping in `wait4` would
        // otherwise wake twenty times a second each).
        let own_queue = core::ptr::eq(queue, &process.child_events)
            || core::ptr::eq(queue, &process.signal_events);
        let until = if own_queue {
            deadline
        } else {
            let recheck = now + SIGNAL_RECHECK_NANOS;
            Some(deadline.map_or(recheck, |d| d.min(recheck)))
        };
        queue.wait_once(until, || {
            ready() || process.signals.lock().has_deliverable()
        });
    }
}

// Offsets in the x86_64 `rt_sigframe` (see linux_abi::signal for the layout).
const FRAME_UCONTEXT: u64 = 8;
const UC_STACK: u64 = 16;
const UC_MCONTEXT: u64 = 40;
const UC_SIGMASK: u64 = 296;
const UCONTEXT_SIZE: u64 = 304;
const FRAME_SIGINFO: u64 = FRAME_UCONTEXT + UCONTEXT_SIZE;
const FRAME_SIZE: u64 = FRAME_SIGINFO + 128;
const MC_FPSTATE: u64 = 184 + 40;

fn encode_siginfo(signal: u32, origin: Option<Origin>) -> [u8; 128] {
    let mut info = [0u8; 128];
    info[0..4].copy_from_slice(&(signal as i32).to_le_bytes());
    let code = match origin {
        Some(
            Origin::User { code, .. } | Origin::Fault { code, .. } | Origin::Child { code, .. },
        ) => code,
        Some(Origin::Kernel) | None => s::SI_KERNEL,
    };
    info[8..12].copy_from_slice(&code.to_le_bytes());
    // The union starts at offset 16: pid and uid; or the fault address; or pid, uid, status.
    match origin {
        Some(Origin::User { pid, .. }) => info[16..20].copy_from_slice(&pid.to_le_bytes()),
        Some(Origin::Child { pid, code, status }) => {
            let value = if code == s::CLD_EXITED {
                (status >> 8) & 0xff
            } else {
                status & 0x7f
            };
            info[16..20].copy_from_slice(&pid.to_le_bytes());
            info[24..28].copy_from_slice(&value.to_le_bytes());
        }
        Some(Origin::Fault { address, .. }) => info[16..24].copy_from_slice(&address.to_le_bytes()),
        Some(Origin::Kernel) | None => {}
    }
    info
}

fn registers_of(frame: &TrapFrame) -> [u64; 18] {
    [
        frame.r8,
        frame.r9,
        frame.r10,
        frame.r11,
        frame.r12,
        frame.r13,
        frame.r14,
        frame.r15,
        frame.rdi,
        frame.rsi,
        frame.rbp,
        frame.rbx,
        frame.rdx,
        frame.rax,
        frame.rcx,
        frame.rsp,
        frame.rip,
        frame.rflags,
    ]
}

/// Builds the signal frame on the user stack and points `frame` at the handler.
fn setup_frame(
    process: &Process,
    frame: &mut TrapFrame,
    signal: u32,
    origin: Option<Origin>,
    action: Action,
    old_mask: u64,
) -> Result<(), Errno> {
    // SA_ONSTACK with an alternate stack set up, and not already on it: start at its top.
    let alternate = process.signals.lock().alternate_stack;
    let on_alternate =
        alternate.is_some_and(|(base, size)| (base..base + size).contains(&frame.rsp));
    let mut sp = match alternate {
        Some((base, size)) if action.flags & s::SA_ONSTACK != 0 && !on_alternate => base + size,
        // Below the red zone of the interrupted code.
        _ => frame.rsp.checked_sub(128).ok_or(Errno::EFAULT)?,
    };
    // The FPU image 64-byte aligned; the frame so that rsp + 8 is 16-aligned at handler entry,
    // as after a call.
    sp = (sp.checked_sub(512).ok_or(Errno::EFAULT)?) & !63;
    let fpstate = sp;
    let frame_address = ((sp - FRAME_SIZE) & !15) - 8;

    let mut image = LegacyImage([0; 512]);
    save_legacy(&mut image);
    super::usermem::write_bytes(fpstate, &image.0)?;

    let mut bytes = alloc::vec![0u8; FRAME_SIZE as usize];
    bytes[0..8].copy_from_slice(&action.restorer.to_le_bytes());
    let uc = FRAME_UCONTEXT as usize;
    // uc_flags, uc_link: 0; uc_stack: no alternate stack (ss_flags = SS_DISABLE).
    bytes[uc + UC_STACK as usize + 8..uc + UC_STACK as usize + 12]
        .copy_from_slice(&2i32.to_le_bytes());
    let mc = uc + UC_MCONTEXT as usize;
    for (i, value) in registers_of(frame).iter().enumerate() {
        bytes[mc + i * 8..mc + i * 8 + 8].copy_from_slice(&value.to_le_bytes());
    }
    // cs, gs, fs, ss (u16 each) at 144.
    bytes[mc + 144..mc + 146].copy_from_slice(&(frame.cs as u16).to_le_bytes());
    bytes[mc + 150..mc + 152].copy_from_slice(&(frame.ss as u16).to_le_bytes());
    bytes[mc + 152..mc + 160].copy_from_slice(&frame.error_code.to_le_bytes());
    bytes[mc + 160..mc + 168].copy_from_slice(&frame.vector.min(255).to_le_bytes());
    bytes[mc + 168..mc + 176].copy_from_slice(&old_mask.to_le_bytes());
    if let Some(Origin::Fault { address, .. }) = origin {
        bytes[mc + 176..mc + 184].copy_from_slice(&address.to_le_bytes());
    }
    bytes[uc + MC_FPSTATE as usize..uc + MC_FPSTATE as usize + 8]
        .copy_from_slice(&fpstate.to_le_bytes());
    bytes[uc + UC_SIGMASK as usize..uc + UC_SIGMASK as usize + 8]
        .copy_from_slice(&old_mask.to_le_bytes());
    let info = encode_siginfo(signal, origin);
    bytes[FRAME_SIGINFO as usize..].copy_from_slice(&info);
    super::usermem::write_bytes(frame_address, &bytes)?;

    frame.rsp = frame_address;
    frame.rip = action.handler;
    frame.rdi = u64::from(signal);
    frame.rsi = frame_address + FRAME_SIGINFO;
    frame.rdx = frame_address + FRAME_UCONTEXT;
    frame.rax = 0;
    frame.rflags &= !(0x400 | 0x100); // DF and TF clear in the handler
    frame.vector = 0;
    Ok(())
}

/// `rt_sigreturn`: restores the context saved when the handler was entered (rsp points at the
/// ucontext).
pub fn sigreturn(process: &Process, frame: &mut TrapFrame) -> Result<(), Errno> {
    let ucontext = frame.rsp;
    let bytes = super::usermem::read_bytes(ucontext, UCONTEXT_SIZE as usize)?;
    let word =
        |offset: usize| u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap_or([0; 8]));
    let mc = UC_MCONTEXT as usize;
    let r: alloc::vec::Vec<u64> = (0..18).map(|i| word(mc + i * 8)).collect();
    frame.r8 = r[0];
    frame.r9 = r[1];
    frame.r10 = r[2];
    frame.r11 = r[3];
    frame.r12 = r[4];
    frame.r13 = r[5];
    frame.r14 = r[6];
    frame.r15 = r[7];
    frame.rdi = r[8];
    frame.rsi = r[9];
    frame.rbp = r[10];
    frame.rbx = r[11];
    frame.rdx = r[12];
    frame.rax = r[13];
    frame.rcx = r[14];
    frame.rsp = r[15];
    frame.rip = r[16];
    // Only the flags user code may change; the arch exit forces the selectors.
    frame.rflags =
        (r[17] & crate::arch::user::USER_FLAGS_KEPT) | crate::arch::user::INITIAL_USER_FLAGS;
    frame.vector = 0;
    let fpstate = word(MC_FPSTATE as usize);
    if fpstate != 0 {
        let mut image = LegacyImage([0; 512]);
        super::usermem::read_into(fpstate, &mut image.0)?;
        restore_legacy(&mut image);
    }
    let mask = word(UC_SIGMASK as usize) & !UNBLOCKABLE;
    process.signals.lock().blocked = mask;
    Ok(())
}

/// Delivers pending signals before a return to user mode; handles restarts of interrupted
/// system calls. Called with interrupts enabled on the process's own thread.
pub fn before_return(frame: &mut TrapFrame) {
    let Some(process) = super::current_arc() else {
        return;
    };
    let in_syscall = frame.vector == SYSCALL_VECTOR;
    let result = frame.rax as i64;
    let restartable = in_syscall && (result == -ERESTARTSYS || result == -ERESTARTNOHAND);
    let mut handled_restart = false;
    loop {
        let next = process.signals.lock().next_deliverable();
        let Some((signal, origin)) = next else { break };
        let action = process.signals.lock().action(signal);
        if action.handler == SIG_IGN && signal != s::SIGKILL {
            continue;
        }
        if action.handler == SIG_DFL || signal == s::SIGKILL || signal == s::SIGSTOP {
            match default_action(signal) {
                s::Action::Ignore | s::Action::Continue => continue,
                s::Action::Stop => {
                    super::stop_current(&process, signal);
                    continue;
                }
                s::Action::Terminate | s::Action::CoreDump => {
                    // No core file is written (RLIMIT_CORE is 0), so the status never
                    // claims one, as on Linux with `ulimit -c 0`.
                    let status = signal;
                    drop(process);
                    super::exit_current(status);
                }
            }
        }
        // A handler: restart or EINTR for an interrupted call, then the frame.
        if restartable && !handled_restart {
            handled_restart = true;
            if result == -ERESTARTSYS && action.flags & s::SA_RESTART != 0 {
                frame.rax = frame.error_code;
                frame.rip -= 2;
            } else {
                frame.rax = (-(Errno::EINTR.0 as i64)) as u64;
            }
        }
        let old_mask = {
            let mut signals = process.signals.lock();
            let old = signals.saved_mask.take().unwrap_or(signals.blocked);
            let mut block = action.mask;
            if action.flags & s::SA_NODEFER == 0 {
                block |= bit(signal);
            }
            signals.blocked = (signals.blocked | block) & !UNBLOCKABLE;
            if action.flags & s::SA_RESETHAND != 0 {
                signals.actions[signal as usize] = Action::default();
            }
            old
        };
        if setup_frame(&process, frame, signal, origin, action, old_mask).is_err() {
            // No room for the frame: the process cannot handle it; Linux kills with SIGSEGV.
            drop(process);
            super::exit_current(s::SIGSEGV);
        }
        break;
    }
    if restartable && !handled_restart {
        // Nothing ran a handler (the signal was ignored, or stopped and continued): restart.
        frame.rax = frame.error_code;
        frame.rip -= 2;
    }
    if let Some(mask) = process.signals.lock().saved_mask.take() {
        process.signals.lock().blocked = mask;
    }
    frame.vector = 0;
}

/// A CPU exception in user mode becomes the signal Linux would send. The signal is forced:
/// blocked or ignored, it terminates the process (as Linux does for synchronous faults).
pub fn user_exception(frame: &mut TrapFrame, vector: u8, address: u64) {
    let Some(process) = super::current_arc() else {
        return;
    };
    let (signal, code, fault_address): (u32, i32, u64) = match vector {
        0 => (s::SIGFPE, s::FPE_INTDIV, frame.rip),
        1 | 3 => (s::SIGTRAP, s::SI_KERNEL, frame.rip),
        6 => (s::SIGILL, s::ILL_ILLOPN, frame.rip),
        16 | 19 => (s::SIGFPE, 0, frame.rip),
        17 => (s::SIGBUS, s::BUS_ADRALN, address),
        14 => match super::memory::classify_fault(address, frame.error_code) {
            super::memory::FaultKind::Unmapped => (s::SIGSEGV, s::SEGV_MAPERR, address),
            super::memory::FaultKind::Protection => (s::SIGSEGV, s::SEGV_ACCERR, address),
            super::memory::FaultKind::OutOfMemory => {
                log::warn!(
                    "pid {} ({}): out of memory at {address:#x}; killed",
                    process.pid,
                    process.name()
                );
                drop(process);
                super::exit_current(s::SIGKILL);
            }
        },
        _ => (s::SIGSEGV, s::SI_KERNEL, 0),
    };
    log::info!(
        "pid {} ({}): {} at rip {:#x}{}",
        process.pid,
        process.name(),
        s::name(signal).unwrap_or("signal"),
        frame.rip,
        if vector == 14 {
            alloc::format!(", address {address:#x}")
        } else {
            alloc::string::String::new()
        }
    );
    {
        let mut signals = process.signals.lock();
        let action = signals.action(signal);
        if action.handler == SIG_IGN || signals.blocked & bit(signal) != 0 {
            signals.actions[signal as usize] = Action::default();
            signals.blocked &= !bit(signal);
        }
    }
    send(
        &process,
        signal,
        Origin::Fault {
            code,
            address: fault_address,
        },
    );
    drop(process);
}
