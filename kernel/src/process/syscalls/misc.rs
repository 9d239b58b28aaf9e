//! Time, polling, identity, limits and the other small system calls.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use linux_abi::io;

use super::{Call, Errno, SysResult};
use crate::process::files::{FileKind, OpenFile};
use crate::process::pipe::PipeEnd;
use crate::process::signal::{send, wait_interruptible_until, Origin};
use crate::process::usermem::{read_bytes, read_u64, write_bytes, write_u32, write_u64};
use crate::process::{poll as pollers, Process};

pub fn success(_call: &mut Call<'_>) -> SysResult {
    Ok(0)
}

pub fn zero(_call: &mut Call<'_>) -> SysResult {
    Ok(0)
}

/// Only root exists: becoming root (or staying, -1) works, anything else is EPERM.
pub fn set_id(call: &mut Call<'_>) -> SysResult {
    let all_root = call.args[..3]
        .iter()
        .all(|&id| id as u32 == 0 || id as u32 == u32::MAX);
    if all_root {
        Ok(0)
    } else {
        Err(Errno::EPERM)
    }
}

pub fn getresid(call: &mut Call<'_>) -> SysResult {
    for index in 0..3 {
        write_u32(call.arg(index), 0)?;
    }
    Ok(0)
}

pub fn sched_yield(_call: &mut Call<'_>) -> SysResult {
    crate::sched::yield_now();
    Ok(0)
}

fn timespec_at(address: u64) -> Result<(i64, i64), Errno> {
    let bytes = read_bytes(address, 16)?;
    let seconds = i64::from_le_bytes(bytes[0..8].try_into().unwrap_or([0; 8]));
    let nanos = i64::from_le_bytes(bytes[8..16].try_into().unwrap_or([0; 8]));
    if seconds < 0 || !(0..1_000_000_000).contains(&nanos) {
        return Err(Errno::EINVAL);
    }
    Ok((seconds, nanos))
}

fn write_timespec(address: u64, nanos: u64) -> Result<(), Errno> {
    let mut bytes = [0u8; 16];
    bytes[0..8].copy_from_slice(&(nanos / 1_000_000_000).to_le_bytes());
    bytes[8..16].copy_from_slice(&(nanos % 1_000_000_000).to_le_bytes());
    write_bytes(address, &bytes)
}

