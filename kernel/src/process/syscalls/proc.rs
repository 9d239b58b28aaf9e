//! Process and signal system calls.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use linux_abi::process as p;
use linux_abi::signal as s;

use super::{Call, Errno, SysResult};
use crate::process::signal::{self, wait_interruptible, Action, Origin};
use crate::process::usermem::{
    read_bytes, read_path, read_string_array, read_u64, write_bytes, write_i32, write_u64,
};
use crate::process::{self as processes, CloneRequest, Process, RunState, WaitFor, Waited};

/// Total bytes of argv and envp accepted by exec (Linux: a quarter of the 8 MiB stack).
const ARGUMENT_BYTES: usize = 2 << 20;

pub fn getpid(call: &mut Call<'_>) -> SysResult {
    Ok(u64::from(call.process.pid))
}

pub fn getppid(call: &mut Call<'_>) -> SysResult {
    Ok(u64::from(call.process.parent()))
}

pub fn getpgrp(call: &mut Call<'_>) -> SysResult {
    Ok(u64::from(call.process.process_group()))
}

fn target(call: &Call<'_>, pid: i64) -> Result<Arc<Process>, Errno> {
    if pid == 0 {
        return Ok(call.process.clone());
    }
    let pid = u32::try_from(pid).map_err(|_| Errno::ESRCH)?;
    processes::lookup(pid).ok_or(Errno::ESRCH)
}

pub fn getpgid(call: &mut Call<'_>) -> SysResult {
    Ok(u64::from(target(call, call.int(0))?.process_group()))
}

pub fn getsid(call: &mut Call<'_>) -> SysResult {
    Ok(u64::from(target(call, call.int(0))?.session()))
}

pub fn setsid(call: &mut Call<'_>) -> SysResult {
    let me = call.process;
    if processes::group_members(me.pid)
        .iter()
        .any(|p| p.pid != me.pid)
        || me.process_group() == me.pid
    {
        return Err(Errno::EPERM);
    }
    me.start_session();
    Ok(u64::from(me.pid))
}

pub fn setpgid(call: &mut Call<'_>) -> SysResult {
    let who = target(call, call.int(0))?;
    let group = match call.int(1) {
        0 => who.pid,
        g if g < 0 => return Err(Errno::EINVAL),
        g => g as u32,
    };
    if who.pid != call.process.pid && who.parent() != call.process.pid {
        return Err(Errno::ESRCH);
    }
    if who.session() != call.process.session() {
        return Err(Errno::EPERM);
    }
    if who.session() == who.pid {
        return Err(Errno::EPERM); // a session leader keeps its group
    }
    if group != who.pid && !processes::group_exists_in(group, call.process.session()) {
        return Err(Errno::EPERM);
    }
    who.set_process_group(group);
    Ok(0)
}

fn clone_common(
    call: &mut Call<'_>,
    flags: u64,
    stack: u64,
    parent_tid: u64,
    child_tid: u64,
    tls: u64,
) -> SysResult {
    if flags & (p::CLONE_THREAD | p::CLONE_SIGHAND) != 0 {
        // Threads are not supported: one thread per process.
        return Err(Errno::EINVAL);
    }
    let exit_signal = flags & p::CSIGNAL;
    if exit_signal != 0 && exit_signal != u64::from(s::SIGCHLD) {
        log::debug!("clone: exit signal {exit_signal} treated as SIGCHLD");
    }
    let request = CloneRequest {
        share_memory: flags & p::CLONE_VM != 0,
        vfork: flags & p::CLONE_VFORK != 0,
        child_stack: stack,
        tls: (flags & p::CLONE_SETTLS != 0).then_some(tls),
        child_tid: (flags & p::CLONE_CHILD_SETTID != 0).then_some(child_tid),
        parent_tid: (flags & p::CLONE_PARENT_SETTID != 0).then_some(parent_tid),
        clear_child_tid: (flags & p::CLONE_CHILD_CLEARTID != 0).then_some(child_tid),
    };
    if request.share_memory && !request.vfork {
        return Err(Errno::EINVAL);
    }
    let frame = crate::arch::traps::TrapFrame { ..*call.frame };
    processes::fork(call.process, &frame, request).map(u64::from)
}

