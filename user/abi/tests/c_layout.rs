//! Constants and structure layouts against what the host's C compiler reports.
//!
//! Two programs are compiled at test time: one with only the kernel's own headers
//! (linux-libc-dev), which state the kernel ABI directly, and one with the C library's
//! headers for the structures whose glibc definition equals the kernel's (and for
//! `ucontext_t`, whose leading part is the signal frame's `ucontext`). Without gcc the tests
//! print `SKIPPED:` and pass.

mod support;

use linux_abi::io::{self, IoVec, PollFd};
use linux_abi::resource::{Rlimit, Rusage, Sysinfo};
use linux_abi::signal_frame::{self, sigcontext, siginfo, ucontext};
use linux_abi::stat::{Stat, Statfs, Statx};
use linux_abi::termios::{Termios, WindowSize};
use linux_abi::time::{Timespec, Timeval, Timezone, Tms};
use linux_abi::utsname::Utsname;
use linux_abi::{fcntl, ioctl, mman, process, resource, signal, stat, termios, time};

/// One fact to compare: a label, our value, and the C expression that should equal it.
struct Fact {
    label: String,
    ours: i128,
    c_expression: String,
}

fn fact(label: impl Into<String>, ours: usize, c_expression: impl Into<String>) -> Fact {
    Fact {
        label: label.into(),
        ours: ours as i128,
        c_expression: c_expression.into(),
    }
}

/// Size and field offsets of a structure declared with `SIZE` and `OFFSETS`; `member` turns
/// our field name into the C member designator (flattened fields such as `st_atime_nsec`).
fn structure(
    c_type: &str,
    size: usize,
    offsets: &[(&str, usize)],
    member: impl Fn(&str) -> String,
) -> Vec<Fact> {
    let mut facts = vec![fact(
        format!("sizeof {c_type}"),
        size,
        format!("sizeof({c_type})"),
    )];
    for (field, offset) in offsets {
        facts.push(fact(
            format!("{c_type}.{field}"),
            *offset,
            format!("offsetof({c_type}, {})", member(field)),
        ));
    }
    facts
}

fn same(name: &str) -> String {
    name.to_string()
}

/// Compiles a program printing every fact's C value after `includes` and compares.
fn check(program: &str, includes: &str, facts: &[Fact]) {
    let mut source = format!("#define _GNU_SOURCE\n{includes}\n#include <stddef.h>\n#include <stdio.h>\nint main(void) {{\n");
    for (index, fact) in facts.iter().enumerate() {
        source.push_str(&format!(
            "    printf(\"{index} %llu\\n\", (unsigned long long)({}));\n",
            fact.c_expression
        ));
    }
    source.push_str("    return 0;\n}\n");
    let Some(output) = support::run_c(program, &source) else {
        return;
    };
    let values = support::pairs(&output);
    assert_eq!(values.len(), facts.len());
    let wrong: Vec<String> = facts
        .iter()
        .zip(&values)
        .filter(|(fact, (_, c_value))| fact.ours != *c_value)
        .map(|(fact, (_, c_value))| format!("{}: ours {} C {}", fact.label, fact.ours, c_value))
        .collect();
    assert!(wrong.is_empty(), "{program}: {wrong:#?}");
    println!("{program}: {} facts match", facts.len());
}

