//! The small `/proc` that busybox's `ps`, `free`, `mount`, `df` and `uptime` read, and `/dev`'s
//! block devices: generated text, fixed at open time like a snapshot.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use super::{Errno, RunState};

/// Files directly under /proc.
const TOP_FILES: [&str; 6] = [
    "filesystems",
    "loadavg",
    "meminfo",
    "mounts",
    "stat",
    "uptime",
];
/// Files under /proc/PID.
const PID_FILES: [&str; 4] = ["cmdline", "exe", "stat", "status"];

/// What a /proc path names.
pub enum Node {
    Directory,
    File(Vec<u8>),
    /// /proc/self, /proc/PID/exe: the absolute target.
    Link(String),
}

fn meminfo() -> String {
    let (free, total) = crate::mm::frames::statistics();
    format!(
        "MemTotal:       {:8} kB\nMemFree:        {:8} kB\nMemAvailable:   {:8} kB\nBuffers:               0 kB\nCached:                0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n",
        total * 4,
        free * 4,
        free * 4
    )
}

fn uptime() -> String {
    let nanos = crate::time::monotonic_nanos();
    let centis = nanos / 10_000_000;
    format!("{}.{:02} 0.00\n", centis / 100, centis % 100)
}

fn mounts() -> String {
    let mut text = String::from("initrd / rootfs ro 0 0\nproc /proc proc rw 0 0\n");
    for usage in crate::vfs::mount::usage() {
        let mode = if usage.read_only.is_some() {
            "ro"
        } else {
            "rw"
        };
        let source = if usage.device.starts_with('/') {
            usage.device.clone()
        } else {
            format!("/dev/{}", usage.device)
        };
        let _ = writeln!(
            text,
            "{source} {} {} {mode} 0 0",
            usage.path, usage.type_name
        );
    }
    text
}

fn state_letter(state: RunState) -> char {
    match state {
        RunState::Running | RunState::Continued => 'R',
        RunState::Stopped { .. } => 'T',
        RunState::Zombie { .. } => 'Z',
    }
}

fn pid_file(pid: u32, name: &str) -> Option<Vec<u8>> {
    let process = super::lookup(pid)?;
    let ticks = |nanos: u64| nanos / 10_000_000;
    let (rss, vsize) = {
        let memory = process.memory();
        let memory = memory.lock();
        (memory.pages(), memory.virtual_size())
    };
    let run = process.thread().map_or(0, |t| t.run_nanos());
    Some(match name {
        "cmdline" => process.command_line.lock().clone(),
        "stat" => format!(
            "{} ({}) {} {} {} {} 0 -1 0 0 0 0 0 {} 0 0 0 20 0 1 0 {} {} {} 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
            pid,
            process.name(),
            state_letter(process.state()),
            process.parent(),
            process.process_group(),
            process.session(),
            ticks(run),
            ticks(process.started),
            vsize,
            rss
        )
        .into_bytes(),
        "status" => format!(
            "Name:\t{}\nState:\t{}\nPid:\t{}\nPPid:\t{}\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmRSS:\t{} kB\n",
            process.name(),
            state_letter(process.state()),
            pid,
            process.parent(),
            rss * 4
        )
        .into_bytes(),
        _ => return None,
    })
}

/// Resolves an absolute, normalised path under /proc.
pub fn lookup(path: &str, own_pid: u32) -> Result<Node, Errno> {
    let rest = path.strip_prefix("/proc").ok_or(Errno::ENOENT)?;
    let rest = rest.trim_start_matches('/');
    if rest.is_empty() {
        return Ok(Node::Directory);
    }
    let (first, tail) = rest.split_once('/').unwrap_or((rest, ""));
    if first == "self" {
        if tail.is_empty() {
            return Ok(Node::Link(format!("/proc/{own_pid}")));
        }
        return lookup(&format!("/proc/{own_pid}/{tail}"), own_pid);
    }
    if tail.is_empty() {
        if let Some(name) = TOP_FILES.iter().find(|&&n| n == first) {
            let text = match *name {
                "meminfo" => meminfo(),
                "uptime" => uptime(),
                "mounts" => mounts(),
                "filesystems" => String::from("nodev\tproc\n\text2\n"),
                "loadavg" => format!("0.00 0.00 0.00 1/{} {}\n", super::count(), super::count()),
                _ => format!(
                    "cpu  0 0 0 0 0 0 0 0 0 0\nbtime 0\nprocesses {}\n",
                    super::count()
                ),
            };
            return Ok(Node::File(text.into_bytes()));
        }
    }
    let pid: u32 = first.parse().map_err(|_| Errno::ENOENT)?;
    if super::lookup(pid).is_none() {
        return Err(Errno::ENOENT);
    }
    if tail.is_empty() {
        return Ok(Node::Directory);
    }
    if tail == "exe" {
        let process = super::lookup(pid).ok_or(Errno::ENOENT)?;
        let executable = process.executable.lock().clone();
        return if executable.is_empty() {
            Err(Errno::ENOENT)
        } else {
            Ok(Node::Link(executable))
        };
    }
    pid_file(pid, tail).map(Node::File).ok_or(Errno::ENOENT)
}

/// Entries of a /proc directory: (name, is directory).
pub fn list(path: &str, own_pid: u32) -> Result<Vec<(String, u8)>, Errno> {
    match lookup(path, own_pid)? {
        Node::Directory => {}
        _ => return Err(Errno::ENOTDIR),
    }
    let rest = path
        .strip_prefix("/proc")
        .unwrap_or("")
        .trim_start_matches('/');
    if rest.is_empty() {
        let mut out: Vec<(String, u8)> = TOP_FILES.iter().map(|n| (String::from(*n), 8)).collect();
        out.push((String::from("self"), 10));
        for process in super::all() {
            out.push((format!("{}", process.pid), 4));
        }
        return Ok(out);
    }
    Ok(PID_FILES
        .iter()
        .map(|n| (String::from(*n), if *n == "exe" { 10 } else { 8 }))
        .collect())
}

/// Block devices for /dev: (name, major, minor).
pub fn block_devices() -> Vec<(String, u32, u32)> {
    crate::block::list()
        .iter()
        .enumerate()
        .map(|(index, disk)| (String::from(disk.name()), 254, index as u32 * 16))
        .collect()
}