pub fn clone(call: &mut Call<'_>) -> SysResult {
    // x86_64 order: flags, stack, parent_tid, child_tid, tls.
    let (flags, stack, parent_tid, child_tid, tls) = (
        call.arg(0),
        call.arg(1),
        call.arg(2),
        call.arg(3),
        call.arg(4),
    );
    clone_common(call, flags, stack, parent_tid, child_tid, tls)
}

pub fn fork(call: &mut Call<'_>) -> SysResult {
    clone_common(call, u64::from(s::SIGCHLD), 0, 0, 0, 0)
}

pub fn vfork(call: &mut Call<'_>) -> SysResult {
    clone_common(
        call,
        p::CLONE_VM | p::CLONE_VFORK | u64::from(s::SIGCHLD),
        0,
        0,
        0,
        0,
    )
}

fn exec_path(call: &mut Call<'_>, path: alloc::string::String, argv: u64, envp: u64) -> SysResult {
    let argv = read_string_array(argv, ARGUMENT_BYTES)?;
    let envp = read_string_array(envp, ARGUMENT_BYTES)?;
    let cwd = call.process.cwd.lock().clone();
    let argv = if argv.is_empty() {
        alloc::vec![path.clone().into_bytes()]
    } else {
        argv
    };
    match crate::process::exec::prepare(&path, argv, envp, &cwd) {
        Ok(prepared) => {
            crate::process::exec::commit(call.process, prepared, call.frame);
            Ok(0)
        }
        Err((errno, why)) => {
            if errno == Errno::ENOEXEC {
                log::warn!("pid {}: exec refused: {why}", call.process.pid);
            } else {
                log::debug!("pid {}: exec failed: {why}", call.process.pid);
            }
            Err(errno)
        }
    }
}

pub fn execve(call: &mut Call<'_>) -> SysResult {
    let path = read_path(call.arg(0))?;
    let (argv, envp) = (call.arg(1), call.arg(2));
    exec_path(call, path, argv, envp)
}

pub fn execveat(call: &mut Call<'_>) -> SysResult {
    let dirfd = call.int(0);
    let raw = read_path(call.arg(1))?;
    let flags = call.arg(4) as u32;
    let path = if raw.is_empty() && flags & linux_abi::fcntl::AT_EMPTY_PATH != 0 {
        let file = call.process.files.lock().get(dirfd)?;
        alloc::string::String::from(file.path().ok_or(Errno::ENOEXEC)?)
    } else if raw.starts_with('/') || dirfd == i64::from(linux_abi::fcntl::AT_FDCWD) {
        raw
    } else {
        let file = call.process.files.lock().get(dirfd)?;
        match &file.kind {
            crate::process::files::FileKind::Directory { path } => {
                crate::vfs::path::join(path, &raw)
            }
            _ => return Err(Errno::ENOTDIR),
        }
    };
    let (argv, envp) = (call.arg(2), call.arg(3));
    exec_path(call, path, argv, envp)
}

pub fn exit(call: &mut Call<'_>) -> SysResult {
    let status = (call.arg(0) as u32 & 0xff) << 8;
    call.process
        .exit_request
        .store(u64::from(status) | 1 << 32, Ordering::Release);
    Ok(0)
}