#[test]
fn structures_match_kernel_headers() {
    let includes = "#include <asm/stat.h>\n#include <asm/statfs.h>\n#include <linux/stat.h>\n\
        #include <asm/sigcontext.h>\n#include <linux/signal.h>\n#include <asm/termios.h>\n\
        #include <linux/poll.h>\n#include <linux/uio.h>\n#include <linux/resource.h>\n\
        #include <linux/sysinfo.h>\n#include <linux/utsname.h>\n#include <linux/time_types.h>\n\
        #include <linux/times.h>";
    let mut facts = Vec::new();
    facts.extend(structure("struct stat", Stat::SIZE, Stat::OFFSETS, same));
    facts.extend(structure(
        "struct statfs",
        Statfs::SIZE,
        Statfs::OFFSETS,
        same,
    ));
    facts.extend(structure(
        "struct statx",
        Statx::SIZE,
        Statx::OFFSETS,
        |field| {
            // stx_atime_sec is stx_atime.tv_sec in C.
            for time in ["atime", "btime", "ctime", "mtime"] {
                if let Some(part) = field.strip_prefix(&format!("stx_{time}_")) {
                    return format!("stx_{time}.tv_{part}");
                }
            }
            field.to_string()
        },
    ));
    facts.extend(structure(
        "struct termios",
        Termios::SIZE,
        Termios::OFFSETS,
        same,
    ));
    facts.extend(structure(
        "struct winsize",
        WindowSize::SIZE,
        WindowSize::OFFSETS,
        same,
    ));
    facts.extend(structure(
        "struct pollfd",
        PollFd::SIZE,
        PollFd::OFFSETS,
        same,
    ));
    facts.extend(structure("struct iovec", IoVec::SIZE, IoVec::OFFSETS, same));
    facts.extend(structure(
        "struct rusage",
        Rusage::SIZE,
        Rusage::OFFSETS,
        timeval_member,
    ));
    facts.extend(structure(
        "struct rlimit",
        Rlimit::SIZE,
        Rlimit::OFFSETS,
        same,
    ));
    facts.extend(structure(
        "struct sysinfo",
        Sysinfo::SIZE,
        Sysinfo::OFFSETS,
        loads_member,
    ));
    facts.extend(structure(
        "struct new_utsname",
        Utsname::SIZE,
        Utsname::OFFSETS,
        same,
    ));
    facts.extend(structure(
        "struct __kernel_timespec",
        Timespec::SIZE,
        Timespec::OFFSETS,
        same,
    ));
    facts.extend(structure(
        "struct timeval",
        Timeval::SIZE,
        Timeval::OFFSETS,
        same,
    ));
    facts.extend(structure(
        "struct timezone",
        Timezone::SIZE,
        Timezone::OFFSETS,
        same,
    ));
    facts.extend(structure("struct tms", Tms::SIZE, Tms::OFFSETS, same));
    facts.extend(structure(
        "struct sigcontext",
        sigcontext::SIZE,
        &sigcontext_offsets(),
        |field| match field {
            "reserved" => "reserved1".to_string(),
            other => other.to_lowercase(),
        },
    ));
    facts.extend(structure(
        "siginfo_t",
        siginfo::SIZE,
        &siginfo_offsets(),
        |field| {
            let member = match field {
                "SIGNO" => "si_signo",
                "ERRNO" => "si_errno",
                "CODE" => "si_code",
                "PID" => "_sifields._kill._pid",
                "UID" => "_sifields._kill._uid",
                "STATUS" => "_sifields._sigchld._status",
                "UTIME" => "_sifields._sigchld._utime",
                "STIME" => "_sifields._sigchld._stime",
                _ => "_sifields._sigfault._addr",
            };
            member.to_string()
        },
    ));
    check("kernel_structures", includes, &facts);
}

/// `ru_utime_sec` is `ru_utime.tv_sec` in C.
fn timeval_member(field: &str) -> String {
    for time in ["ru_utime", "ru_stime"] {
        if let Some(part) = field.strip_prefix(&format!("{time}_")) {
            return format!("{time}.tv_{part}");
        }
    }
    field.to_string()
}

/// `loads_5min` is `loads[1]` in C.
fn loads_member(field: &str) -> String {
    match field {
        "loads_1min" => "loads[0]".into(),
        "loads_5min" => "loads[1]".into(),
        "loads_15min" => "loads[2]".into(),
        other => other.into(),
    }
}

fn sigcontext_offsets() -> Vec<(&'static str, usize)> {
    vec![
        ("R8", sigcontext::R8),
        ("R9", sigcontext::R9),
        ("R10", sigcontext::R10),
        ("R11", sigcontext::R11),
        ("R12", sigcontext::R12),
        ("R13", sigcontext::R13),
        ("R14", sigcontext::R14),
        ("R15", sigcontext::R15),
        ("RDI", sigcontext::RDI),
        ("RSI", sigcontext::RSI),
        ("RBP", sigcontext::RBP),
        ("RBX", sigcontext::RBX),
        ("RDX", sigcontext::RDX),
        ("RAX", sigcontext::RAX),
        ("RCX", sigcontext::RCX),
        ("RSP", sigcontext::RSP),
        ("RIP", sigcontext::RIP),
        ("EFLAGS", sigcontext::EFLAGS),
        ("CS", sigcontext::CS),
        ("GS", sigcontext::GS),
        ("FS", sigcontext::FS),
        ("SS", sigcontext::SS),
        ("ERR", sigcontext::ERR),
        ("TRAPNO", sigcontext::TRAPNO),
        ("OLDMASK", sigcontext::OLDMASK),
        ("CR2", sigcontext::CR2),
        ("FPSTATE", sigcontext::FPSTATE),
        ("reserved", sigcontext::RESERVED),
    ]
}

