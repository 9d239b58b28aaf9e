//! The Linux x86_64 system-call interface: one table from number to handler, with how complete
//! each handler is (docs/userspace.md's table is checked against it by a test). Any other
//! number returns ENOSYS and is logged once by name.

pub mod fs;
pub mod futex;
pub mod mem;
pub mod misc;
pub mod net;
pub mod proc;

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use linux_abi::errno as e;
use linux_abi::syscall as nr;

use super::Process;
use crate::arch::traps::TrapFrame;

/// A Linux error number (positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident)*) => {
        impl Errno {
            $(pub const $name: Errno = Errno(e::$name);)*
        }
    };
}

errnos!(EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES
    EFAULT EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY EFBIG ENOSPC
    ESPIPE EROFS EMLINK EPIPE ERANGE ENAMETOOLONG ENOSYS ENOTEMPTY ELOOP ETIMEDOUT EOPNOTSUPP
    ENOTSOCK EAFNOSUPPORT EPROTONOSUPPORT EISCONN EINPROGRESS EMSGSIZE ENOTCONN ECONNREFUSED);

impl Errno {
    pub fn name(self) -> &'static str {
        e::name(self.0)
    }

    /// The errno a VFS failure stands for.
    pub fn from_vfs(error: &crate::vfs::VfsError) -> Errno {
        use crate::vfs::VfsError as V;
        match error {
            V::NotFound => Errno::ENOENT,
            V::NotDirectory => Errno::ENOTDIR,
            V::IsDirectory => Errno::EISDIR,
            V::ReadOnly => Errno::EROFS,
            V::AlreadyExists => Errno::EEXIST,
            V::DirectoryNotEmpty => Errno::ENOTEMPTY,
            V::CrossDevice => Errno::EXDEV,
            V::Busy(_) => Errno::EBUSY,
            V::NoSpace => Errno::ENOSPC,
            V::TooManySymlinks => Errno::ELOOP,
            V::InvalidArgument(_) => Errno::EINVAL,
            V::NoDevice(_) => Errno::ENODEV,
            V::DeviceMounted(_) => Errno::EBUSY,
            V::NotMounted => Errno::EINVAL,
            V::Ext2(_) => Errno::EIO,
            V::Foreign { errno, .. } => Errno(*errno),
        }
    }
}

/// What a handler gets: the calling process, its saved registers, the six arguments.
pub struct Call<'a> {
    pub process: &'a Arc<Process>,
    pub frame: &'a mut TrapFrame,
    pub args: [u64; 6],
}

impl Call<'_> {
    pub fn arg(&self, index: usize) -> u64 {
        self.args[index]
    }
    /// An argument as the C `int` it is (file descriptors, pids).
    pub fn int(&self, index: usize) -> i64 {
        i64::from(self.args[index] as u32 as i32)
    }
}

pub type SysResult = Result<u64, Errno>;
type Handler = fn(&mut Call<'_>) -> SysResult;

/// How complete a handler is (for the documentation table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Behaves as on Linux for what busybox and bash use.
    Implemented,
    /// Works for the common cases; the docs say what is missing.
    Partial,
}

use Support::{Implemented as Full, Partial};