pub fn wait4(call: &mut Call<'_>) -> SysResult {
    let pid = call.int(0);
    let status_pointer = call.arg(1);
    let options = call.arg(2) as u32;
    let which = match pid {
        -1 => WaitFor::Any,
        0 => WaitFor::Group(call.process.process_group()),
        p if p < -1 => WaitFor::Group((-p) as u32),
        p => WaitFor::Pid(p as u32),
    };
    let untraced = options & p::WUNTRACED != 0;
    let continued = options & p::WCONTINUED != 0;
    let process = call.process.clone();
    loop {
        // Snapshot first: any change after the pass below then ends the sleep.
        let before: Vec<u8> = process
            .children()
            .iter()
            .map(|c| format_state(c.state()))
            .collect();
        let found = processes::wait_pass(&process, which, untraced, continued)?;
        let (pid, status) = match found {
            Waited::Reaped { pid, status } | Waited::Stopped { pid, status } => (pid, status),
            Waited::Continued { pid } => (pid, 0xffff),
            Waited::NothingYet => {
                if options & p::WNOHANG != 0 {
                    return Ok(0);
                }
                wait_interruptible(&process, &process.child_events, || {
                    let now: Vec<u8> = process
                        .children()
                        .iter()
                        .map(|c| format_state(c.state()))
                        .collect();
                    now != before
                })
                .map_err(|e| e.errno())?;
                continue;
            }
        };
        if status_pointer != 0 {
            write_i32(status_pointer, status as i32)?;
        }
        if call.arg(3) != 0 {
            write_bytes(call.arg(3), &[0u8; 144])?;
        }
        return Ok(u64::from(pid));
    }
}

/// A small code for a child's state, to notice changes between passes.
fn format_state(state: RunState) -> u8 {
    match state {
        RunState::Running => 0,
        RunState::Stopped {
            reported: false, ..
        } => 1,
        RunState::Stopped { reported: true, .. } => 2,
        RunState::Continued => 3,
        RunState::Zombie { .. } => 4,
    }
}

fn signal_number(value: u64) -> Result<u32, Errno> {
    let signal = value as u32;
    if signal > signal::MAX_SIGNAL {
        return Err(Errno::EINVAL);
    }
    Ok(signal)
}

pub fn kill(call: &mut Call<'_>) -> SysResult {
    let pid = call.int(0);
    let signal = signal_number(call.arg(1))?;
    let origin = Origin::User {
        pid: call.process.pid,
        code: s::SI_USER,
    };
    let targets: Vec<Arc<Process>> = match pid {
        p if p > 0 => vec_of(processes::lookup(p as u32)),
        0 => processes::group_members(call.process.process_group()),
        -1 => processes::all()
            .into_iter()
            .filter(|p| p.pid != 1 && p.pid != call.process.pid)
            .collect(),
        p => processes::group_members((-p) as u32),
    };
    let targets: Vec<Arc<Process>> = targets
        .into_iter()
        .filter(|p| !matches!(p.state(), RunState::Zombie { .. }))
        .collect();
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    for process in targets {
        signal::send(&process, signal, origin);
    }
    Ok(0)
}

fn vec_of(process: Option<Arc<Process>>) -> Vec<Arc<Process>> {
    process.into_iter().collect()
}

fn kill_thread(call: &mut Call<'_>, tid: i64, signal: u64) -> SysResult {
    let signal = signal_number(signal)?;
    let process = u32::try_from(tid)
        .ok()
        .and_then(processes::lookup)
        .filter(|p| !matches!(p.state(), RunState::Zombie { .. }))
        .ok_or(Errno::ESRCH)?;
    signal::send(
        &process,
        signal,
        Origin::User {
            pid: call.process.pid,
            code: s::SI_TKILL,
        },
    );
    Ok(0)
}

pub fn tkill(call: &mut Call<'_>) -> SysResult {
    let (tid, signal) = (call.int(0), call.arg(1));
    kill_thread(call, tid, signal)
}

pub fn tgkill(call: &mut Call<'_>) -> SysResult {
    let (tid, signal) = (call.int(1), call.arg(2));
    kill_thread(call, tid, signal)
}