fn duration_nanos(seconds: i64, nanos: i64) -> u64 {
    (seconds as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(nanos as u64)
}

/// Sleeps until `deadline` (monotonic); a signal ends it early with the time left written to
/// `remaining` and EINTR.
fn sleep_until(process: &Process, deadline: u64, remaining: u64) -> SysResult {
    match wait_interruptible_until(process, &process.signal_events, Some(deadline), || false) {
        Ok(_) => Ok(0),
        Err(_) => {
            if remaining != 0 {
                let left = deadline.saturating_sub(crate::time::monotonic_nanos());
                write_timespec(remaining, left)?;
            }
            Err(Errno::EINTR)
        }
    }
}

pub fn nanosleep(call: &mut Call<'_>) -> SysResult {
    let (seconds, nanos) = timespec_at(call.arg(0))?;
    let deadline = crate::time::monotonic_nanos().saturating_add(duration_nanos(seconds, nanos));
    sleep_until(call.process, deadline, call.arg(1))
}

fn wall_nanos() -> u64 {
    let (seconds, nanos) = crate::time::wall_clock();
    seconds * 1_000_000_000 + u64::from(nanos)
}

pub fn clock_nanosleep(call: &mut Call<'_>) -> SysResult {
    let (clock, flags) = (call.arg(0) as u32, call.arg(1) as u32);
    let (seconds, nanos) = timespec_at(call.arg(2))?;
    let requested = duration_nanos(seconds, nanos);
    let now = crate::time::monotonic_nanos();
    let deadline = if flags & 1 != 0 {
        // TIMER_ABSTIME on the realtime clock: convert to the monotonic one.
        match clock {
            linux_abi::time::CLOCK_REALTIME => {
                now.saturating_add(requested.saturating_sub(wall_nanos()))
            }
            _ => requested,
        }
    } else {
        now.saturating_add(requested)
    };
    let remaining = if flags & 1 != 0 { 0 } else { call.arg(3) };
    sleep_until(call.process, deadline, remaining)
}

pub fn clock_gettime(call: &mut Call<'_>) -> SysResult {
    use linux_abi::time as t;
    let clock = call.arg(0) as u32;
    let nanos = match clock {
        t::CLOCK_REALTIME | t::CLOCK_REALTIME_COARSE => wall_nanos(),
        t::CLOCK_MONOTONIC
        | t::CLOCK_MONOTONIC_RAW
        | t::CLOCK_MONOTONIC_COARSE
        | t::CLOCK_BOOTTIME => crate::time::monotonic_nanos(),
        t::CLOCK_PROCESS_CPUTIME_ID | t::CLOCK_THREAD_CPUTIME_ID => {
            crate::sched::current_thread().run_nanos()
        }
        _ => return Err(Errno::EINVAL),
    };
    write_timespec(call.arg(1), nanos)?;
    Ok(0)
}

pub fn clock_getres(call: &mut Call<'_>) -> SysResult {
    if call.arg(1) != 0 {
        write_timespec(call.arg(1), 1)?;
    }
    Ok(0)
}

pub fn gettimeofday(call: &mut Call<'_>) -> SysResult {
    if call.arg(0) != 0 {
        let (seconds, nanos) = crate::time::wall_clock();
        let mut bytes = [0u8; 16];
        bytes[0..8].copy_from_slice(&seconds.to_le_bytes());
        bytes[8..16].copy_from_slice(&u64::from(nanos / 1000).to_le_bytes());
        write_bytes(call.arg(0), &bytes)?;
    }
    if call.arg(1) != 0 {
        write_bytes(call.arg(1), &[0u8; 8])?;
    }
    Ok(0)
}

pub fn time(call: &mut Call<'_>) -> SysResult {
    let seconds = crate::time::wall_clock().0;
    if call.arg(0) != 0 {
        write_u64(call.arg(0), seconds)?;
    }
    Ok(seconds)
}

pub fn uname(call: &mut Call<'_>) -> SysResult {
    let name = linux_abi::utsname::Utsname::new(
        "Linux",
        "rumpk",
        "6.1.0",
        "#1 SMP rumpk",
        "x86_64",
        "(none)",
    );
    write_bytes(call.arg(0), &name.to_bytes())?;
    Ok(0)
}

pub fn sysinfo(call: &mut Call<'_>) -> SysResult {
    let (free, total) = crate::mm::frames::statistics();
    let mut bytes = [0u8; 112];
    let uptime = crate::time::monotonic_nanos() / 1_000_000_000;
    bytes[0..8].copy_from_slice(&uptime.to_le_bytes());
    bytes[32..40].copy_from_slice(&(total * 4096).to_le_bytes());
    bytes[40..48].copy_from_slice(&(free * 4096).to_le_bytes());
    bytes[80..82].copy_from_slice(&(crate::process::count() as u16).to_le_bytes());
    bytes[104..108].copy_from_slice(&1u32.to_le_bytes());
    write_bytes(call.arg(0), &bytes)?;
    Ok(0)
}

pub fn times(call: &mut Call<'_>) -> SysResult {
    let ticks = crate::time::monotonic_nanos() / 10_000_000;
    if call.arg(0) != 0 {
        let user = crate::sched::current_thread().run_nanos() / 10_000_000;
        let mut bytes = [0u8; 32];
        bytes[0..8].copy_from_slice(&user.to_le_bytes());
        write_bytes(call.arg(0), &bytes)?;
    }
    Ok(ticks)
}

pub fn getrusage(call: &mut Call<'_>) -> SysResult {
    let mut bytes = [0u8; 144];
    let nanos = crate::sched::current_thread().run_nanos();
    bytes[0..8].copy_from_slice(&(nanos / 1_000_000_000).to_le_bytes());
    bytes[8..16].copy_from_slice(&((nanos % 1_000_000_000) / 1000).to_le_bytes());
    write_bytes(call.arg(1), &bytes)?;
    Ok(0)
}

fn limit_of(resource: u32) -> Result<(u64, u64), Errno> {
    use linux_abi::resource as r;
    const INFINITY: u64 = u64::MAX;
    Ok(match resource {
        r::RLIMIT_NOFILE => (
            crate::process::files::MAX_FILES as u64,
            crate::process::files::MAX_FILES as u64,
        ),
        r::RLIMIT_STACK => (crate::process::memory::STACK_SIZE, INFINITY),
        r::RLIMIT_NPROC => (
            crate::process::PROCESS_LIMIT as u64,
            crate::process::PROCESS_LIMIT as u64,
        ),
        r::RLIMIT_CORE => (0, INFINITY),
        0..=15 => (INFINITY, INFINITY),
        _ => return Err(Errno::EINVAL),
    })
}

fn write_limit(address: u64, limit: (u64, u64)) -> Result<(), Errno> {
    let mut bytes = [0u8; 16];
    bytes[0..8].copy_from_slice(&limit.0.to_le_bytes());
    bytes[8..16].copy_from_slice(&limit.1.to_le_bytes());
    write_bytes(address, &bytes)
}

pub fn getrlimit(call: &mut Call<'_>) -> SysResult {
    write_limit(call.arg(1), limit_of(call.arg(0) as u32)?)?;
    Ok(0)
}

/// Limits are fixed: reading works; setting is accepted only at or below the current value
/// and is not enforced beyond the built-in limits.
pub fn prlimit64(call: &mut Call<'_>) -> SysResult {
    if call.arg(0) != 0 && call.arg(0) as u32 != call.process.pid {
        crate::process::lookup(call.arg(0) as u32).ok_or(Errno::ESRCH)?;
    }
    let limit = limit_of(call.arg(1) as u32)?;
    if call.arg(2) != 0 {
        let bytes = read_bytes(call.arg(2), 16)?;
        let soft = u64::from_le_bytes(bytes[0..8].try_into().unwrap_or([0; 8]));
        let hard = u64::from_le_bytes(bytes[8..16].try_into().unwrap_or([0; 8]));
        if soft > hard {
            return Err(Errno::EINVAL);
        }
        if hard > limit.1 {
            return Err(Errno::EPERM);
        }
    }
    if call.arg(3) != 0 {
        write_limit(call.arg(3), limit)?;
    }
    Ok(0)
}

/// `sigaltstack`: the alternate stack handlers with SA_ONSTACK run on.
pub fn sigaltstack(call: &mut Call<'_>) -> SysResult {
    const SS_ONSTACK: i32 = 1;
    const SS_DISABLE: i32 = 2;
    const MINSIGSTKSZ: u64 = 2048;
    let rsp = call.frame.rsp;
    let current = call.process.signals.lock().alternate_stack;
    let on_it = current.is_some_and(|(base, size)| (base..base + size).contains(&rsp));
    let new = if call.arg(0) != 0 {
        let bytes = read_bytes(call.arg(0), 24)?;
        let base = u64::from_le_bytes(bytes[0..8].try_into().unwrap_or([0; 8]));
        let flags = i32::from_le_bytes(bytes[8..12].try_into().unwrap_or([0; 4]));
        let size = u64::from_le_bytes(bytes[16..24].try_into().unwrap_or([0; 8]));
        if on_it {
            return Err(Errno::EPERM);
        }
        if flags & !SS_DISABLE != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & SS_DISABLE != 0 {
            Some(None)
        } else if size < MINSIGSTKSZ {
            return Err(Errno::ENOMEM);
        } else {
            Some(Some((base, size)))
        }
    } else {
        None
    };
    if call.arg(1) != 0 {
        let mut bytes = [0u8; 24];
        let (base, size, flags) = match current {
            Some((base, size)) => (base, size, if on_it { SS_ONSTACK } else { 0 }),
            None => (0, 0, SS_DISABLE),
        };
        bytes[0..8].copy_from_slice(&base.to_le_bytes());
        bytes[8..12].copy_from_slice(&flags.to_le_bytes());
        bytes[16..24].copy_from_slice(&size.to_le_bytes());
        write_bytes(call.arg(1), &bytes)?;
    }
    if let Some(stack) = new {
        call.process.signals.lock().alternate_stack = stack;
    }
    Ok(0)
}

pub fn prctl(call: &mut Call<'_>) -> SysResult {
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    match call.arg(0) {
        PR_SET_NAME => Ok(0),
        PR_GET_NAME => {
            let mut name = [0u8; 16];
            let own = call.process.name();
            let length = own.len().min(15);
            name[..length].copy_from_slice(&own.as_bytes()[..length]);
            write_bytes(call.arg(1), &name)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn sched_getaffinity(call: &mut Call<'_>) -> SysResult {
    let cpus = crate::arch::cpus::cpu_count().min(64);
    let size = call.arg(1) as usize;
    if size < 8 {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = if cpus == 64 {
        u64::MAX
    } else {
        (1u64 << cpus) - 1
    };
    write_u64(call.arg(2), mask)?;
    Ok(8)
}

pub fn getpriority(_call: &mut Call<'_>) -> SysResult {
    Ok(20) // nice 0, in the kernel's 40 - nice encoding
}

pub fn getrandom(call: &mut Call<'_>) -> SysResult {
    let length = (call.arg(1) as usize).min(1 << 20);
    let mut buffer = alloc::vec![0u8; length];
    crate::arch::cpu::random_fill(&mut buffer);
    write_bytes(call.arg(0), &buffer)?;
    Ok(length as u64)
}

/// `reboot`: power-off and restart from process 1's session end the machine (QEMU exits).
pub fn reboot(call: &mut Call<'_>) -> SysResult {
    const MAGIC1: u64 = 0xfee1_dead;
    const POWER_OFF: u32 = 0x4321_fedc;
    const RESTART: u32 = 0x0123_4567;
    const HALT: u32 = 0xcdef_0123;
    if call.arg(0) as u32 as u64 != MAGIC1 {
        return Err(Errno::EINVAL);
    }
    match call.arg(2) as u32 {
        POWER_OFF | HALT | RESTART => {
            let _ = crate::vfs::mount::sync_all();
            log::info!("power off requested by pid {}", call.process.pid);
            crate::qemu::exit(crate::qemu::ExitStatus::Success);
            // ACPI S5 through PM1a (QEMU's firmware uses SLP_TYP 0 for S5).
            if let Some(pm1a) = crate::firmware::platform().pm1a_control_port {
                crate::arch::port::write_u16(pm1a, 1 << 13);
            }
            Err(Errno::EIO)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Readiness of one descriptor: (readable, writable, hang-up, error).
fn readiness(file: &OpenFile) -> (bool, bool, bool, bool) {
    match &file.kind {
        FileKind::Pipe { pipe, end } => {
            let (readable, writable, hung_up, error) = pipe.poll_state(*end);
            match end {
                PipeEnd::Read => (readable, false, hung_up, false),
                PipeEnd::Write => (false, writable, false, error),
            }
        }
        FileKind::Tty(tty) => {
            let (readable, writable) = tty.poll_state();
            (readable, writable, false, false)
        }
        FileKind::Socket(socket) => socket.poll_state(),
        _ => (true, true, false, false),
    }
}

/// One poll pass: fills `revents`, returns how many are ready.
fn poll_once(process: &Process, entries: &mut [(i32, i16, i16)]) -> usize {
    let mut ready = 0;
    // The files first, then their states outside the table's spin lock (a socket's may sleep).
    let files: Vec<Option<Arc<OpenFile>>> = {
        let table = process.files.lock();
        entries
            .iter()
            .map(|(fd, _, _)| (*fd >= 0).then(|| table.get(i64::from(*fd)).ok()).flatten())
            .collect()
    };
    for ((fd, events, revents), file) in entries.iter_mut().zip(files) {
        *revents = 0;
        if *fd < 0 {
            continue;
        }
        let Some(file) = file else {
            *revents = io::POLLNVAL;
            ready += 1;
            continue;
        };
        let (readable, writable, hung_up, error) = readiness(&file);
        if readable && *events & (io::POLLIN | io::POLLRDNORM) != 0 {
            *revents |= *events & (io::POLLIN | io::POLLRDNORM);
        }
        if writable && *events & (io::POLLOUT | io::POLLWRNORM) != 0 {
            *revents |= *events & (io::POLLOUT | io::POLLWRNORM);
        }
        if hung_up {
            *revents |= io::POLLHUP;
        }
        if error {
            *revents |= io::POLLERR;
        }
        if *revents != 0 {
            ready += 1;
        }
    }
    ready
}

/// How often `poll` looks at sockets again.
const SOCKET_POLL_NANOS: u64 = 5_000_000;

fn has_socket(process: &Process, entries: &[(i32, i16, i16)]) -> bool {
    let table = process.files.lock();
    entries.iter().any(|(fd, _, _)| {
        table
            .get(i64::from(*fd))
            .is_ok_and(|file| matches!(file.kind, FileKind::Socket(_)))
    })
}

/// Polls until something is ready, the deadline passes, or a signal arrives.
fn poll_wait(
    process: &Arc<Process>,
    entries: &mut [(i32, i16, i16)],
    deadline: Option<u64>,
) -> Result<usize, Errno> {
    loop {
        let generation = pollers::generation();
        let ready = poll_once(process, entries);
        if ready > 0 {
            return Ok(ready);
        }
        if deadline.is_some_and(|d| crate::time::monotonic_nanos() >= d) {
            return Ok(0);
        }
        // Sockets do not wake pollers: with one in the set, look again every few milliseconds.
        let until = if has_socket(process, entries) {
            let soon = crate::time::monotonic_nanos() + SOCKET_POLL_NANOS;
            Some(deadline.map_or(soon, |d| d.min(soon)))
        } else {
            deadline
        };
        let woke = wait_interruptible_until(process, &pollers::POLLERS, until, || {
            pollers::generation() != generation
        });
        match woke {
            Ok(_) => {}
            Err(_) => return Err(Errno::EINTR),
        }
    }
}

fn read_pollfds(address: u64, count: usize) -> Result<Vec<(i32, i16, i16)>, Errno> {
    if count > crate::process::files::MAX_FILES {
        return Err(Errno::EINVAL);
    }
    let bytes = read_bytes(address, count * 8)?;
    Ok(bytes
        .chunks(8)
        .map(|c| {
            (
                i32::from_le_bytes(c[0..4].try_into().unwrap_or([0; 4])),
                i16::from_le_bytes(c[4..6].try_into().unwrap_or([0; 2])),
                0,
            )
        })
        .collect())
}

fn write_pollfds(address: u64, entries: &[(i32, i16, i16)]) -> Result<(), Errno> {
    let mut bytes = Vec::with_capacity(entries.len() * 8);
    for (fd, events, revents) in entries {
        bytes.extend_from_slice(&fd.to_le_bytes());
        bytes.extend_from_slice(&events.to_le_bytes());
        bytes.extend_from_slice(&revents.to_le_bytes());
    }
    write_bytes(address, &bytes)
}

pub fn poll(call: &mut Call<'_>) -> SysResult {
    let mut entries = read_pollfds(call.arg(0), call.arg(1) as usize)?;
    let timeout = call.arg(2) as i32;
    let deadline =
        (timeout >= 0).then(|| crate::time::monotonic_nanos() + timeout as u64 * 1_000_000);
    let process = call.process.clone();
    let ready = poll_wait(&process, &mut entries, deadline)?;
    write_pollfds(call.arg(0), &entries)?;
    Ok(ready as u64)
}

/// Sets the signal mask for the duration of a call (ppoll/pselect6); the old one comes back
/// afterwards, or after the handler if a signal interrupted the call.
fn with_temporary_mask(
    process: &Process,
    mask_address: u64,
    f: impl FnOnce() -> SysResult,
) -> SysResult {
    if mask_address == 0 {
        return f();
    }
    let mask = read_u64(mask_address)?;
    let old = {
        let mut signals = process.signals.lock();
        let old = signals.blocked;
        signals.blocked = mask & !((1 << 8) | (1 << 18));
        old
    };
    let result = f();
    let mut signals = process.signals.lock();
    if result == Err(Errno::EINTR) {
        signals.saved_mask = Some(old);
    } else {
        signals.blocked = old;
    }
    result
}

pub fn ppoll(call: &mut Call<'_>) -> SysResult {
    let mut entries = read_pollfds(call.arg(0), call.arg(1) as usize)?;
    let deadline = if call.arg(2) != 0 {
        let (seconds, nanos) = timespec_at(call.arg(2))?;
        Some(crate::time::monotonic_nanos().saturating_add(duration_nanos(seconds, nanos)))
    } else {
        None
    };
    let process = call.process.clone();
    let ready = with_temporary_mask(&process, call.arg(3), || {
        poll_wait(&process, &mut entries, deadline).map(|n| n as u64)
    })?;
    write_pollfds(call.arg(0), &entries)?;
    Ok(ready)
}

/// select over fd_sets: converted to poll entries and back.
fn select_common(call: &mut Call<'_>, deadline: Option<u64>, mask_address: u64) -> SysResult {
    let count = call.arg(0) as usize;
    if count > crate::process::files::MAX_FILES {
        return Err(Errno::EINVAL);
    }
    let words = count.div_ceil(64);
    let read_set = |address: u64| -> Result<Vec<u64>, Errno> {
        if address == 0 {
            return Ok(alloc::vec![0; words]);
        }
        let bytes = read_bytes(address, words * 8)?;
        Ok(bytes
            .chunks(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect())
    };
    let (reads, writes, excepts) = (
        read_set(call.arg(1))?,
        read_set(call.arg(2))?,
        read_set(call.arg(3))?,
    );
    let mut entries = Vec::new();
    for fd in 0..count {
        let bit = 1u64 << (fd % 64);
        let mut events = 0i16;
        if reads[fd / 64] & bit != 0 {
            events |= io::POLLIN;
        }
        if writes[fd / 64] & bit != 0 {
            events |= io::POLLOUT;
        }
        if excepts[fd / 64] & bit != 0 {
            events |= io::POLLPRI;
        }
        if events != 0 {
            entries.push((fd as i32, events, 0i16));
        }
    }
    let process = call.process.clone();
    let ready = with_temporary_mask(&process, mask_address, || {
        poll_wait(&process, &mut entries, deadline).map(|n| n as u64)
    })?;
    if entries.iter().any(|e| e.2 & io::POLLNVAL != 0) {
        return Err(Errno::EBADF);
    }
    let _ = ready;
    let (mut out_r, mut out_w, mut out_e) = (
        alloc::vec![0u64; words],
        alloc::vec![0u64; words],
        alloc::vec![0u64; words],
    );
    let mut total = 0;
    for (fd, events, revents) in &entries {
        let (index, bit) = (*fd as usize / 64, 1u64 << (*fd as usize % 64));
        if events & io::POLLIN != 0 && revents & (io::POLLIN | io::POLLHUP | io::POLLERR) != 0 {
            out_r[index] |= bit;
            total += 1;
        }
        if events & io::POLLOUT != 0 && revents & (io::POLLOUT | io::POLLERR) != 0 {
            out_w[index] |= bit;
            total += 1;
        }
        if events & io::POLLPRI != 0 && revents & io::POLLPRI != 0 {
            out_e[index] |= bit;
            total += 1;
        }
    }
    for (address, set) in [
        (call.arg(1), &out_r),
        (call.arg(2), &out_w),
        (call.arg(3), &out_e),
    ] {
        if address != 0 {
            let bytes: Vec<u8> = set.iter().flat_map(|w| w.to_le_bytes()).collect();
            write_bytes(address, &bytes)?;
        }
    }
    Ok(total)
}

pub fn select(call: &mut Call<'_>) -> SysResult {
    let deadline = if call.arg(4) != 0 {
        let bytes = read_bytes(call.arg(4), 16)?;
        let seconds = i64::from_le_bytes(bytes[0..8].try_into().unwrap_or([0; 8]));
        let micros = i64::from_le_bytes(bytes[8..16].try_into().unwrap_or([0; 8]));
        if seconds < 0 || micros < 0 {
            return Err(Errno::EINVAL);
        }
        Some(
            crate::time::monotonic_nanos()
                .saturating_add(duration_nanos(seconds, micros.min(999_999) * 1000)),
        )
    } else {
        None
    };
    select_common(call, deadline, 0)
}

pub fn pselect6(call: &mut Call<'_>) -> SysResult {
    let deadline = if call.arg(4) != 0 {
        let (seconds, nanos) = timespec_at(call.arg(4))?;
        Some(crate::time::monotonic_nanos().saturating_add(duration_nanos(seconds, nanos)))
    } else {
        None
    };
    // The sixth argument points at { const sigset_t *ss; size_t ss_len; }.
    let mask_address = if call.arg(5) != 0 {
        read_u64(call.arg(5))?
    } else {
        0
    };
    select_common(call, deadline, mask_address)
}

/// Interval timers: ITIMER_REAL only, by a kernel thread that sends SIGALRM when it expires
/// (a newer setting supersedes it through the generation).
fn arm_alarm(process: &Arc<Process>, nanos: u64) -> u64 {
    let generation = process.alarm_generation.fetch_add(1, Ordering::AcqRel) + 1;
    let previous_deadline = process.alarm_deadline.swap(0, Ordering::AcqRel);
    let now = crate::time::monotonic_nanos();
    let left = previous_deadline.saturating_sub(now);
    if nanos > 0 {
        let deadline = now + nanos;
        process.alarm_deadline.store(deadline, Ordering::Release);
        let target = Arc::downgrade(process);
        let name = alloc::format!("alarm {}", process.pid);
        let builder = crate::sched::Builder::new(&name);
        let spawned = crate::sched::spawn(builder, move || {
            crate::sched::sleep_until(deadline);
            if let Some(process) = target.upgrade() {
                if process.alarm_generation.load(Ordering::Acquire) == generation {
                    process.alarm_deadline.store(0, Ordering::Release);
                    send(&process, linux_abi::signal::SIGALRM, Origin::Kernel);
                }
            }
            0
        });
        if let Ok(handle) = spawned {
            handle.detach();
        }
    }
    left
}

pub fn alarm(call: &mut Call<'_>) -> SysResult {
    let process = call.process.clone();
    let left = arm_alarm(&process, call.arg(0).saturating_mul(1_000_000_000));
    Ok(left.div_ceil(1_000_000_000))
}

fn write_itimer(address: u64, value_nanos: u64) -> Result<(), Errno> {
    let mut bytes = [0u8; 32];
    bytes[16..24].copy_from_slice(&(value_nanos / 1_000_000_000).to_le_bytes());
    bytes[24..32].copy_from_slice(&((value_nanos % 1_000_000_000) / 1000).to_le_bytes());
    write_bytes(address, &bytes)
}

pub fn setitimer(call: &mut Call<'_>) -> SysResult {
    if call.arg(0) != 0 {
        return Err(Errno::EINVAL);
    }
    let bytes = read_bytes(call.arg(1), 32)?;
    let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap_or([0; 8]));
    let value = word(16)
        .saturating_mul(1_000_000_000)
        .saturating_add(word(24).saturating_mul(1000));
    let process = call.process.clone();
    let left = arm_alarm(&process, value);
    if call.arg(2) != 0 {
        write_itimer(call.arg(2), left)?;
    }
    Ok(0)
}

pub fn getitimer(call: &mut Call<'_>) -> SysResult {
    if call.arg(0) != 0 {
        return Err(Errno::EINVAL);
    }
    let deadline = call.process.alarm_deadline.load(Ordering::Acquire);
    write_itimer(
        call.arg(1),
        deadline.saturating_sub(crate::time::monotonic_nanos()),
    )?;
    Ok(0)
}
