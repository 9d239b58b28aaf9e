//! Signals: numbers, default actions, `sigaction` flags and layout, `si_code` values.
//!
//! Signal sets are the kernel's 64-bit mask (`sigset_t` of `rt_sigprocmask` with
//! `sigsetsize == 8`): signal `n` is bit `n - 1`. The frame built on the user stack for a
//! handler is in [`crate::signal_frame`].

use crate::bytes::{Reader, Writer};

pub const SIGHUP: u32 = 1;
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGABRT: u32 = 6;
pub const SIGIOT: u32 = SIGABRT;
pub const SIGBUS: u32 = 7;
pub const SIGFPE: u32 = 8;
pub const SIGKILL: u32 = 9;
pub const SIGUSR1: u32 = 10;
pub const SIGSEGV: u32 = 11;
pub const SIGUSR2: u32 = 12;
pub const SIGPIPE: u32 = 13;
pub const SIGALRM: u32 = 14;
pub const SIGTERM: u32 = 15;
pub const SIGSTKFLT: u32 = 16;
pub const SIGCHLD: u32 = 17;
pub const SIGCONT: u32 = 18;
pub const SIGSTOP: u32 = 19;
pub const SIGTSTP: u32 = 20;
pub const SIGTTIN: u32 = 21;
pub const SIGTTOU: u32 = 22;
pub const SIGURG: u32 = 23;
pub const SIGXCPU: u32 = 24;
pub const SIGXFSZ: u32 = 25;
pub const SIGVTALRM: u32 = 26;
pub const SIGPROF: u32 = 27;
pub const SIGWINCH: u32 = 28;
pub const SIGIO: u32 = 29;
pub const SIGPOLL: u32 = SIGIO;
pub const SIGPWR: u32 = 30;
pub const SIGSYS: u32 = 31;
/// First real-time signal as the kernel numbers them (C libraries reserve a few above it).
pub const SIGRTMIN: u32 = 32;
/// Last real-time signal.
pub const SIGRTMAX: u32 = 64;
/// Number of signals: valid signal numbers are `1..=NSIG`.
pub const NSIG: u32 = 64;

/// What happens to a process when a signal with the default disposition arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The process ends, killed by the signal.
    Terminate,
    /// The process ends and the wait status says a core was dumped.
    CoreDump,
    /// Nothing happens.
    Ignore,
    /// The process stops until `SIGCONT`.
    Stop,
    /// A stopped process resumes (and otherwise nothing happens).
    Continue,
}

/// The default action of `signal`, or `None` for a number outside `1..=NSIG`.
pub fn default_action(signal: u32) -> Option<Action> {
    Some(match signal {
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => Action::CoreDump,
        SIGCHLD | SIGURG | SIGWINCH => Action::Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => Action::Stop,
        SIGCONT => Action::Continue,
        1..=NSIG => Action::Terminate,
        _ => return None,
    })
}

const NAMES: [&str; 31] = [
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// The name of a classic signal (`"SIGINT"`), `"SIGRT"` for the real-time range, or `None`.
pub fn name(signal: u32) -> Option<&'static str> {
    match signal {
        SIGRTMIN..=SIGRTMAX => Some("SIGRT"),
        _ => NAMES.get((signal as usize).checked_sub(1)?).copied(),
    }
}

/// The bit of `signal` in a 64-bit signal set, or 0 for a number outside `1..=NSIG`.
pub const fn mask(signal: u32) -> u64 {
    if signal >= 1 && signal <= NSIG {
        1 << (signal - 1)
    } else {
        0
    }
}

/// Signals that can be neither caught, blocked nor ignored.
pub const UNBLOCKABLE: u64 = mask(SIGKILL) | mask(SIGSTOP);

// `sa_flags` bits.
/// Do not send `SIGCHLD` when a child stops or continues.
pub const SA_NOCLDSTOP: u64 = 0x1;
/// Children do not become zombies; `wait` finds none.
pub const SA_NOCLDWAIT: u64 = 0x2;
/// The handler takes `(signal, siginfo *, ucontext *)`.
pub const SA_SIGINFO: u64 = 0x4;
/// `sa_restorer` is valid: the return address pushed for the handler (x86_64 requires it).
pub const SA_RESTORER: u64 = 0x0400_0000;
/// Run the handler on the alternate signal stack.
pub const SA_ONSTACK: u64 = 0x0800_0000;
/// Restart interrupted system calls instead of failing them with `EINTR`.
pub const SA_RESTART: u64 = 0x1000_0000;
/// Do not block the signal while its handler runs.
pub const SA_NODEFER: u64 = 0x4000_0000;
/// Reset to `SIG_DFL` on delivery.
pub const SA_RESETHAND: u64 = 0x8000_0000;

// `how` of `rt_sigprocmask`.
pub const SIG_BLOCK: u32 = 0;
pub const SIG_UNBLOCK: u32 = 1;
pub const SIG_SETMASK: u32 = 2;

// Special handler values.
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;
pub const SIG_ERR: u64 = u64::MAX;

// `ss_flags` of the alternate signal stack (`sigaltstack`).
pub const SS_ONSTACK: i32 = 1;
pub const SS_DISABLE: i32 = 2;
pub const MINSIGSTKSZ: u64 = 2048;
pub const SIGSTKSZ: u64 = 8192;