pub fn rt_sigaction(call: &mut Call<'_>) -> SysResult {
    let signal = call.arg(0) as u32;
    let (new, old) = (call.arg(1), call.arg(2));
    if call.arg(3) != 8 {
        return Err(Errno::EINVAL);
    }
    if signal == 0 || signal > signal::MAX_SIGNAL {
        return Err(Errno::EINVAL);
    }
    let new_action = if new != 0 {
        if signal == s::SIGKILL || signal == s::SIGSTOP {
            return Err(Errno::EINVAL);
        }
        let bytes = read_bytes(new, 32)?;
        let word =
            |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        Some(Action {
            handler: word(0),
            flags: word(1),
            restorer: word(2),
            mask: word(3),
        })
    } else {
        None
    };
    let previous = {
        let mut signals = call.process.signals.lock();
        let previous = signals.action(signal);
        if let Some(action) = new_action {
            signals.set_action(signal, action);
        }
        previous
    };
    if old != 0 {
        let mut bytes = [0u8; 32];
        for (i, value) in [
            previous.handler,
            previous.flags,
            previous.restorer,
            previous.mask,
        ]
        .iter()
        .enumerate()
        {
            bytes[i * 8..i * 8 + 8].copy_from_slice(&value.to_le_bytes());
        }
        write_bytes(old, &bytes)?;
    }
    Ok(0)
}

const UNBLOCKABLE: u64 = (1 << (s::SIGKILL - 1)) | (1 << (s::SIGSTOP - 1));

pub fn rt_sigprocmask(call: &mut Call<'_>) -> SysResult {
    let (how, new, old) = (call.arg(0) as u32, call.arg(1), call.arg(2));
    if call.arg(3) != 8 {
        return Err(Errno::EINVAL);
    }
    let new_set = if new != 0 { Some(read_u64(new)?) } else { None };
    let previous = {
        let mut signals = call.process.signals.lock();
        let previous = signals.blocked;
        if let Some(set) = new_set {
            signals.blocked = match how {
                s::SIG_BLOCK => previous | set,
                s::SIG_UNBLOCK => previous & !set,
                s::SIG_SETMASK => set,
                _ => return Err(Errno::EINVAL),
            } & !UNBLOCKABLE;
        }
        previous
    };
    if old != 0 {
        write_u64(old, previous)?;
    }
    Ok(0)
}

pub fn rt_sigpending(call: &mut Call<'_>) -> SysResult {
    let pending = {
        let signals = call.process.signals.lock();
        signals.pending() & signals.blocked
    };
    write_u64(call.arg(0), pending)?;
    Ok(0)
}

pub fn rt_sigsuspend(call: &mut Call<'_>) -> SysResult {
    if call.arg(1) != 8 {
        return Err(Errno::EINVAL);
    }
    let mask = read_u64(call.arg(0))? & !UNBLOCKABLE;
    {
        let mut signals = call.process.signals.lock();
        signals.saved_mask = Some(signals.blocked);
        signals.blocked = mask;
    }
    let process = call.process.clone();
    let _ = wait_interruptible(&process, &process.signal_events, || false);
    // Always EINTR once a signal arrived; the old mask returns after its handler ran.
    Err(Errno::EINTR)
}

pub fn rt_sigreturn(call: &mut Call<'_>) -> SysResult {
    match signal::sigreturn(call.process, call.frame) {
        Ok(()) => Ok(call.frame.rax),
        Err(_) => {
            // A corrupt frame: Linux kills with SIGSEGV.
            call.process
                .exit_request
                .store(u64::from(s::SIGSEGV) | 1 << 32, Ordering::Release);
            Ok(0)
        }
    }
}

pub fn arch_prctl(call: &mut Call<'_>) -> SysResult {
    use linux_abi::process as codes;
    let (code, address) = (call.arg(0) as u32, call.arg(1));
    let thread = crate::sched::current_thread();
    let Some(user) = &thread.user else {
        return Err(Errno::EINVAL);
    };
    match code {
        codes::ARCH_SET_FS => {
            if address >= crate::arch::user::USER_END {
                return Err(Errno::EPERM);
            }
            user.fs_base.store(address, Ordering::Relaxed);
            crate::arch::user::set_fs_base(address);
            Ok(0)
        }
        codes::ARCH_GET_FS => {
            write_u64(address, user.fs_base.load(Ordering::Relaxed))?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn set_tid_address(call: &mut Call<'_>) -> SysResult {
    call.process
        .clear_child_tid
        .store(call.arg(0), Ordering::Relaxed);
    Ok(u64::from(call.process.pid))
}