/// The dispatch table: (number, handler, completeness).
pub static TABLE: &[(usize, Handler, Support)] = &[
    (nr::READ, fs::read, Full),
    (nr::WRITE, fs::write, Full),
    (nr::OPEN, fs::open, Partial),
    (nr::CLOSE, fs::close, Full),
    (nr::STAT, fs::stat, Partial),
    (nr::FSTAT, fs::fstat, Partial),
    (nr::LSTAT, fs::lstat, Partial),
    (nr::POLL, misc::poll, Full),
    (nr::LSEEK, fs::lseek, Full),
    (nr::MMAP, mem::mmap, Partial),
    (nr::MPROTECT, mem::mprotect, Full),
    (nr::MUNMAP, mem::munmap, Full),
    (nr::BRK, mem::brk, Full),
    (nr::RT_SIGACTION, proc::rt_sigaction, Full),
    (nr::RT_SIGPROCMASK, proc::rt_sigprocmask, Full),
    (nr::RT_SIGRETURN, proc::rt_sigreturn, Full),
    (nr::IOCTL, fs::ioctl, Partial),
    (nr::PREAD64, fs::pread64, Full),
    (nr::PWRITE64, fs::pwrite64, Full),
    (nr::READV, fs::readv, Full),
    (nr::WRITEV, fs::writev, Full),
    (nr::ACCESS, fs::access, Partial),
    (nr::PIPE, fs::pipe, Full),
    (nr::SELECT, misc::select, Full),
    (nr::SCHED_YIELD, misc::sched_yield, Full),
    (nr::MREMAP, mem::mremap, Partial),
    (nr::MSYNC, misc::success, Partial),
    (nr::MADVISE, mem::madvise, Partial),
    (nr::DUP, fs::dup, Full),
    (nr::DUP2, fs::dup2, Full),
    (nr::NANOSLEEP, misc::nanosleep, Full),
    (nr::GETITIMER, misc::getitimer, Partial),
    (nr::ALARM, misc::alarm, Partial),
    (nr::SETITIMER, misc::setitimer, Partial),
    (nr::GETPID, proc::getpid, Full),
    (nr::CLONE, proc::clone, Partial),
    (nr::FORK, proc::fork, Full),
    (nr::VFORK, proc::vfork, Full),
    (nr::EXECVE, proc::execve, Full),
    (nr::EXIT, proc::exit, Full),
    (nr::WAIT4, proc::wait4, Partial),
    (nr::KILL, proc::kill, Full),
    (nr::UNAME, misc::uname, Full),
    (nr::FCNTL, fs::fcntl, Partial),
    (nr::FLOCK, misc::success, Partial),
    (nr::FSYNC, fs::fsync, Full),
    (nr::FDATASYNC, fs::fsync, Full),
    (nr::TRUNCATE, fs::truncate, Partial),
    (nr::FTRUNCATE, fs::ftruncate, Partial),
    (nr::GETCWD, fs::getcwd, Full),
    (nr::CHDIR, fs::chdir, Full),
    (nr::FCHDIR, fs::fchdir, Full),
    (nr::RENAME, fs::rename, Full),
    (nr::MKDIR, fs::mkdir, Partial),
    (nr::RMDIR, fs::rmdir, Full),
    (nr::CREAT, fs::creat, Partial),
    (nr::UNLINK, fs::unlink, Full),
    (nr::READLINK, fs::readlink, Full),
    (nr::CHMOD, fs::chmod, Partial),
    (nr::FCHMOD, fs::fchmod, Partial),
    (nr::CHOWN, fs::chown, Partial),
    (nr::FCHOWN, fs::fchown, Partial),
    (nr::LCHOWN, fs::chown, Partial),
    (nr::UMASK, fs::umask, Full),
    (nr::GETTIMEOFDAY, misc::gettimeofday, Full),
    (nr::GETRLIMIT, misc::getrlimit, Partial),
    (nr::GETRUSAGE, misc::getrusage, Partial),
    (nr::SYSINFO, misc::sysinfo, Full),
    (nr::TIMES, misc::times, Partial),
    (nr::GETUID, misc::zero, Full),
    (nr::GETGID, misc::zero, Full),
    (nr::SETUID, misc::set_id, Partial),
    (nr::SETGID, misc::set_id, Partial),
    (nr::GETEUID, misc::zero, Full),
    (nr::GETEGID, misc::zero, Full),
    (nr::SETPGID, proc::setpgid, Full),
    (nr::GETPPID, proc::getppid, Full),
    (nr::GETPGRP, proc::getpgrp, Full),
    (nr::SETSID, proc::setsid, Full),
    (nr::SETREUID, misc::set_id, Partial),
    (nr::SETREGID, misc::set_id, Partial),
    (nr::GETGROUPS, misc::zero, Partial),
    (nr::SETGROUPS, misc::set_id, Partial),
    (nr::SETRESUID, misc::set_id, Partial),
    (nr::GETRESUID, misc::getresid, Full),
    (nr::SETRESGID, misc::set_id, Partial),
    (nr::GETRESGID, misc::getresid, Full),
    (nr::GETPGID, proc::getpgid, Full),
    (nr::GETSID, proc::getsid, Full),
    (nr::RT_SIGPENDING, proc::rt_sigpending, Full),
    (nr::RT_SIGSUSPEND, proc::rt_sigsuspend, Full),
    (nr::SIGALTSTACK, misc::sigaltstack, Full),
    (nr::ARCH_PRCTL, proc::arch_prctl, Partial),
    (nr::PRCTL, misc::prctl, Partial),
    (nr::SYNC, fs::sync, Full),
    (nr::GETTID, proc::getpid, Full),
    (nr::TKILL, proc::tkill, Full),
    (nr::FUTEX, futex::futex, Partial),
    (nr::SCHED_GETAFFINITY, misc::sched_getaffinity, Full),
    (nr::GETDENTS64, fs::getdents64, Full),
    (nr::SET_TID_ADDRESS, proc::set_tid_address, Full),
    (nr::CLOCK_GETTIME, misc::clock_gettime, Full),
    (nr::CLOCK_GETRES, misc::clock_getres, Full),
    (nr::CLOCK_NANOSLEEP, misc::clock_nanosleep, Partial),
    (nr::EXIT_GROUP, proc::exit, Full),
    (nr::TGKILL, proc::tgkill, Full),
    (nr::OPENAT, fs::openat, Partial),
    (nr::MKDIRAT, fs::mkdirat, Partial),
    (nr::FCHOWNAT, fs::fchownat, Partial),
    (nr::NEWFSTATAT, fs::newfstatat, Partial),
    (nr::UNLINKAT, fs::unlinkat, Full),
    (nr::RENAMEAT, fs::renameat, Full),
    (nr::READLINKAT, fs::readlinkat, Full),
    (nr::FCHMODAT, fs::fchmodat, Partial),
    (nr::FACCESSAT, fs::faccessat, Partial),
    (nr::PSELECT6, misc::pselect6, Full),
    (nr::PPOLL, misc::ppoll, Full),
    (nr::SET_ROBUST_LIST, misc::success, Partial),
    (nr::UTIMENSAT, fs::utimensat, Partial),
    (nr::DUP3, fs::dup3, Full),
    (nr::PIPE2, fs::pipe2, Full),
    (nr::PRLIMIT64, misc::prlimit64, Partial),
    (nr::RENAMEAT2, fs::renameat2, Partial),
    (nr::GETRANDOM, misc::getrandom, Full),
    (nr::EXECVEAT, proc::execveat, Partial),
    (nr::FACCESSAT2, fs::faccessat2, Partial),
    (nr::REBOOT, misc::reboot, Partial),
    (nr::GETPRIORITY, misc::getpriority, Partial),
    (nr::SETPRIORITY, misc::success, Partial),
    (nr::SYNCFS, fs::sync, Full),
    (nr::SENDFILE, fs::sendfile, Partial),
    (nr::TIME, misc::time, Full),
    (nr::MOUNT, fs::mount, Partial),
    (nr::UMOUNT2, fs::umount2, Full),
    (nr::STATFS, fs::statfs, Partial),
    (nr::FSTATFS, fs::fstatfs, Partial),
    (nr::SYMLINK, fs::symlink, Full),
    (nr::SYMLINKAT, fs::symlinkat, Full),
    (nr::SOCKET, net::socket, Partial),
    (nr::CONNECT, net::connect, Partial),
    (nr::ACCEPT, net::accept, Full),
    (nr::ACCEPT4, net::accept4, Full),
    (nr::SENDTO, net::sendto, Partial),
    (nr::RECVFROM, net::recvfrom, Partial),
    (nr::SENDMSG, net::sendmsg, Partial),
    (nr::RECVMSG, net::recvmsg, Partial),
    (nr::SHUTDOWN, net::shutdown, Partial),
    (nr::BIND, net::bind, Full),
    (nr::LISTEN, net::listen, Full),
    (nr::GETSOCKNAME, net::getsockname, Full),
    (nr::GETPEERNAME, net::getpeername, Full),
    (nr::SETSOCKOPT, net::setsockopt, Partial),
    (nr::GETSOCKOPT, net::getsockopt, Partial),
];