fn siginfo_offsets() -> Vec<(&'static str, usize)> {
    vec![
        ("SIGNO", siginfo::SIGNO),
        ("ERRNO", siginfo::ERRNO),
        ("CODE", siginfo::CODE),
        ("PID", siginfo::PID),
        ("UID", siginfo::UID),
        ("STATUS", siginfo::STATUS),
        ("UTIME", siginfo::UTIME),
        ("STIME", siginfo::STIME),
        ("ADDR", siginfo::ADDR),
    ]
}

#[test]
fn structures_match_glibc_where_it_equals_the_kernel() {
    let includes = "#include <sys/stat.h>\n#include <sys/statfs.h>\n#include <sys/resource.h>\n\
        #include <sys/sysinfo.h>\n#include <sys/utsname.h>\n#include <time.h>\n#include <poll.h>\n\
        #include <sys/ioctl.h>\n#include <termios.h>\n#include <signal.h>\n#include <ucontext.h>";
    let mut facts = Vec::new();
    facts.extend(structure(
        "struct stat",
        Stat::SIZE,
        Stat::OFFSETS,
        |field| {
            // glibc nests the times: st_atime_nsec is st_atim.tv_nsec.
            match field.strip_suffix("_nsec") {
                Some(time) => format!("{}.tv_nsec", time.replace("time", "tim")),
                None if field.ends_with("time") => {
                    format!("{}.tv_sec", field.replace("time", "tim"))
                }
                None => field.to_string(),
            }
        },
    ));
    facts.extend(structure(
        "struct statfs",
        Statfs::SIZE,
        Statfs::OFFSETS,
        same,
    ));
    facts.extend(structure(
        "struct rusage",
        Rusage::SIZE,
        Rusage::OFFSETS,
        timeval_member,
    ));
    facts.extend(structure(
        "struct sysinfo",
        Sysinfo::SIZE,
        Sysinfo::OFFSETS,
        loads_member,
    ));
    facts.extend(structure(
        "struct utsname",
        Utsname::SIZE,
        Utsname::OFFSETS,
        same,
    ));
    facts.extend(structure(
        "struct timespec",
        Timespec::SIZE,
        Timespec::OFFSETS,
        same,
    ));
    facts.extend(structure(
        "struct pollfd",
        PollFd::SIZE,
        PollFd::OFFSETS,
        same,
    ));
    facts.extend(structure(
        "struct winsize",
        WindowSize::SIZE,
        WindowSize::OFFSETS,
        same,
    ));
    // glibc's termios is larger, but its leading fields sit where the kernel's do.
    for (field, offset) in Termios::OFFSETS {
        facts.push(fact(
            format!("termios.{field}"),
            *offset,
            format!("offsetof(struct termios, {field})"),
        ));
    }
    // The signal frame's ucontext: glibc's ucontext_t matches it up to and including the
    // start of uc_sigmask (glibc's mask is 128 bytes and is followed by its own FPU copy, the
    // kernel's is 8 bytes followed by nothing). mcontext_t's gregs are sigcontext's registers
    // in order, with cs/gs/fs/ss packed into REG_CSGSFS.
    let gregs = [
        ("R8", sigcontext::R8),
        ("R9", sigcontext::R9),
        ("R10", sigcontext::R10),
        ("R11", sigcontext::R11),
        ("R12", sigcontext::R12),
        ("R13", sigcontext::R13),
        ("R14", sigcontext::R14),
        ("R15", sigcontext::R15),
        ("RDI", sigcontext::RDI),
        ("RSI", sigcontext::RSI),
        ("RBP", sigcontext::RBP),
        ("RBX", sigcontext::RBX),
        ("RDX", sigcontext::RDX),
        ("RAX", sigcontext::RAX),
        ("RCX", sigcontext::RCX),
        ("RSP", sigcontext::RSP),
        ("RIP", sigcontext::RIP),
        ("EFL", sigcontext::EFLAGS),
        ("CSGSFS", sigcontext::CS),
        ("ERR", sigcontext::ERR),
        ("TRAPNO", sigcontext::TRAPNO),
        ("OLDMASK", sigcontext::OLDMASK),
        ("CR2", sigcontext::CR2),
    ];
    for (register, offset) in gregs {
        facts.push(fact(
            format!("ucontext_t.gregs[REG_{register}]"),
            ucontext::MCONTEXT + offset,
            format!("offsetof(ucontext_t, uc_mcontext.gregs[REG_{register}])"),
        ));
    }
    for (label, offset, member) in [
        ("uc_flags", ucontext::FLAGS, "uc_flags"),
        ("uc_link", ucontext::LINK, "uc_link"),
        ("ss_sp", ucontext::STACK_SP, "uc_stack.ss_sp"),
        ("ss_flags", ucontext::STACK_FLAGS, "uc_stack.ss_flags"),
        ("ss_size", ucontext::STACK_SIZE, "uc_stack.ss_size"),
        ("uc_mcontext", ucontext::MCONTEXT, "uc_mcontext"),
        (
            "fpregs",
            ucontext::MCONTEXT + sigcontext::FPSTATE,
            "uc_mcontext.fpregs",
        ),
        ("uc_sigmask", ucontext::SIGMASK, "uc_sigmask"),
    ] {
        facts.push(fact(
            format!("ucontext_t.{label}"),
            offset,
            format!("offsetof(ucontext_t, {member})"),
        ));
    }
    facts.push(fact(
        "sizeof mcontext_t",
        sigcontext::SIZE,
        "sizeof(mcontext_t)",
    ));
    facts.push(fact("sizeof siginfo_t", siginfo::SIZE, "sizeof(siginfo_t)"));
    for (label, offset) in [
        ("si_signo", siginfo::SIGNO),
        ("si_errno", siginfo::ERRNO),
        ("si_code", siginfo::CODE),
        ("si_pid", siginfo::PID),
        ("si_uid", siginfo::UID),
        ("si_status", siginfo::STATUS),
        ("si_utime", siginfo::UTIME),
        ("si_stime", siginfo::STIME),
        ("si_addr", siginfo::ADDR),
    ] {
        facts.push(fact(
            format!("siginfo_t.{label}"),
            offset,
            format!("offsetof(siginfo_t, {label})"),
        ));
    }
    // The frame itself: pretcode, then the ucontext, then the siginfo.
    facts.push(fact(
        "frame size",
        signal_frame::SIZE,
        "8 + offsetof(ucontext_t, uc_sigmask) + 8 + sizeof(siginfo_t)",
    ));
    check("glibc_structures", includes, &facts);
}