// `si_code` values: who sent the signal, or why the kernel raised it.
/// Sent by `kill`.
pub const SI_USER: i32 = 0;
/// Sent by the kernel.
pub const SI_KERNEL: i32 = 0x80;
/// Sent by `sigqueue`.
pub const SI_QUEUE: i32 = -1;
/// A POSIX timer expired.
pub const SI_TIMER: i32 = -2;
/// Sent by `tkill` or `tgkill`.
pub const SI_TKILL: i32 = -6;
/// `SIGCHLD`: the child exited.
pub const CLD_EXITED: i32 = 1;
/// `SIGCHLD`: the child was killed.
pub const CLD_KILLED: i32 = 2;
/// `SIGCHLD`: the child was killed and dumped core.
pub const CLD_DUMPED: i32 = 3;
/// `SIGCHLD`: a traced child trapped.
pub const CLD_TRAPPED: i32 = 4;
/// `SIGCHLD`: the child stopped.
pub const CLD_STOPPED: i32 = 5;
/// `SIGCHLD`: the stopped child continued.
pub const CLD_CONTINUED: i32 = 6;
/// `SIGSEGV`: no mapping at the address.
pub const SEGV_MAPERR: i32 = 1;
/// `SIGSEGV`: the mapping forbids the access.
pub const SEGV_ACCERR: i32 = 2;
/// `SIGFPE`: integer divide by zero.
pub const FPE_INTDIV: i32 = 1;
/// `SIGFPE`: integer overflow.
pub const FPE_INTOVF: i32 = 2;
/// `SIGILL`: illegal opcode.
pub const ILL_ILLOPC: i32 = 1;
/// `SIGILL`: illegal operand.
pub const ILL_ILLOPN: i32 = 2;
/// `SIGBUS`: misaligned address.
pub const BUS_ADRALN: i32 = 1;
/// `SIGBUS`: the address has no backing (e.g. past the end of a mapped file).
pub const BUS_ADRERR: i32 = 2;
/// `SIGTRAP`: breakpoint.
pub const TRAP_BRKPT: i32 = 1;
/// `SIGTRAP`: single step.
pub const TRAP_TRACE: i32 = 2;

/// The x86_64 kernel's `struct sigaction` as `rt_sigaction` reads and writes it (32 bytes).
///
/// Not the C library's `struct sigaction`, whose mask is 128 bytes and whose field order
/// differs; `rt_sigaction` must be called with `sigsetsize == 8`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    /// `sa_handler` / `sa_sigaction`, or [`SIG_DFL`] / [`SIG_IGN`].
    pub handler: u64,
    /// `SA_*` bits.
    pub flags: u64,
    /// Where the handler returns to (a `rt_sigreturn` trampoline in the C library).
    pub restorer: u64,
    /// Signals blocked while the handler runs.
    pub mask: u64,
}

impl SigAction {
    /// Size in bytes.
    pub const SIZE: usize = 32;
    pub const HANDLER_OFFSET: usize = 0;
    pub const FLAGS_OFFSET: usize = 8;
    pub const RESTORER_OFFSET: usize = 16;
    pub const MASK_OFFSET: usize = 24;

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut bytes = [0; Self::SIZE];
        let mut writer = Writer::new(&mut bytes);
        writer.u64(Self::HANDLER_OFFSET, self.handler);
        writer.u64(Self::FLAGS_OFFSET, self.flags);
        writer.u64(Self::RESTORER_OFFSET, self.restorer);
        writer.u64(Self::MASK_OFFSET, self.mask);
        bytes
    }

    /// Decodes the structure from user memory; `None` if `bytes` is shorter than [`Self::SIZE`].
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let reader = Reader::new(bytes, Self::SIZE)?;
        Some(Self {
            handler: reader.u64(Self::HANDLER_OFFSET)?,
            flags: reader.u64(Self::FLAGS_OFFSET)?,
            restorer: reader.u64(Self::RESTORER_OFFSET)?,
            mask: reader.u64(Self::MASK_OFFSET)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_actions() {
        assert_eq!(default_action(SIGINT), Some(Action::Terminate));
        assert_eq!(default_action(SIGSEGV), Some(Action::CoreDump));
        assert_eq!(default_action(SIGCHLD), Some(Action::Ignore));
        assert_eq!(default_action(SIGWINCH), Some(Action::Ignore));
        assert_eq!(default_action(SIGTSTP), Some(Action::Stop));
        assert_eq!(default_action(SIGCONT), Some(Action::Continue));
        assert_eq!(default_action(SIGRTMIN + 3), Some(Action::Terminate));
        assert_eq!(default_action(0), None);
        assert_eq!(default_action(65), None);
    }

    #[test]
    fn names_and_masks() {
        assert_eq!(name(SIGHUP), Some("SIGHUP"));
        assert_eq!(name(SIGSYS), Some("SIGSYS"));
        assert_eq!(name(40), Some("SIGRT"));
        assert_eq!(name(0), None);
        assert_eq!(name(65), None);
        assert_eq!(mask(SIGHUP), 1);
        assert_eq!(mask(SIGRTMAX), 1 << 63);
        assert_eq!(mask(0), 0);
        assert_eq!(mask(65), 0);
        assert_eq!(UNBLOCKABLE, (1 << 8) | (1 << 18));
    }

    #[test]
    fn sigaction_round_trip() {
        let action = SigAction {
            handler: 0x40_1000,
            flags: SA_SIGINFO | SA_RESTORER | SA_RESTART,
            restorer: 0x40_2000,
            mask: mask(SIGINT),
        };
        let bytes = action.to_bytes();
        assert_eq!(&bytes[..8], &0x40_1000u64.to_le_bytes());
        assert_eq!(bytes[8..16], 0x1400_0004u64.to_le_bytes());
        assert_eq!(SigAction::from_bytes(&bytes), Some(action));
        assert_eq!(SigAction::from_bytes(&bytes[..31]), None);
    }
}