/// Numbers already reported as unimplemented (one bit each for 0..512).
static REPORTED: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

fn report_unimplemented(number: usize, process: &Process) {
    if number < 512 {
        let word = &REPORTED[number / 64];
        if word.fetch_or(1 << (number % 64), Ordering::Relaxed) & (1 << (number % 64)) != 0 {
            return;
        }
    }
    log::info!(
        "pid {} ({}): system call {} ({}) is not implemented: ENOSYS",
        process.pid,
        process.name(),
        number,
        nr::name(number).unwrap_or("unknown")
    );
}

/// Handler lookup: a direct index built on first use.
static INDEX: spin::Once<alloc::vec::Vec<Option<(Handler, Support)>>> = spin::Once::new();

fn handler_for(number: usize) -> Option<Handler> {
    let index = INDEX.call_once(|| {
        let mut index = alloc::vec![None; 512];
        for &(number, handler, support) in TABLE {
            index[number] = Some((handler, support));
        }
        index
    });
    index.get(number).copied().flatten().map(|(h, _)| h)
}

/// The arch hook for `syscall`.
pub fn dispatch(frame: &mut TrapFrame) {
    let number = frame.rax as usize;
    // Kept for restarts: the frame's error-code slot is free in system-call frames.
    frame.error_code = frame.rax;
    let Some(process) = super::current_arc() else {
        frame.rax = (-(e::ENOSYS as i64)) as u64;
        return;
    };
    let args = [
        frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
    ];
    let result = match handler_for(number) {
        Some(handler) => {
            let mut call = Call {
                process: &process,
                frame,
                args,
            };
            handler(&mut call)
        }
        None => {
            report_unimplemented(number, &process);
            Err(Errno::ENOSYS)
        }
    };
    frame.rax = match result {
        Ok(value) => value,
        Err(errno) => (-(errno.0 as i64)) as u64,
    };
    let exit_request = process.exit_request.load(Ordering::Acquire);
    drop(process);
    if exit_request != 0 {
        super::exit_current(exit_request as u32);
    }
}
