//! Processes and threads: `clone` flags, `wait` options and status words, `arch_prctl`,
//! `prctl`, and futex operations.

// `clone` flags; the low byte is the signal sent to the parent when the child exits.
pub const CSIGNAL: u64 = 0xff;
pub const CLONE_VM: u64 = 0x100;
pub const CLONE_FS: u64 = 0x200;
pub const CLONE_FILES: u64 = 0x400;
pub const CLONE_SIGHAND: u64 = 0x800;
pub const CLONE_PIDFD: u64 = 0x1000;
pub const CLONE_PTRACE: u64 = 0x2000;
/// The parent sleeps until the child calls `execve` or exits.
pub const CLONE_VFORK: u64 = 0x4000;
pub const CLONE_PARENT: u64 = 0x8000;
pub const CLONE_THREAD: u64 = 0x1_0000;
pub const CLONE_NEWNS: u64 = 0x2_0000;
pub const CLONE_SYSVSEM: u64 = 0x4_0000;
/// The `tls` argument becomes the child's `fs` base.
pub const CLONE_SETTLS: u64 = 0x8_0000;
pub const CLONE_PARENT_SETTID: u64 = 0x10_0000;
/// Clear the child's tid word and wake a futex there when it exits.
pub const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
pub const CLONE_DETACHED: u64 = 0x40_0000;
pub const CLONE_UNTRACED: u64 = 0x80_0000;
pub const CLONE_CHILD_SETTID: u64 = 0x100_0000;
pub const CLONE_NEWCGROUP: u64 = 0x200_0000;
pub const CLONE_NEWUTS: u64 = 0x400_0000;
pub const CLONE_NEWIPC: u64 = 0x800_0000;
pub const CLONE_NEWUSER: u64 = 0x1000_0000;
pub const CLONE_NEWPID: u64 = 0x2000_0000;
pub const CLONE_NEWNET: u64 = 0x4000_0000;
pub const CLONE_IO: u64 = 0x8000_0000;

// `wait4` / `waitid` options.
pub const WNOHANG: u32 = 0x1;
pub const WUNTRACED: u32 = 0x2;
pub const WSTOPPED: u32 = WUNTRACED;
pub const WEXITED: u32 = 0x4;
pub const WCONTINUED: u32 = 0x8;
pub const WNOWAIT: u32 = 0x0100_0000;
pub const __WNOTHREAD: u32 = 0x2000_0000;
/// Wait for every child, whatever signal it reports its exit with.
pub const __WALL: u32 = 0x4000_0000;
pub const __WCLONE: u32 = 0x8000_0000;
// `idtype` of `waitid`.
pub const P_ALL: u32 = 0;
pub const P_PID: u32 = 1;
pub const P_PGID: u32 = 2;
pub const P_PIDFD: u32 = 3;

/// Wait status words as `wait4` stores them in `*wstatus`.
pub mod wait_status {
    /// The child called `exit(code)`; only the low 8 bits of `code` survive.
    pub const fn exited(code: i32) -> i32 {
        (code & 0xff) << 8
    }

    /// The child was killed by `signal`, with a core dump if `core_dumped`.
    pub const fn signaled(signal: u32, core_dumped: bool) -> i32 {
        (signal & 0x7f) as i32 | if core_dumped { 0x80 } else { 0 }
    }

    /// The child stopped on `signal`.
    pub const fn stopped(signal: u32) -> i32 {
        (((signal & 0xff) as i32) << 8) | 0x7f
    }

    /// The stopped child continued.
    pub const fn continued() -> i32 {
        0xffff
    }
}

// `arch_prctl` codes.
pub const ARCH_SET_GS: u32 = 0x1001;
pub const ARCH_SET_FS: u32 = 0x1002;
pub const ARCH_GET_FS: u32 = 0x1003;
pub const ARCH_GET_GS: u32 = 0x1004;
pub const ARCH_GET_CPUID: u32 = 0x1011;
pub const ARCH_SET_CPUID: u32 = 0x1012;

// `prctl` options most programs use.
pub const PR_SET_PDEATHSIG: u32 = 1;
pub const PR_GET_PDEATHSIG: u32 = 2;
pub const PR_GET_DUMPABLE: u32 = 3;
pub const PR_SET_DUMPABLE: u32 = 4;
/// Thread name, at most 16 bytes including the NUL.
pub const PR_SET_NAME: u32 = 15;
pub const PR_GET_NAME: u32 = 16;
pub const PR_GET_SECCOMP: u32 = 21;
pub const PR_SET_SECCOMP: u32 = 22;
pub const PR_CAPBSET_READ: u32 = 23;
pub const PR_SET_CHILD_SUBREAPER: u32 = 36;
pub const PR_GET_CHILD_SUBREAPER: u32 = 37;
pub const PR_SET_NO_NEW_PRIVS: u32 = 38;
pub const PR_GET_NO_NEW_PRIVS: u32 = 39;

// Futex operations (the low bits of `op`) and modifiers.
pub const FUTEX_WAIT: u32 = 0;
pub const FUTEX_WAKE: u32 = 1;
pub const FUTEX_FD: u32 = 2;
pub const FUTEX_REQUEUE: u32 = 3;
pub const FUTEX_CMP_REQUEUE: u32 = 4;
pub const FUTEX_WAKE_OP: u32 = 5;
pub const FUTEX_LOCK_PI: u32 = 6;
pub const FUTEX_UNLOCK_PI: u32 = 7;
pub const FUTEX_TRYLOCK_PI: u32 = 8;
pub const FUTEX_WAIT_BITSET: u32 = 9;
pub const FUTEX_WAKE_BITSET: u32 = 10;
/// The futex is not shared between processes.
pub const FUTEX_PRIVATE_FLAG: u32 = 128;
/// `FUTEX_WAIT_BITSET`: the timeout is against `CLOCK_REALTIME`.
pub const FUTEX_CLOCK_REALTIME: u32 = 256;
/// Mask that leaves the operation without modifiers.
pub const FUTEX_CMD_MASK: u32 = !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
/// The bitset plain `FUTEX_WAIT`/`FUTEX_WAKE` use.
pub const FUTEX_BITSET_MATCH_ANY: u32 = u32::MAX;

#[cfg(test)]
mod tests {
    use super::wait_status::*;
    use super::*;

    #[test]
    fn wait_status_words() {
        // The C macros read these back: WIFEXITED is (status & 0x7f) == 0, WEXITSTATUS is
        // (status >> 8) & 0xff, WTERMSIG is status & 0x7f, WIFSTOPPED is (status & 0xff) == 0x7f.
        assert_eq!(exited(0), 0);
        assert_eq!(exited(3), 0x300);
        assert_eq!(exited(256 + 1), 0x100);
        assert_eq!(signaled(9, false), 9);
        assert_eq!(signaled(11, true), 0x8b);
        assert_eq!(stopped(20), 0x147f);
        assert_eq!(continued(), 0xffff);
        assert_eq!(FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 137);
        assert_eq!(
            (FUTEX_WAKE | FUTEX_PRIVATE_FLAG) & FUTEX_CMD_MASK,
            FUTEX_WAKE
        );
    }
}