/// `(name, our value, size of our type)` for constants named as in C.
macro_rules! constants {
    ($($module:ident :: $name:ident),* $(,)?) => {
        vec![$((
            stringify!($name),
            $module::$name as i128,
            std::mem::size_of_val(&$module::$name),
        )),*]
    };
}

#[test]
fn constants_match_kernel_headers() {
    let includes = "#include <linux/fcntl.h>\n#include <linux/fs.h>\n#include <linux/mman.h>\n\
        #include <linux/sched.h>\n#include <linux/wait.h>\n#include <asm/prctl.h>\n\
        #include <linux/prctl.h>\n#include <linux/futex.h>\n#include <linux/random.h>\n\
        #include <linux/poll.h>\n#include <linux/stat.h>\n#include <linux/time.h>\n\
        #include <linux/resource.h>\n#include <linux/signal.h>\n#include <asm/termios.h>\n\
        #include <linux/tty.h>\n#include <linux/uio.h>";
    let constants = constants![
        fcntl::O_RDONLY,
        fcntl::O_WRONLY,
        fcntl::O_RDWR,
        fcntl::O_ACCMODE,
        fcntl::O_CREAT,
        fcntl::O_EXCL,
        fcntl::O_NOCTTY,
        fcntl::O_TRUNC,
        fcntl::O_APPEND,
        fcntl::O_NONBLOCK,
        fcntl::O_DSYNC,
        fcntl::FASYNC,
        fcntl::O_DIRECT,
        fcntl::O_LARGEFILE,
        fcntl::O_DIRECTORY,
        fcntl::O_NOFOLLOW,
        fcntl::O_NOATIME,
        fcntl::O_CLOEXEC,
        fcntl::O_SYNC,
        fcntl::O_PATH,
        fcntl::O_TMPFILE,
        fcntl::AT_FDCWD,
        fcntl::AT_SYMLINK_NOFOLLOW,
        fcntl::AT_EACCESS,
        fcntl::AT_REMOVEDIR,
        fcntl::AT_SYMLINK_FOLLOW,
        fcntl::AT_NO_AUTOMOUNT,
        fcntl::AT_EMPTY_PATH,
        fcntl::AT_STATX_SYNC_AS_STAT,
        fcntl::AT_STATX_FORCE_SYNC,
        fcntl::AT_STATX_DONT_SYNC,
        fcntl::F_DUPFD,
        fcntl::F_GETFD,
        fcntl::F_SETFD,
        fcntl::F_GETFL,
        fcntl::F_SETFL,
        fcntl::F_GETLK,
        fcntl::F_SETLK,
        fcntl::F_SETLKW,
        fcntl::F_SETOWN,
        fcntl::F_GETOWN,
        fcntl::F_DUPFD_CLOEXEC,
        fcntl::F_SETPIPE_SZ,
        fcntl::F_GETPIPE_SZ,
        fcntl::FD_CLOEXEC,
        fcntl::F_RDLCK,
        fcntl::F_WRLCK,
        fcntl::F_UNLCK,
        fcntl::RENAME_NOREPLACE,
        fcntl::RENAME_EXCHANGE,
        fcntl::RENAME_WHITEOUT,
        mman::PROT_NONE,
        mman::PROT_READ,
        mman::PROT_WRITE,
        mman::PROT_EXEC,
        mman::PROT_GROWSDOWN,
        mman::PROT_GROWSUP,
        mman::MAP_SHARED,
        mman::MAP_PRIVATE,
        mman::MAP_SHARED_VALIDATE,
        mman::MAP_TYPE,
        mman::MAP_FIXED,
        mman::MAP_ANONYMOUS,
        mman::MAP_32BIT,
        mman::MAP_GROWSDOWN,
        mman::MAP_DENYWRITE,
        mman::MAP_EXECUTABLE,
        mman::MAP_LOCKED,
        mman::MAP_NORESERVE,
        mman::MAP_POPULATE,
        mman::MAP_NONBLOCK,
        mman::MAP_STACK,
        mman::MAP_HUGETLB,
        mman::MAP_SYNC,
        mman::MAP_FIXED_NOREPLACE,
        mman::MREMAP_MAYMOVE,
        mman::MREMAP_FIXED,
        mman::MREMAP_DONTUNMAP,
        mman::MADV_NORMAL,
        mman::MADV_RANDOM,
        mman::MADV_SEQUENTIAL,
        mman::MADV_WILLNEED,
        mman::MADV_DONTNEED,
        mman::MADV_FREE,
        mman::MADV_REMOVE,
        mman::MADV_DONTFORK,
        mman::MADV_DOFORK,
        mman::MADV_MERGEABLE,
        mman::MADV_UNMERGEABLE,
        mman::MADV_HUGEPAGE,
        mman::MADV_NOHUGEPAGE,
        mman::MADV_DONTDUMP,
        mman::MADV_DODUMP,
        mman::MADV_WIPEONFORK,
        mman::MADV_KEEPONFORK,
        mman::MADV_COLD,
        mman::MADV_PAGEOUT,
        mman::MS_ASYNC,
        mman::MS_INVALIDATE,
        mman::MS_SYNC,
        process::CSIGNAL,
        process::CLONE_VM,
        process::CLONE_FS,
        process::CLONE_FILES,
        process::CLONE_SIGHAND,
        process::CLONE_PIDFD,
        process::CLONE_PTRACE,
        process::CLONE_VFORK,
        process::CLONE_PARENT,
        process::CLONE_THREAD,
        process::CLONE_NEWNS,
        process::CLONE_SYSVSEM,
        process::CLONE_SETTLS,
        process::CLONE_PARENT_SETTID,
        process::CLONE_CHILD_CLEARTID,
        process::CLONE_DETACHED,
        process::CLONE_UNTRACED,
        process::CLONE_CHILD_SETTID,
        process::CLONE_NEWCGROUP,
        process::CLONE_NEWUTS,
        process::CLONE_NEWIPC,
        process::CLONE_NEWUSER,
        process::CLONE_NEWPID,
        process::CLONE_NEWNET,
        process::CLONE_IO,
        process::WNOHANG,
        process::WUNTRACED,
        process::WSTOPPED,
        process::WEXITED,
        process::WCONTINUED,
        process::WNOWAIT,
        process::__WNOTHREAD,
        process::__WALL,
        process::__WCLONE,
        process::P_ALL,
        process::P_PID,
        process::P_PGID,
        process::P_PIDFD,
        process::ARCH_SET_GS,
        process::ARCH_SET_FS,
        process::ARCH_GET_FS,
        process::ARCH_GET_GS,
        process::ARCH_GET_CPUID,
        process::ARCH_SET_CPUID,
        process::PR_SET_PDEATHSIG,
        process::PR_GET_PDEATHSIG,
        process::PR_GET_DUMPABLE,
        process::PR_SET_DUMPABLE,
        process::PR_SET_NAME,
        process::PR_GET_NAME,
        process::PR_GET_SECCOMP,
        process::PR_SET_SECCOMP,
        process::PR_CAPBSET_READ,
        process::PR_SET_CHILD_SUBREAPER,
        process::PR_GET_CHILD_SUBREAPER,
        process::PR_SET_NO_NEW_PRIVS,
        process::PR_GET_NO_NEW_PRIVS,
        process::FUTEX_WAIT,
        process::FUTEX_WAKE,
        process::FUTEX_FD,
        process::FUTEX_REQUEUE,
        process::FUTEX_CMP_REQUEUE,
        process::FUTEX_WAKE_OP,
        process::FUTEX_LOCK_PI,
        process::FUTEX_UNLOCK_PI,
        process::FUTEX_TRYLOCK_PI,
        process::FUTEX_WAIT_BITSET,
        process::FUTEX_WAKE_BITSET,
        process::FUTEX_PRIVATE_FLAG,
        process::FUTEX_CLOCK_REALTIME,
        process::FUTEX_CMD_MASK,
        process::FUTEX_BITSET_MATCH_ANY,
        io::GRND_NONBLOCK,
        io::GRND_RANDOM,
        io::GRND_INSECURE,
        io::POLLIN,
        io::POLLPRI,
        io::POLLOUT,
        io::POLLERR,
        io::POLLHUP,
        io::POLLNVAL,
        io::POLLRDNORM,
        io::POLLRDBAND,
        io::POLLWRNORM,
        io::POLLWRBAND,
        io::POLLMSG,
        io::POLLRDHUP,
        io::SEEK_SET,
        io::SEEK_CUR,
        io::SEEK_END,
        io::SEEK_DATA,
        io::SEEK_HOLE,
        stat::S_IFMT,
        stat::S_IFSOCK,
        stat::S_IFLNK,
        stat::S_IFREG,
        stat::S_IFBLK,
        stat::S_IFDIR,
        stat::S_IFCHR,
        stat::S_IFIFO,
        stat::S_ISUID,
        stat::S_ISGID,
        stat::S_ISVTX,
        stat::STATX_TYPE,
        stat::STATX_MODE,
        stat::STATX_NLINK,
        stat::STATX_UID,
        stat::STATX_GID,
        stat::STATX_ATIME,
        stat::STATX_MTIME,
        stat::STATX_CTIME,
        stat::STATX_INO,
        stat::STATX_SIZE,
        stat::STATX_BLOCKS,
        stat::STATX_BASIC_STATS,
        stat::STATX_BTIME,
        stat::STATX_MNT_ID,
        time::CLOCK_REALTIME,
        time::CLOCK_MONOTONIC,
        time::CLOCK_PROCESS_CPUTIME_ID,
        time::CLOCK_THREAD_CPUTIME_ID,
        time::CLOCK_MONOTONIC_RAW,
        time::CLOCK_REALTIME_COARSE,
        time::CLOCK_MONOTONIC_COARSE,
        time::CLOCK_BOOTTIME,
        time::CLOCK_REALTIME_ALARM,
        time::CLOCK_BOOTTIME_ALARM,
        time::CLOCK_TAI,
        time::TIMER_ABSTIME,
        resource::RLIM_INFINITY,
        resource::RLIMIT_CPU,
        resource::RLIMIT_FSIZE,
        resource::RLIMIT_DATA,
        resource::RLIMIT_STACK,
        resource::RLIMIT_CORE,
        resource::RLIMIT_RSS,
        resource::RLIMIT_NPROC,
        resource::RLIMIT_NOFILE,
        resource::RLIMIT_MEMLOCK,
        resource::RLIMIT_AS,
        resource::RLIMIT_LOCKS,
        resource::RLIMIT_SIGPENDING,
        resource::RLIMIT_MSGQUEUE,
        resource::RLIMIT_NICE,
        resource::RLIMIT_RTPRIO,
        resource::RLIMIT_RTTIME,
        resource::RLIM_NLIMITS,
        resource::RUSAGE_SELF,
        resource::RUSAGE_CHILDREN,
        resource::RUSAGE_THREAD,
        signal::SIGHUP,
        signal::SIGINT,
        signal::SIGQUIT,
        signal::SIGILL,
        signal::SIGTRAP,
        signal::SIGABRT,
        signal::SIGIOT,
        signal::SIGBUS,
        signal::SIGFPE,
        signal::SIGKILL,
        signal::SIGUSR1,
        signal::SIGSEGV,
        signal::SIGUSR2,
        signal::SIGPIPE,
        signal::SIGALRM,
        signal::SIGTERM,
        signal::SIGSTKFLT,
        signal::SIGCHLD,
        signal::SIGCONT,
        signal::SIGSTOP,
        signal::SIGTSTP,
        signal::SIGTTIN,
        signal::SIGTTOU,
        signal::SIGURG,
        signal::SIGXCPU,
        signal::SIGXFSZ,
        signal::SIGVTALRM,
        signal::SIGPROF,
        signal::SIGWINCH,
        signal::SIGIO,
        signal::SIGPOLL,
        signal::SIGPWR,
        signal::SIGSYS,
        signal::SIGRTMIN,
        signal::SA_NOCLDSTOP,
        signal::SA_NOCLDWAIT,
        signal::SA_SIGINFO,
        signal::SA_RESTORER,
        signal::SA_ONSTACK,
        signal::SA_RESTART,
        signal::SA_NODEFER,
        signal::SA_RESETHAND,
        signal::SIG_BLOCK,
        signal::SIG_UNBLOCK,
        signal::SIG_SETMASK,
        signal::SIG_DFL,
        signal::SIG_IGN,
        signal::SIG_ERR,
        signal::SS_ONSTACK,
        signal::SS_DISABLE,
        signal::MINSIGSTKSZ,
        signal::SIGSTKSZ,
        signal::SI_USER,
        signal::SI_KERNEL,
        signal::SI_QUEUE,
        signal::SI_TIMER,
        signal::SI_TKILL,
        signal::CLD_EXITED,
        signal::CLD_KILLED,
        signal::CLD_DUMPED,
        signal::CLD_TRAPPED,
        signal::CLD_STOPPED,
        signal::CLD_CONTINUED,
        signal::SEGV_MAPERR,
        signal::SEGV_ACCERR,
        signal::FPE_INTDIV,
        signal::FPE_INTOVF,
        signal::ILL_ILLOPC,
        signal::ILL_ILLOPN,
        signal::BUS_ADRALN,
        signal::BUS_ADRERR,
        signal::TRAP_BRKPT,
        signal::TRAP_TRACE,
        termios::NCCS,
        termios::N_TTY,
        termios::VINTR,
        termios::VQUIT,
        termios::VERASE,
        termios::VKILL,
        termios::VEOF,
        termios::VTIME,
        termios::VMIN,
        termios::VSWTC,
        termios::VSTART,
        termios::VSTOP,
        termios::VSUSP,
        termios::VEOL,
        termios::VREPRINT,
        termios::VDISCARD,
        termios::VWERASE,
        termios::VLNEXT,
        termios::VEOL2,
        termios::IGNBRK,
        termios::BRKINT,
        termios::IGNPAR,
        termios::PARMRK,
        termios::INPCK,
        termios::ISTRIP,
        termios::INLCR,
        termios::IGNCR,
        termios::ICRNL,
        termios::IUCLC,
        termios::IXON,
        termios::IXANY,
        termios::IXOFF,
        termios::IMAXBEL,
        termios::IUTF8,
        termios::OPOST,
        termios::OLCUC,
        termios::ONLCR,
        termios::OCRNL,
        termios::ONOCR,
        termios::ONLRET,
        termios::OFILL,
        termios::OFDEL,
        termios::TABDLY,
        termios::XTABS,
        termios::CBAUD,
        termios::B0,
        termios::B1200,
        termios::B2400,
        termios::B4800,
        termios::B9600,
        termios::B19200,
        termios::B38400,
        termios::B57600,
        termios::B115200,
        termios::CSIZE,
        termios::CS5,
        termios::CS6,
        termios::CS7,
        termios::CS8,
        termios::CSTOPB,
        termios::CREAD,
        termios::PARENB,
        termios::PARODD,
        termios::HUPCL,
        termios::CLOCAL,
        termios::CRTSCTS,
        termios::ISIG,
        termios::ICANON,
        termios::XCASE,
        termios::ECHO,
        termios::ECHOE,
        termios::ECHOK,
        termios::ECHONL,
        termios::NOFLSH,
        termios::TOSTOP,
        termios::ECHOCTL,
        termios::ECHOPRT,
        termios::ECHOKE,
        termios::FLUSHO,
        termios::PENDIN,
        termios::IEXTEN,
        termios::EXTPROC,
        ioctl::TCGETS,
        ioctl::TCSETS,
        ioctl::TCSETSW,
        ioctl::TCSETSF,
        ioctl::TCSBRK,
        ioctl::TCXONC,
        ioctl::TCFLSH,
        ioctl::TIOCEXCL,
        ioctl::TIOCNXCL,
        ioctl::TIOCSCTTY,
        ioctl::TIOCGPGRP,
        ioctl::TIOCSPGRP,
        ioctl::TIOCOUTQ,
        ioctl::TIOCSTI,
        ioctl::TIOCGWINSZ,
        ioctl::TIOCSWINSZ,
        ioctl::TIOCMGET,
        ioctl::TIOCMSET,
        ioctl::FIONREAD,
        ioctl::TIOCINQ,
        ioctl::TIOCCONS,
        ioctl::FIONBIO,
        ioctl::TIOCNOTTY,
        ioctl::TIOCSETD,
        ioctl::TIOCGETD,
        ioctl::TCSBRKP,
        ioctl::TIOCGSID,
        ioctl::TIOCGPTN,
        ioctl::TIOCSPTLCK,
        ioctl::FIONCLEX,
        ioctl::FIOCLEX,
        ioctl::FIOASYNC,
        ioctl::TCIFLUSH,
        ioctl::TCOFLUSH,
        ioctl::TCIOFLUSH,
        ioctl::TCOOFF,
        ioctl::TCOON,
        ioctl::TCIOFF,
        ioctl::TCION,
    ];
    // Compare in our type's width: C's FUTEX_CMD_MASK is a negative int, ours a u32.
    let facts: Vec<Fact> = constants
        .iter()
        .map(|(name, ours, width)| {
            let mask = if *width >= 8 {
                u64::MAX
            } else {
                (1u64 << (width * 8)) - 1
            };
            Fact {
                label: name.to_string(),
                ours: (*ours as u64 & mask) as i128,
                c_expression: format!("(unsigned long long)({name}) & {mask}ULL"),
            }
        })
        .collect();
    check("kernel_constants", includes, &facts);
    // Values the kernel headers do not state directly.
    assert_eq!(signal::NSIG, 64, "the kernel's _NSIG");
    assert_eq!(signal::SIGRTMAX, 64, "_NSIG");
    assert_eq!(linux_abi::utsname::FIELD_LENGTH, 65, "__NEW_UTS_LEN + 1");
}
